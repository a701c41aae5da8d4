"""Region markers: tiny defects made visible at low zoom, and the navigator's current region.

A 3-pixel pinhole on a 640x480 part is a dot of one screen pixel when the image is fitted, and
an overlay colour alone does not catch the eye. :class:`RegionMarkerItem` draws, for every region
whose bounding box is smaller than :data:`TINY_SCREEN_PX` on screen, a ring of fixed screen size
(light halo + class colour) around it; zoomed in far enough the ring goes and the region speaks
for itself. The region the navigator points at gets a dashed box at any zoom.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

__all__ = ["RING_PX", "TINY_SCREEN_PX", "RegionMarkerItem"]

#: Regions whose larger bbox side is below this many screen pixels get a ring.
TINY_SCREEN_PX = 12.0
#: Ring radius in screen pixels.
RING_PX = 11.0

Rect = tuple[float, float, float, float]


class RegionMarkerItem(QGraphicsItem):
    """Rings around tiny regions and a box around the current one (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._regions: list[tuple[Rect, QColor]] = []
        self._current: Rect | None = None
        self._px = 1.0
        self._bounds = QRectF()

    def set_regions(self, regions: Sequence[tuple[Rect, tuple[int, int, int]]]) -> None:
        """``[((x, y, w, h), (r, g, b)), ...]`` in image pixels; [] removes every ring."""
        self.prepareGeometryChange()
        self._regions = [(_rect(rect), QColor(*color)) for rect, color in regions]
        self._update_bounds()

    def set_current(self, rect: Rect | None) -> None:
        """The region to frame (None: no frame)."""
        self.prepareGeometryChange()
        self._current = None if rect is None else _rect(rect)
        self._update_bounds()

    def set_pixel_size(self, px: float) -> None:
        """Image pixels per screen pixel (the view's zoom)."""
        if px != self._px:
            self.prepareGeometryChange()
            self._px = px
            self.update()

    def tiny_count(self) -> int:
        """How many rings are drawn at the current zoom."""
        return sum(1 for rect, _c in self._regions if self._is_tiny(rect))

    def _is_tiny(self, rect: Rect) -> bool:
        return max(rect[2], rect[3]) / self._px < TINY_SCREEN_PX

    def _update_bounds(self) -> None:
        rects = [QRectF(*r) for r, _c in self._regions] + ([QRectF(*self._current)] if self._current else [])
        bounds = QRectF()
        for r in rects:
            bounds = bounds.united(r) if not bounds.isNull() else r
        self._bounds = bounds
        self.update()

    def boundingRect(self) -> QRectF:
        m = (RING_PX + 4) * self._px
        return self._bounds.adjusted(-m, -m, m, m) if not self._bounds.isNull() else QRectF()

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        radius = RING_PX * self._px
        for rect, color in self._regions:
            if not self._is_tiny(rect):
                continue
            centre = QPointF(rect[0] + rect[2] / 2, rect[1] + rect[3] / 2)
            r = radius + max(rect[2], rect[3]) / 2
            # A light halo under the class colour: visible on dark parts and on bright ones.
            for width, col in ((5.0, QColor(255, 255, 255, 220)), (2.5, color)):
                pen = QPen(col, width)
                pen.setCosmetic(True)
                painter.setPen(pen)
                painter.drawEllipse(centre, r, r)
        if self._current is not None:
            m = 4 * self._px
            box = QRectF(*self._current).adjusted(-m, -m, m, m)
            frame = ((QColor(0, 0, 0), Qt.PenStyle.SolidLine), (QColor(255, 255, 255), Qt.PenStyle.DashLine))
            for col, style in frame:
                pen = QPen(col, 1.5, style)
                pen.setCosmetic(True)
                painter.setPen(pen)
                painter.drawRect(box)


def _rect(rect: Sequence[float]) -> Rect:
    return (float(rect[0]), float(rect[1]), float(rect[2]), float(rect[3]))
