"""The select/edit tool: selection, moving shapes, vertex drag/insert/delete (gestures in ``tools``).

Drags are previewed on the items (one vertex updated per mouse move) and committed to the
session as ONE command when the button is released.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from inspector_app.canvas import geometry as geo
from inspector_app.canvas.shape_item import ShapeItem
from inspector_app.canvas.tool_base import BaseTool
from inspector_app.core.annotations import Shape

if TYPE_CHECKING:
    from inspector_app.canvas.tool_host import ToolHost

__all__ = ["SelectTool"]

DRAG_START_PX = 3.0  # a press moving less than this (screen px) is a click, not a drag


class SelectTool(BaseTool):
    """Select, move and reshape shapes."""

    name = "select"

    def __init__(self, view: ToolHost) -> None:
        super().__init__(view)
        self._mode: str | None = None  # 'vertex' | 'move' | 'rubber'
        self._item: ShapeItem | None = None
        self._orig: Shape | None = None
        self._handle = -1
        self._press = QPointF()
        self._press_screen = QPointF()
        self._moved = False
        self._macro = False
        self._last = QPointF()
        self._hover: ShapeItem | None = None
        self._rubber: QGraphicsRectItem | None = None
        self._rubber_base: frozenset[int] = frozenset()
        #: A plain press on a shape of a larger selection keeps the selection (to drag it all);
        #: released without a drag, the click selects that one shape alone.
        self._click_only: int | None = None

    # ------------------------------------------------------------------ helpers
    def _clear_picked(self, keep: ShapeItem | None = None) -> None:
        for item in self.view.shapes.items():
            if item is not keep:
                item.set_selected_handles(frozenset())

    def _set_hover(self, item: ShapeItem | None, handle: int | None = None) -> None:
        if self._hover is not None and self._hover is not item:
            self._hover.set_hover(False)
        self._hover = item
        if item is not None:
            item.set_hover(True, handle)

    def _far_enough(self, event: QMouseEvent) -> bool:
        d = event.position() - self._press_screen
        return math.hypot(d.x(), d.y()) >= DRAG_START_PX

    # ------------------------------------------------------------------ mouse
    def press(self, event: QMouseEvent, pos: QPointF) -> None:
        session = self.view.session
        if session is None or event.button() != Qt.MouseButton.LeftButton:
            return
        mods = event.modifiers()
        shift = bool(mods & Qt.KeyboardModifier.ShiftModifier)
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        self._press, self._press_screen, self._moved = QPointF(pos), event.position(), False
        self._click_only = None
        found = self.view.hit_test(pos)
        if found is None:
            self._mode = "rubber"
            self._rubber_base = session.selection if (shift or ctrl) else frozenset()
            if not (shift or ctrl):
                session.set_selection([])
            self._clear_picked()
            return
        item, hit = found
        sid = item.shape_id
        if hit.kind == "vertex":
            if shift:
                item.set_selected_handles(item.selected_handles ^ {hit.index})
                self._mode = None
                return
            self._clear_picked(keep=item)
            if hit.index not in item.selected_handles:
                item.set_selected_handles(frozenset({hit.index}))
            self._start_vertex_drag(item, hit.index)
            return
        if hit.kind == "edge" and shift:
            self._insert_and_drag(item, hit.index, hit.point)
            return
        self._clear_picked()
        if ctrl:
            session.set_selection(session.selection ^ {sid})
            self._mode = None
            return
        if shift:
            session.set_selection(session.selection | {sid})
        elif sid not in session.selection:
            session.set_selection([sid])
        elif len(session.selection) > 1:
            self._click_only = sid
        self._mode = "move"

    def _start_vertex_drag(self, item: ShapeItem, handle: int) -> None:
        self._mode, self._item, self._handle = "vertex", item, handle
        self._orig = item.annotation

    def _insert_and_drag(self, item: ShapeItem, index: int, point: tuple[float, float]) -> None:
        session = self.view.session
        assert session is not None and session.undo_stack is not None
        p = self.view.clamp(QPointF(*point))
        session.undo_stack.beginMacro("Insert vertex")
        self._macro = True
        session.insert_vertex(item.shape_id, index, (p.x(), p.y()))
        fresh = self.view.shapes.item(item.shape_id)
        assert fresh is not None
        self._clear_picked()
        fresh.set_selected_handles(frozenset({index}))
        self._start_vertex_drag(fresh, index)

    def move(self, event: QMouseEvent, pos: QPointF) -> None:
        held = bool(event.buttons() & Qt.MouseButton.LeftButton)
        if self._mode is None or not held:
            if not held:
                self._hover_feedback(event, pos)
            return
        if not self._moved and not self._far_enough(event):
            return
        self._moved = True
        if self._mode == "vertex" and self._item is not None and self._orig is not None:
            p = self.view.clamp(pos)
            self._last = p
            if self._orig.shape_type in geo.POINT_HANDLE_TYPES:
                self._item.preview_vertex(self._handle, p.x(), p.y())
            else:
                self._item.preview_points(geo.drag_handle(self._orig, self._handle, (p.x(), p.y())))
        elif self._mode == "move" and self.view.session is not None:
            delta = pos - self._press
            for sid in self.view.session.selection:
                item = self.view.shapes.item(sid)
                if item is not None:
                    item.setPos(delta)
        elif self._mode == "rubber":
            self._show_rubber(QRectF(self._press, pos).normalized())

    def _hover_feedback(self, event: QMouseEvent, pos: QPointF) -> None:
        found = self.view.hit_test(pos)
        cursor = Qt.CursorShape.ArrowCursor
        if found is None:
            self._set_hover(None)
        else:
            item, hit = found
            self._set_hover(item, hit.index if hit.kind == "vertex" else None)
            shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            if hit.kind == "vertex":
                cursor = Qt.CursorShape.PointingHandCursor
            elif hit.kind == "edge" and shift:
                cursor = Qt.CursorShape.CrossCursor
            else:
                cursor = Qt.CursorShape.SizeAllCursor
        self.view.viewport().setCursor(cursor)

    def _show_rubber(self, rect: QRectF) -> None:
        if self._rubber is None:
            self._rubber = QGraphicsRectItem()
            pen = QPen(QColor(255, 255, 255), 1, Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            self._rubber.setPen(pen)
            self._rubber.setBrush(QColor(80, 160, 255, 40))
            self._rubber.setZValue(2e7)
            self.view.scene().addItem(self._rubber)
        self._rubber.setRect(rect)

    def release(self, event: QMouseEvent, pos: QPointF) -> None:
        session = self.view.session
        if event.button() != Qt.MouseButton.LeftButton or session is None:
            return
        mode, self._mode = self._mode, None
        alive = self._item is not None and self._item.shape_id in session.shape_ids
        if mode == "vertex" and self._item is not None and self._orig is not None:
            # The shape may be gone (undone or deleted by a shortcut) while the button was down.
            if self._moved and alive:
                p = (self._last.x(), self._last.y())
                if self._orig.shape_type in geo.POINT_HANDLE_TYPES:
                    session.move_vertex(self._item.shape_id, self._handle, p)
                else:
                    session.set_points(self._item.shape_id, geo.drag_handle(self._orig, self._handle, p))
            self._end_macro()
        elif mode == "move" and self._moved:
            delta = pos - self._press
            live = set(session.selection) & set(session.shape_ids)
            session.move_shapes(live, delta.x(), delta.y())
        elif mode == "move" and self._click_only is not None and self._click_only in session.shape_ids:
            session.set_selection([self._click_only])
        elif mode == "rubber" and self._rubber is not None:
            rect = self._rubber.rect()
            self.view.scene().removeItem(self._rubber)
            self._rubber = None
            inside = [
                it.shape_id
                for it in self.view.shapes.items()
                if self.view.shapes.editable(it) and rect.contains(it.geometry_rect())
            ]
            session.set_selection(self._rubber_base | set(inside))
        self._item = None
        self._orig = None
        self._click_only = None

    def _end_macro(self) -> None:
        session = self.view.session
        if self._macro and session is not None and session.undo_stack is not None:
            session.undo_stack.endMacro()
        self._macro = False

    def double_click(self, event: QMouseEvent, pos: QPointF) -> None:
        session = self.view.session
        if session is None or event.button() != Qt.MouseButton.LeftButton:
            return
        found = self.view.hit_test(pos)
        if found is None:
            return
        item, hit = found
        if hit.kind == "edge":
            p = self.view.clamp(QPointF(*hit.point))
            session.insert_vertex(item.shape_id, hit.index, (p.x(), p.y()))
        elif hit.kind == "body":
            ids = session.selection if item.shape_id in session.selection else {item.shape_id}
            self.view.edit_label(ids)

    # ------------------------------------------------------------------ keys and lifecycle
    def key(self, event: QKeyEvent) -> bool:
        session = self.view.session
        if session is None:
            return False
        key = event.key()
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and not event.modifiers():
            picked = {
                it.shape_id: it.selected_handles
                for it in self.view.shapes.items()
                if it.selected_handles and it.shape_id in session.selection
            }
            if picked:
                session.remove_vertices({sid: sorted(h) for sid, h in picked.items()})
            elif session.selection:
                session.remove_shapes(session.selection)
            return True
        if key == Qt.Key.Key_Escape:
            if self._mode is not None:
                self.cancel_or_commit()
            else:
                session.set_selection([])
            return True
        return False

    def cancel_or_commit(self) -> None:
        """Drop a half-done drag (its preview is restored from the session)."""
        if self._item is not None and self._orig is not None:
            self._item.set_shape(self._orig, self._item.style)
        if self._mode == "move" and self.view.session is not None:
            for sid in self.view.session.selection:
                item = self.view.shapes.item(sid)
                if item is not None:
                    item.setPos(0, 0)
        if self._rubber is not None:
            self.view.scene().removeItem(self._rubber)
            self._rubber = None
        self._end_macro()
        self._mode, self._item, self._orig = None, None, None

    def reset(self) -> None:
        self._mode, self._item, self._orig, self._hover = None, None, None, None
        self._macro = False

    def deactivate(self) -> None:
        self._set_hover(None)
