"""The shapes of the bound session as scene items: kept in sync with the session's signals.

:class:`ShapeLayer` owns one :class:`~inspector_app.canvas.shape_item.ShapeItem` per shape id.
On ``shapes_changed`` it compares the session's shapes with the items' by identity (frozen
``Shape`` objects are shared between snapshots), so only the shapes an edit or undo really
changed are rebuilt; draw order follows the document. It also answers the tools' questions
(which item is under the mouse, which items may be edited), and decides which label tags are
shown (:mod:`inspector_app.canvas.tag_layout`) whenever shapes, zoom, selection, hover or
visibility change.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QPointF, SignalInstance
from PySide6.QtWidgets import QGraphicsScene

from inspector_app.canvas.shape_item import Hit, ShapeItem, ShapeStyle
from inspector_app.canvas.tag_layout import layout_tags
from inspector_app.editing import AnnotationSession

__all__ = ["ShapeLayer"]

Z_SHAPES = 10.0


class ShapeLayer(QObject):
    """Scene items of a session's shapes (see the module docstring)."""

    def __init__(self, scene: QGraphicsScene, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._scene = scene
        self.session: AnnotationSession | None = None
        self._items: dict[int, ShapeItem] = {}
        self._order: list[ShapeItem] = []
        self._px = 1.0
        self._shown = True
        self._classes: frozenset[int] | None = None
        self._outline_only = False

    # ------------------------------------------------------------------ binding
    def bind(self, session: AnnotationSession) -> None:
        """Follow ``session`` (replacing the one followed before)."""
        if self.session is not None:
            for signal, slot in self._links():
                signal.disconnect(slot)
        self.session = session
        for signal, slot in self._links():
            signal.connect(slot)
        self._on_session_document_changed()

    def _links(self) -> list[tuple[SignalInstance, Callable[..., None]]]:
        s = self.session
        assert s is not None
        return [
            (s.document_changed, self._on_session_document_changed),
            (s.shapes_changed, self._on_session_shapes_changed),
            (s.selection_changed, self._on_session_selection_changed),
            (s.view_state_changed, self._on_session_view_state_changed),
            (s.class_table_changed, self._on_session_class_table_changed),
        ]

    def _style(self, label: str) -> ShapeStyle:
        table = self.session.class_table if self.session else None
        if table is None or label not in table:
            return ShapeStyle(name=label)
        info = table.by_label(label)
        return ShapeStyle(info.color, info.name, info.line_width, info.draw_as)

    def _on_session_document_changed(self) -> None:
        for item in self._order:
            self._scene.removeItem(item)
        self._items.clear()
        self._order = []
        self._on_session_shapes_changed()

    def _on_session_shapes_changed(self) -> None:
        if self.session is None:
            return
        state = self.session.state
        order: list[ShapeItem] = []
        for z, (sid, shape) in enumerate(zip(state.ids, state.shapes, strict=True)):
            item = self._items.get(sid)
            if item is None:
                item = ShapeItem(sid, shape, self._style(shape.label))
                item.set_pixel_size(self._px)
                item.on_hover_changed = self._on_item_hover_changed
                item.set_outline_only(self._outline_only)
                self._items[sid] = item
                self._scene.addItem(item)
            elif item.annotation is not shape or item.pos() != QPointF(0, 0):
                item.set_shape(shape, self._style(shape.label))
            item.setZValue(Z_SHAPES + z)
            order.append(item)
        alive = set(state.ids)
        for sid in [s for s in self._items if s not in alive]:
            self._scene.removeItem(self._items.pop(sid))
        self._order = order
        self._on_session_selection_changed()
        self._apply_visibility()

    def _on_session_selection_changed(self) -> None:
        if self.session is None:
            return
        selection = self.session.selection
        for item in self._order:
            item.set_state(item.shape_id in selection, self.session.is_locked(item.shape_id))
        self.layout_tags()

    def _on_session_view_state_changed(self) -> None:
        self._on_session_selection_changed()
        self._apply_visibility()

    def _on_session_class_table_changed(self) -> None:
        for item in self._order:
            item.set_shape(item.annotation, self._style(item.annotation.label))
        self.layout_tags()  # other names: other tag widths

    def _on_item_hover_changed(self, _item: ShapeItem) -> None:
        self.layout_tags()

    def layout_tags(self) -> int:
        """Decide which tags are shown (see :mod:`inspector_app.canvas.tag_layout`); returns how many."""
        return layout_tags(self._order)

    # ------------------------------------------------------------------ view settings
    def set_pixel_size(self, px: float) -> None:
        """Scene units per screen pixel (zoom), passed on to every item."""
        self._px = px
        for item in self._order:
            item.set_pixel_size(px)
        self.layout_tags()

    def set_outline_only(self, outline_only: bool) -> None:
        """Draw every shape as an outline without fill (see :meth:`ShapeItem.set_outline_only`)."""
        self._outline_only = outline_only
        for item in self._order:
            item.set_outline_only(outline_only)

    def set_shown(self, shown: bool) -> None:
        """Show or hide all shapes (layer mode)."""
        self._shown = shown
        self._apply_visibility()

    def set_visible_classes(self, classes: frozenset[int] | None) -> None:
        """Only shapes of these class indices (of the session's table) are shown; None = all."""
        self._classes = classes
        self._apply_visibility()

    def _apply_visibility(self) -> None:
        session = self.session
        table = session.class_table if session else None
        for item in self._order:
            visible = self._shown and not (session and session.is_hidden(item.shape_id))
            label = item.annotation.label
            if visible and self._classes is not None and table is not None and label in table:
                visible = table.index_of(label) in self._classes
            item.setVisible(visible)
        self.layout_tags()

    # ------------------------------------------------------------------ queries of the tools
    def items(self) -> list[ShapeItem]:
        """Shape items in draw order (bottom first)."""
        return list(self._order)

    def item(self, shape_id: int) -> ShapeItem | None:
        """The item showing a shape id."""
        return self._items.get(shape_id)

    def editable(self, item: ShapeItem) -> bool:
        """Visible and not locked."""
        return item.isVisible() and not (self.session and self.session.is_locked(item.shape_id))

    def hit_test(self, pos: QPointF, tol: float) -> tuple[ShapeItem, Hit] | None:
        """Topmost thing under ``pos`` within ``tol``: handles/edges of selected shapes, then bodies."""
        candidates = [it for it in reversed(self._order) if self.editable(it)]
        selection = self.session.selection if self.session else frozenset()
        for item in candidates:
            if item.shape_id in selection:
                hit = item.hit(pos.x(), pos.y(), tol)
                if hit is not None and hit.kind != "body":
                    return item, hit
        for item in candidates:
            hit = item.hit(pos.x(), pos.y(), tol)
            if hit is not None:
                return item, hit
        return None
