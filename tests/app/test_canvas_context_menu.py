"""The canvas's right-click menu with real events: a context-menu event on the viewport (what a
right click produces; QTest cannot synthesize it), then a real mouse click on the menu entry.
Each entry is checked on the session (and its undo stack)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QContextMenuEvent, QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu
from pytestqt.qtbot import QtBot

from inspector_app.canvas import CanvasView
from inspector_app.core.annotations import Shape
from inspector_app.core.classes import ClassTable
from inspector_app.editing import AnnotationSession
from inspector_app.editing.clipboard import MIME_TYPE, shapes_from_text

pytestmark = pytest.mark.gui

TABLE = ClassTable.from_labels(["dent", "scratch"])  # 1 dent, 2 scratch
SQUARE = ((20.0, 20.0), (60.0, 20.0), (60.0, 60.0), (20.0, 60.0))


Canvas = tuple[CanvasView, AnnotationSession, int]


@pytest.fixture
def canvas(qtbot: QtBot, tmp_path: Path) -> Canvas:
    session = AnnotationSession(TABLE)
    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(600, 450)
    view.show()
    view.bind_session(session)
    image = np.full((150, 200, 3), 100, np.uint8)
    view.set_image(image)
    session.open(tmp_path / "a.png", tmp_path / "a.json", image.shape)
    view.set_zoom(2.0)
    view.centerOn(100, 75)
    sid = session.add_shape(Shape("dent", SQUARE))
    session.set_selection([])
    return view, session, sid


def right_click(view: CanvasView, x: float, y: float, choose: str | Callable[[QMenu], None]) -> list[str]:
    """Open the menu at image point (x, y); click the entry ``choose`` (or run it on the menu).
    Returns the entries seen."""
    seen: list[str] = []

    def act() -> None:
        menu = view.context_menu
        assert menu is not None, "no context menu open"
        seen.extend(a.text() for a in menu.actions() if not a.isSeparator())
        if callable(choose):
            choose(menu)
            return
        action = next((a for a in menu.actions() if a.text() == choose), None)
        if action is None:
            menu.close()
            return
        QTest.mouseClick(menu, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         menu.actionGeometry(action).center())

    QTimer.singleShot(50, act)
    local = view.mapFromScene(QPointF(x, y))
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, local, view.viewport().mapToGlobal(local))
    QApplication.sendEvent(view.viewport(), event)
    return seen


def test_menu_over_a_shape_selects_it_and_deletes_it(canvas: Canvas) -> None:
    view, session, sid = canvas
    seen = right_click(view, 40, 40, "Delete")
    assert "Edit label…" in seen and "Duplicate" in seen and "Paste" in seen
    assert sid not in session.shape_ids
    assert session.undo_stack is not None and session.undo_stack.undoText() == "Delete shape"


def test_menu_on_empty_space_has_no_shape_entries(canvas: Canvas) -> None:
    view, session, _sid = canvas
    seen = right_click(view, 150, 120, "Select all")
    assert "Delete" not in seen and "Fit image" in seen
    assert session.selection == set(session.shape_ids)


def test_copy_then_paste_through_the_system_clipboard(canvas: Canvas) -> None:
    view, session, _sid = canvas
    right_click(view, 40, 40, "Copy")
    data = QGuiApplication.clipboard().mimeData()
    assert data is not None and data.hasFormat(MIME_TYPE)
    (copied,) = shapes_from_text(data.text())
    assert copied.points == SQUARE and copied.label == "dent"
    right_click(view, 150, 120, "Paste")
    assert len(session.shape_ids) == 2
    assert session.shape(session.shape_ids[1]).points == SQUARE


def test_vertex_and_edge_entries(canvas: Canvas) -> None:
    view, session, sid = canvas
    session.set_selection([sid])
    right_click(view, 40, 20, "Insert vertex here")
    assert len(session.shape(sid).points) == 5
    assert (40.0, 20.0) in session.shape(sid).points
    right_click(view, 60, 60, "Delete vertex")
    assert (60.0, 60.0) not in session.shape(sid).points


def test_lock_then_unlock_and_hide(canvas: Canvas) -> None:
    view, session, sid = canvas
    right_click(view, 40, 40, "Lock")
    assert session.is_locked(sid)
    seen = right_click(view, 40, 40, "Unlock shape")
    assert "Delete" not in seen and not session.is_locked(sid)
    right_click(view, 40, 40, "Hide")
    assert session.is_hidden(sid)


def test_accept_the_predicted_region_under_the_cursor(canvas: Canvas) -> None:
    view, session, _sid = canvas
    mask = np.zeros((150, 200), np.uint8)
    mask[100:120, 120:150] = 2  # the scratch under the cursor
    mask[10:20, 150:180] = 1  # another region: not taken
    view.set_prediction(mask, TABLE.palette())
    right_click(view, 130, 110, "Accept this predicted scratch region")
    new = [session.shape(i) for i in session.shape_ids[1:]]
    assert [s.label for s in new] == ["scratch"]
    xs = [p[0] for p in new[0].points]
    assert min(xs) >= 119 and max(xs) <= 151
    assert new[0].flags.get("prediction") is True


def test_extender_adds_the_window_actions(canvas: Canvas) -> None:
    view, _session, _sid = canvas
    hits: list[QPointF] = []

    def extend(menu: QMenu, pos: QPointF) -> None:
        menu.addSeparator()
        menu.addAction("Verdict NG").triggered.connect(lambda: hits.append(pos))

    view.context_menu_extender = extend
    right_click(view, 150, 120, "Verdict NG")
    assert len(hits) == 1 and hits[0].toPoint() == QPoint(150, 120)
