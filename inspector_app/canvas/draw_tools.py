"""Tools that create: shape drawing (polygon, rectangle, circle, linestrip, line, point), freehand
polygons and the brush/eraser (gestures listed in :mod:`inspector_app.canvas.tools`)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import cv2
import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem

from inspector_app.canvas.shape_item import ShapeItem, ShapeStyle
from inspector_app.canvas.tool_base import BaseTool
from inspector_app.core.annotations import Shape

if TYPE_CHECKING:
    from inspector_app.canvas.tool_host import ToolHost

__all__ = ["BrushTool", "DrawTool", "FreehandTool"]

CLOSE_PX = 8.0  # clicking this close (screen px) to the first vertex closes a polygon
DRAG_PX = 3.0
_TWO_POINT = ("rectangle", "circle", "line")


class DrawTool(BaseTool):
    """Draws one new shape of ``kind`` at a time and hands it to the session."""

    def __init__(self, view: ToolHost, kind: str) -> None:
        super().__init__(view)
        self.name = kind
        self.kind = kind
        self._points: list[QPointF] = []
        self._cursor: QPointF | None = None
        self._press_screen = QPointF()
        self._preview: ShapeItem | None = None

    def cursor(self) -> Qt.CursorShape:
        return Qt.CursorShape.CrossCursor

    # ------------------------------------------------------------------ preview
    def _preview_style(self) -> ShapeStyle:
        label = self.view.current_label
        session = self.view.session
        if label and session is not None and label in session.class_table:
            info = session.class_table.by_label(label)
            return ShapeStyle(info.color, info.name, info.line_width, info.draw_as)
        return ShapeStyle((255, 215, 0), "new")

    def _update_preview(self) -> None:
        pts = [*self._points, *([self._cursor] if self._cursor is not None else [])]
        if not self._points:
            self._drop_preview()
            return
        kind = self.kind
        if kind == "polygon" and len(pts) < 3:
            kind = "linestrip"
        if kind in _TWO_POINT and len(pts) < 2:
            pts = [pts[0], pts[0]]
        if kind == "linestrip" and len(pts) < 2:
            kind = "points"
        shape = Shape(label="", points=tuple((p.x(), p.y()) for p in pts), shape_type=kind)
        style = self._preview_style()
        if self._preview is None:
            self._preview = ShapeItem(0, shape, style)
            self._preview.setZValue(2e7)
            self._preview.set_tag_visible(False)
            self.view.scene().addItem(self._preview)
        else:
            self._preview.set_shape(shape, style)
            self._preview.set_tag_visible(False)
        self._preview.set_pixel_size(self.view.pixel_size())
        self._preview.set_state(True, False)

    def _drop_preview(self) -> None:
        if self._preview is not None:
            self.view.scene().removeItem(self._preview)
            self._preview = None

    def _near(self, a: QPointF, b: QPointF, px: float) -> bool:
        d = a - b
        return math.hypot(d.x(), d.y()) <= px * self.view.pixel_size()

    # ------------------------------------------------------------------ mouse
    def press(self, event: QMouseEvent, pos: QPointF) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.view.session is None:
            return
        p = self.view.clamp(pos)
        self._press_screen = event.position()
        if self.kind == "point":
            self._points = [p]
            self._finish()
        elif self.kind in _TWO_POINT:
            if self._points:
                self._points.append(p)
                self._finish()
            else:
                self._points = [p]
        else:  # polygon, linestrip
            if self.kind == "polygon" and len(self._points) >= 3 and self._near(p, self._points[0], CLOSE_PX):
                self._finish()
                return
            if (
                self.kind == "linestrip"
                and len(self._points) >= 2
                and self._near(p, self._points[-1], CLOSE_PX)
            ):
                self._finish()
                return
            if not self._points or not self._near(p, self._points[-1], 0.5):
                self._points.append(p)
        self._update_preview()

    def move(self, event: QMouseEvent, pos: QPointF) -> None:
        if self._points:
            self._cursor = self.view.clamp(pos)
            self._update_preview()

    def release(self, event: QMouseEvent, pos: QPointF) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.kind not in _TWO_POINT:
            return
        d = event.position() - self._press_screen
        if len(self._points) == 1 and math.hypot(d.x(), d.y()) >= DRAG_PX:
            self._points.append(self.view.clamp(pos))
            self._finish()

    def double_click(self, event: QMouseEvent, pos: QPointF) -> None:
        if self.kind in ("polygon", "linestrip"):
            self._finish()

    def key(self, event: QKeyEvent) -> bool:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self._points:
            self._finish()
            return True
        if key == Qt.Key.Key_Escape and self._points:
            self.reset()
            return True
        if key == Qt.Key.Key_Backspace and self._points:
            self._points.pop()
            self._update_preview()
            return True
        return False

    # ------------------------------------------------------------------ result
    def _finish(self) -> None:
        pts = tuple((p.x(), p.y()) for p in self._points)
        kind = self.kind
        self.reset()
        need = {"polygon": 3, "linestrip": 2, "point": 1}.get(kind, 2)
        if len(pts) < need:
            return
        if kind in _TWO_POINT:
            pts = pts[:2]
            (x0, y0), (x1, y1) = pts
            if (kind == "rectangle" and (x0 == x1 or y0 == y1)) or (x0, y0) == (x1, y1):
                return
        session = self.view.session
        label = self.view.request_label()
        if session is None or not label:
            return
        session.add_shape(Shape(label=label, points=pts, shape_type=kind))

    def cancel_or_commit(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._points = []
        self._cursor = None
        self._drop_preview()

    def deactivate(self) -> None:
        self.reset()

    def zoom_changed(self) -> None:
        if self._preview is not None:
            self._preview.set_pixel_size(self.view.pixel_size())


#: Freehand: a new point every this many screen pixels of mouse travel.
FREEHAND_STEP_PX = 2.0
#: Freehand: the outline is simplified to within this many screen pixels (at least 0.5 image px).
FREEHAND_TOLERANCE_PX = 1.5


class FreehandTool(BaseTool):
    """Press, drag around the defect, release: the trace becomes ONE polygon, simplified."""

    name = "freehand"

    def __init__(self, view: ToolHost) -> None:
        super().__init__(view)
        self._trace: list[QPointF] = []
        self._last_screen = QPointF()
        self._preview: ShapeItem | None = None

    def cursor(self) -> Qt.CursorShape:
        return Qt.CursorShape.CrossCursor

    def press(self, event: QMouseEvent, pos: QPointF) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.view.session is None:
            return
        self._trace = [self.view.clamp(pos)]
        self._last_screen = event.position()

    def move(self, event: QMouseEvent, pos: QPointF) -> None:
        if not self._trace or not event.buttons() & Qt.MouseButton.LeftButton:
            return
        d = event.position() - self._last_screen
        if math.hypot(d.x(), d.y()) < FREEHAND_STEP_PX:
            return
        self._last_screen = event.position()
        self._trace.append(self.view.clamp(pos))
        self._show_preview()

    def _show_preview(self) -> None:
        pts = tuple((p.x(), p.y()) for p in self._trace)
        if len(pts) < 2:
            return
        shape = Shape(label="", points=pts, shape_type="linestrip")
        label, session = self.view.current_label, self.view.session
        if label and session is not None and label in session.class_table:
            info = session.class_table.by_label(label)
            style = ShapeStyle(info.color, info.name)
        else:
            style = ShapeStyle((255, 215, 0), "new")
        if self._preview is None:
            self._preview = ShapeItem(0, shape, style)
            self._preview.setZValue(2e7)
            self._preview.set_tag_visible(False)
            self.view.scene().addItem(self._preview)
        else:
            self._preview.set_shape(shape, style)
            self._preview.set_tag_visible(False)
        self._preview.set_pixel_size(self.view.pixel_size())

    def release(self, event: QMouseEvent, pos: QPointF) -> None:
        if event.button() != Qt.MouseButton.LeftButton or not self._trace:
            return
        trace = [(p.x(), p.y()) for p in self._trace]
        self.reset()
        points = simplify_trace(trace, max(0.5, FREEHAND_TOLERANCE_PX * self.view.pixel_size()))
        if len(points) < 3:
            return
        session = self.view.session
        label = self.view.request_label()
        if session is None or not label:
            return
        session.add_shape(Shape(label=label, points=points, shape_type="polygon"))

    def key(self, event: QKeyEvent) -> bool:
        if event.key() == Qt.Key.Key_Escape and self._trace:
            self.reset()
            return True
        return False

    def cancel_or_commit(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._trace = []
        if self._preview is not None:
            self.view.scene().removeItem(self._preview)
            self._preview = None

    def deactivate(self) -> None:
        self.reset()


def simplify_trace(points: list[tuple[float, float]], tolerance: float) -> tuple[tuple[float, float], ...]:
    """A closed mouse trace as a polygon within ``tolerance`` image px (Douglas-Peucker);
    () when it encloses (almost) no area."""
    if len(points) < 3:
        return ()
    curve = np.asarray(points, dtype=np.float32).reshape(-1, 1, 2)
    if abs(cv2.contourArea(curve)) < 1.0:
        return ()
    simple = cv2.approxPolyDP(curve, float(tolerance), True).reshape(-1, 2)
    return tuple((round(float(x), 2), round(float(y), 2)) for x, y in simple)


class BrushTool(BaseTool):
    """Paints (or erases) on the view's paint layer; :meth:`commit` makes it one session edit."""

    def __init__(self, view: ToolHost, erase: bool) -> None:
        super().__init__(view)
        self.erase = erase
        self.name = "eraser" if erase else "brush"
        self._last: QPointF | None = None
        self._ring = QGraphicsEllipseItem()
        pen = QPen(QColor(255, 255, 255), 1.5, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        self._ring.setPen(pen)
        self._ring.setZValue(3e7)
        self._ring.setVisible(False)

    def cursor(self) -> Qt.CursorShape:
        return Qt.CursorShape.CrossCursor

    def activate(self) -> None:
        super().activate()
        self.view.scene().addItem(self._ring)

    def deactivate(self) -> None:
        if self._ring.scene() is not None:
            self.view.scene().removeItem(self._ring)

    def _color(self) -> tuple[int, int, int]:
        if self.erase:
            return (255, 255, 255)
        label, session = self.view.current_label, self.view.session
        if label and session is not None and label in session.class_table:
            return session.class_table.by_label(label).color
        return (255, 215, 0)

    def _place_ring(self, pos: QPointF) -> None:
        r = self.view.brush_radius
        self._ring.setRect(QRectF(pos.x() - r, pos.y() - r, 2 * r, 2 * r))
        self._ring.setVisible(True)

    def press(self, event: QMouseEvent, pos: QPointF) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.view.session is None:
            return
        layer = self.view.paint_layer
        h, w = self.view.image_size
        if not h or not w:
            return
        if not layer.is_painted or layer.mask.shape != (h, w):
            layer.reset(h, w, self._color())
        layer.stroke(pos, pos, self.view.brush_radius)
        self._last = QPointF(pos)

    def move(self, event: QMouseEvent, pos: QPointF) -> None:
        self._place_ring(pos)
        if self._last is not None and event.buttons() & Qt.MouseButton.LeftButton:
            self.view.paint_layer.stroke(self._last, pos, self.view.brush_radius)
            self._last = QPointF(pos)

    def release(self, event: QMouseEvent, pos: QPointF) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._last = None

    def key(self, event: QKeyEvent) -> bool:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.commit()
            return True
        if event.key() == Qt.Key.Key_Escape and self.view.paint_layer.is_painted:
            self._clear()
            return True
        return False

    def _clear(self) -> None:
        h, w = self.view.image_size
        self.view.paint_layer.reset(h, w, self._color())

    def commit(self) -> None:
        """Strokes -> one undoable session edit (kept on the layer if no class is chosen)."""
        layer, session = self.view.paint_layer, self.view.session
        if session is None or not layer.is_painted:
            return
        if self.erase:
            index = 0
        else:
            label = self.view.request_label()
            if not label:
                return
            index = session.ensure_label(label)
        mask = layer.mask
        if mask.shape == session.image_size:
            session.commit_brush(mask, index, erase=self.erase)
        self._clear()

    def reset(self) -> None:
        self._last = None
        self._clear()

    def zoom_changed(self) -> None:
        if self._ring.isVisible():
            self._place_ring(self._ring.rect().center())
