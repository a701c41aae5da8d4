"""A shape's label tag: the class name in a box of the class colour, of constant screen size.

An unconfirmed prediction's tag has a dashed border, a lighter box and italic text (as the shape's
outline is dashed) instead of a "(pred)" suffix, which made tags twice as wide and piled them up
around clusters of small predicted defects. Which tags are shown is decided by
:mod:`inspector_app.canvas.tag_layout`.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

__all__ = ["LabelTag"]


class LabelTag(QGraphicsItem):
    """A shape's label in a coloured box of constant screen size, anchored above a point.

    ``dashed``: the border is dashed (an unconfirmed prediction), the text italic.
    """

    def __init__(self, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._font = QFont()
        self._font.setPixelSize(12)
        self._font.setBold(True)
        self._text = ""
        self._color = QColor(255, 0, 255)
        self._rect = QRectF()
        self._dashed = False

    def set_text(self, text: str, color: QColor, dashed: bool) -> None:
        """Show ``text`` on a box of ``color`` (text black or white, whichever reads better)."""
        self.prepareGeometryChange()
        self._font.setItalic(dashed)
        self._dashed = dashed
        self._text = text
        self._color = color
        metrics = QFontMetricsF(self._font)
        width = metrics.horizontalAdvance(text) + 8
        # Centred over the anchor, bottom 6 px above it: clear of the outline and its handle.
        self._rect = QRectF(-width / 2, -metrics.height() - 10, width, metrics.height() + 4)

    @property
    def text(self) -> str:
        """The text shown."""
        return self._text

    @property
    def dashed(self) -> bool:
        """True when drawn as an unconfirmed prediction."""
        return self._dashed

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        box = QColor(self._color)
        box.setAlpha(225)
        if self._dashed:
            # Lighter box, dashed dark border: "the model says so", like the dashed outline.
            box.setAlpha(170)
            pen = QPen(QColor(0, 0, 0, 220), 1.2, Qt.PenStyle.CustomDashLine)
            pen.setDashPattern([3.0, 2.0])
        else:
            pen = QPen(QColor(0, 0, 0, 160), 1)
        painter.setPen(pen)
        painter.setBrush(box)
        painter.drawRoundedRect(self._rect.adjusted(0.5, 0.5, -0.5, -0.5), 3, 3)
        luma = 0.299 * box.red() + 0.587 * box.green() + 0.114 * box.blue()
        painter.setPen(QColor(0, 0, 0) if luma > 140 else QColor(255, 255, 255))
        painter.setFont(self._font)
        painter.drawText(self._rect.adjusted(4, 0, -4, 0), Qt.AlignmentFlag.AlignVCenter, self._text)
