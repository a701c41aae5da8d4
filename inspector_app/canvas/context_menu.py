"""The canvas's right-click menu: the editing actions that apply to what is under the cursor.

Over a shape (selected alone first unless it is part of the selection, as in labelme): edit its
label, confirm a predicted shape, copy, duplicate, delete, delete the vertex or insert one on the
edge under the cursor, select every shape of that class, hide, lock (unlock for a locked one).
Everywhere: paste, accept the predicted region under the cursor as a polygon, select all, fit,
actual pixels. Shortcut keys are shown next to the entries (they work on the canvas itself).

``CanvasView.context_menu_extender(menu, scene_pos)``, when set, adds the window's own actions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import cv2
import numpy as np
from PySide6.QtCore import QPointF
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from inspector_app.canvas.shape_item import ShapeItem
from inspector_app.commands import is_prediction, min_points
from inspector_app.editing.clipboard import copy_to_clipboard, paste_from_clipboard

if TYPE_CHECKING:
    from inspector_app.canvas.view import CanvasView

__all__ = ["build_context_menu", "predicted_region_at"]


def _add(menu: QMenu, text: str, slot: Callable[[], object], keys: str = "", enabled: bool = True) -> QAction:
    action = menu.addAction(text)
    action.setObjectName(text)
    if keys:
        # Shown in the menu only: the keys themselves are handled by the canvas / the window.
        action.setShortcut(QKeySequence(keys))
        action.setShortcutVisibleInContextMenu(True)
    action.setEnabled(enabled)
    action.triggered.connect(slot)
    return action


def _shape_under(view: CanvasView, pos: QPointF) -> ShapeItem | None:
    """Topmost visible shape under ``pos``, locked ones included (they can be unlocked here)."""
    tol = 6.0 * view.pixel_size()
    for item in reversed(view.shapes.items()):
        if item.isVisible() and item.hit(pos.x(), pos.y(), tol) is not None:
            return item
    return None


def predicted_region_at(view: CanvasView, pos: QPointF) -> np.ndarray | None:
    """The predicted region (8-connected, one class) under ``pos`` as a class mask with only that
    region, or None when the prediction has background there (or there is none)."""
    mask = view.prediction_mask
    h, w = view.image_size
    x, y = int(pos.x()), int(pos.y())
    if mask is None or not (0 <= x < w and 0 <= y < h) or mask.shape != (h, w) or mask[y, x] == 0:
        return None
    value = int(mask[y, x])
    _n, labels = cv2.connectedComponents((mask == value).view(np.uint8), connectivity=8)
    region = np.zeros_like(mask)
    region[labels == labels[y, x]] = value
    return region


def build_context_menu(view: CanvasView, pos: QPointF) -> QMenu:
    """The menu for a right click at scene point ``pos`` (not shown yet: ``menu.exec``)."""
    menu = QMenu(view)
    menu.setObjectName("canvasContextMenu")
    session = view.session
    if session is None or session.document is None:
        _add(menu, "Fit image", view.fit, "F")
        return menu
    item = _shape_under(view, pos)
    if item is not None:
        sid = item.shape_id
        locked = session.is_locked(sid)
        if not locked and sid not in session.selection:
            session.set_selection([sid])
        ids = sorted(session.selection) if sid in session.selection else [sid]
        n = len(ids)
        many = f" {n} shapes" if n > 1 else ""
        if locked:
            _add(menu, "Unlock shape", lambda: session.set_locked([sid], False))
            menu.addSeparator()
        else:
            _add(menu, f"Edit label{many}…", lambda: view.edit_label(ids))
            if any(is_prediction(session.shape(i)) for i in ids):
                _add(menu, "Confirm prediction", lambda: session.confirm_shapes(ids))
            _add_vertex_actions(menu, view, item, pos)
            menu.addSeparator()
            _add(menu, f"Copy{many}", lambda: copy_to_clipboard(session, ids), "Ctrl+C")
            _add(menu, f"Duplicate{many}", lambda: session.duplicate(ids), "Ctrl+D")
            _add(menu, f"Delete{many}", lambda: session.remove_shapes(ids), "Del")
            menu.addSeparator()
            label = session.shape(sid).label
            table = session.class_table
            name = table.by_label(label).name if label in table else label
            state = session.state
            same = [i for i, s in zip(state.ids, state.shapes, strict=True) if s.label == label]
            _add(menu, f"Select all “{name}”", lambda: session.set_selection(same))
            _add(menu, f"Hide{many}", lambda: session.set_hidden(ids, True))
            _add(menu, f"Lock{many}", lambda: session.set_locked(ids, True))
        menu.addSeparator()
    region = predicted_region_at(view, pos)
    if region is not None:
        table = session.class_table
        value = int(region.max())
        name = table.by_index(value).name if value < len(table) else str(value)
        _add(
            menu,
            f"Accept this predicted {name} region",
            lambda: session.accept_prediction(region, replace_unconfirmed=False),
        )
    _add(menu, "Paste", lambda: paste_from_clipboard(session), "Ctrl+V")
    _add(menu, "Select all", lambda: _select_all(view), "Ctrl+A")
    menu.addSeparator()
    _add(menu, "Fit image", view.fit, "F")
    _add(menu, "Actual pixels", view.zoom_1to1, "1")
    if view.context_menu_extender is not None:
        view.context_menu_extender(menu, pos)
    return menu


def _add_vertex_actions(menu: QMenu, view: CanvasView, item: ShapeItem, pos: QPointF) -> None:
    """"Delete vertex" on a removable vertex, "Insert vertex here" on an edge (selected shapes)."""
    session = view.session
    assert session is not None
    sid = item.shape_id
    hit = item.hit(pos.x(), pos.y(), 6.0 * view.pixel_size())
    shape = session.shape(sid)
    if hit is None:
        return
    if hit.kind == "vertex" and len(shape.points) > min_points(shape.shape_type) > 0:
        index = hit.index
        _add(menu, "Delete vertex", lambda: session.remove_vertices({sid: [index]}), "Del")
    elif hit.kind == "edge":
        point, at = view.clamp(QPointF(*hit.point)), hit.index
        _add(menu, "Insert vertex here", lambda: session.insert_vertex(sid, at, (point.x(), point.y())))


def _select_all(view: CanvasView) -> None:
    if view.session is not None:
        view.session.set_selection(it.shape_id for it in view.shapes.items() if view.shapes.editable(it))
