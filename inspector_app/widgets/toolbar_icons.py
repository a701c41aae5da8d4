"""Icons for the station's actions, drawn with QPainter (no image files), and a steady tool bar.

:func:`action_icon` draws a small line icon for a name of :data:`ICON_NAMES` in the light
foreground of the dark theme (both at 1x and 2x, so it is crisp on high-DPI screens).
:func:`style_toolbar` gives the tool bar's actions their icons, keeps tooltips that name the
shortcut, and shows the buttons whose text changes (Undo "Delete 5 shapes", Redo ...) as icons
only: their width no longer follows the text, so the buttons after them stop shifting sideways.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QAction, QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QToolBar, QToolButton

__all__ = ["ICON_NAMES", "action_icon", "style_toolbar"]

_FG = QColor(220, 220, 225)
_CURSOR = ((4, 2), (12, 9.5), (8.5, 10), (10.5, 14), (9, 14.6), (7, 10.6), (4, 13))
_ACCENT = QColor(90, 160, 255)


def _pen(painter: QPainter, width: float = 1.6, color: QColor = _FG) -> None:
    pen = QPen(color, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)


def _dots(painter: QPainter, points: Iterable[tuple[float, float]], color: QColor = _ACCENT) -> None:
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    for x, y in points:
        painter.drawEllipse(QPointF(x, y), 1.7, 1.7)


def _arrow(painter: QPainter, mirrored: bool) -> None:
    if mirrored:
        painter.translate(16, 0)
        painter.scale(-1, 1)
    _pen(painter)
    path = QPainterPath(QPointF(4, 7))
    path.cubicTo(QPointF(9, 2.5), QPointF(14, 5), QPointF(13, 10))
    path.cubicTo(QPointF(12.5, 12.5), QPointF(10, 13.5), QPointF(7, 13.5))
    painter.drawPath(path)
    painter.drawPolyline(QPolygonF([QPointF(4, 3), QPointF(4, 7), QPointF(8, 7)]))


def _draw(name: str, painter: QPainter) -> None:
    if name in ("undo", "redo"):
        _arrow(painter, name == "redo")
    elif name == "open_folder" or name == "predict_folder":
        _pen(painter)
        painter.drawPolygon(
            QPolygonF([QPointF(x, y) for x, y in ((2, 4), (6, 4), (7.5, 5.5), (14, 5.5), (14, 13), (2, 13))])
        )
        if name == "predict_folder":
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(_ACCENT)
            painter.drawPolygon(QPolygonF([QPointF(7, 7.5), QPointF(11, 9.25), QPointF(7, 11)]))
    elif name == "save":
        _pen(painter)
        painter.drawRoundedRect(QRectF(2.5, 2.5, 11, 11), 1.5, 1.5)
        painter.drawRect(QRectF(5, 2.5, 6, 4))
        painter.drawRect(QRectF(5, 9, 6, 4.5))
    elif name == "select":
        painter.setPen(QPen(_FG, 1.2))
        painter.setBrush(QColor(_FG.red(), _FG.green(), _FG.blue(), 90))
        painter.drawPolygon(
            QPolygonF([QPointF(x, y) for x, y in _CURSOR])
        )
    elif name == "polygon":
        pts = [(8 + 5.5 * math.cos(a), 8.5 + 5.5 * math.sin(a)) for a in (-1.57, -0.3, 0.95, 2.2, 3.45)]
        _pen(painter)
        painter.drawPolygon(QPolygonF([QPointF(x, y) for x, y in pts]))
        _dots(painter, pts)
    elif name == "freehand":
        _pen(painter)
        path = QPainterPath(QPointF(3, 9))
        path.cubicTo(QPointF(2, 3), QPointF(9, 1.5), QPointF(12, 4))
        path.cubicTo(QPointF(15, 7), QPointF(12, 9), QPointF(13, 12))
        path.cubicTo(QPointF(10, 15), QPointF(4, 14), QPointF(3, 9))
        painter.drawPath(path)
    elif name == "rectangle":
        _pen(painter)
        painter.drawRect(QRectF(3, 4, 10, 8))
        _dots(painter, [(3, 4), (13, 12)])
    elif name == "circle":
        _pen(painter)
        painter.drawEllipse(QPointF(8, 8), 5.5, 5.5)
        _dots(painter, [(8, 8), (13.5, 8)])
    elif name in ("linestrip", "line"):
        pts = [(2.5, 12), (6.5, 5), (10, 10), (13.5, 3.5)] if name == "linestrip" else [(3, 12.5), (13, 3.5)]
        _pen(painter)
        painter.drawPolyline(QPolygonF([QPointF(x, y) for x, y in pts]))
        _dots(painter, pts)
    elif name == "point":
        _dots(painter, [(8, 8)], _FG)
        _pen(painter, 1.2)
        painter.drawEllipse(QPointF(8, 8), 4.5, 4.5)
    elif name == "brush":
        _pen(painter, 4.0, _ACCENT)
        painter.drawLine(QPointF(3.5, 12.5), QPointF(6.5, 9.5))
        _pen(painter, 1.8)
        painter.drawLine(QPointF(7.5, 8.5), QPointF(13.5, 2.5))
    elif name == "eraser":
        painter.translate(8, 8)
        painter.rotate(-40)
        _pen(painter, 1.4)
        painter.drawRect(QRectF(-6, -3, 12, 6))
        painter.fillRect(QRectF(-6, -3, 5, 6), _ACCENT)
    elif name == "accept":
        _pen(painter, 1.4)
        painter.drawRoundedRect(QRectF(2.5, 2.5, 11, 11), 2, 2)
        _pen(painter, 2.0, _ACCENT)
        painter.drawPolyline(QPolygonF([QPointF(5, 8.5), QPointF(7.2, 10.8), QPointF(11.5, 5.2)]))
    elif name == "fit":
        _pen(painter)
        for sx, sy in ((1, 1), (-1, 1), (1, -1), (-1, -1)):
            cx, cy = 8 - 5.5 * sx, 8 - 5.5 * sy
            painter.drawPolyline(
                QPolygonF([QPointF(cx, cy + 3.5 * sy), QPointF(cx, cy), QPointF(cx + 3.5 * sx, cy)])
            )
    elif name == "layers":
        _pen(painter, 1.3)
        for dy in (0.0, 3.5):
            painter.drawPolygon(
                QPolygonF([QPointF(8, 3 + dy), QPointF(14, 6 + dy), QPointF(8, 9 + dy), QPointF(2, 6 + dy)])
            )
    else:
        raise ValueError(f"no icon named {name!r}; expected one of {ICON_NAMES}")


#: Icons :func:`action_icon` can draw (tool names match the canvas's).
ICON_NAMES = (
    "open_folder", "save", "undo", "redo", "select", "polygon", "freehand", "rectangle", "circle",
    "linestrip", "line", "point", "brush", "eraser", "accept", "fit", "predict_folder", "layers",
)  # fmt: skip


def action_icon(name: str) -> QIcon:
    """A 16 px line icon (with a 32 px version for high-DPI screens) for one of :data:`ICON_NAMES`."""
    icon = QIcon()
    for scale in (1, 2):
        pixmap = QPixmap(16 * scale, 16 * scale)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.scale(scale, scale)
        _draw(name, painter)
        painter.end()
        icon.addPixmap(pixmap)
    return icon


def style_toolbar(
    toolbar: QToolBar,
    icons: Mapping[QAction, str],
    icon_only: Iterable[QAction] = (),
    style: Qt.ToolButtonStyle = Qt.ToolButtonStyle.ToolButtonTextBesideIcon,
) -> None:
    """Give ``toolbar``'s actions their icons; buttons of ``icon_only`` (Undo, Redo: texts that
    change with the history) show the icon alone, with a fixed width, and keep their text as a
    tooltip, so nothing after them shifts when the text changes."""
    toolbar.setToolButtonStyle(style)
    for action, name in icons.items():
        action.setIcon(action_icon(name))
    steady = set(icon_only)
    for action in toolbar.actions():
        button = toolbar.widgetForAction(action)
        if action in steady and isinstance(button, QToolButton):
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
            button.setFixedWidth(button.sizeHint().width() + 6)
            _keep_tooltip(action)


def _keep_tooltip(action: QAction) -> None:
    """Tooltip = the action's current text plus its shortcut, refreshed when the text changes."""

    def refresh(action: QAction = action) -> None:
        try:
            keys = ", ".join(s.toString() for s in action.shortcuts())
        except RuntimeError:  # the window (and its actions) is being destroyed
            return
        tip = action.text().replace("&", "") + (f"  ({keys})" if keys else "")
        if action.toolTip() != tip:
            action.setToolTip(tip)

    slot: Callable[[], None] = refresh
    action.changed.connect(slot)
    refresh()
