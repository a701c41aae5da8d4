"""Issue 11, bug 2: after "Accept prediction" every new shape is selected; a plain click on one
selects that one alone (Delete then removes one shape, not five), while dragging one of them
still moves them all. Real mouse and key events on a CanvasView bound to a session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from inspector_app.canvas import CanvasView
from inspector_app.core.classes import ClassTable
from inspector_app.editing import AnnotationSession

pytestmark = pytest.mark.gui

H, W = 200, 300
TABLE = ClassTable.from_labels(["dent"])
LEFT = Qt.MouseButton.LeftButton
NO = Qt.KeyboardModifier.NoModifier
#: Five predicted dents: (x0, y0) of 16x16 squares.
SPOTS = ((20, 20), (80, 20), (140, 20), (200, 20), (80, 120))


@pytest.fixture
def accepted(qtbot: QtBot, tmp_path: Path) -> tuple[CanvasView, AnnotationSession, list[int]]:
    session = AnnotationSession(TABLE)
    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(700, 500)
    view.show()
    view.bind_session(session)
    image = np.full((H, W, 3), 128, np.uint8)
    view.set_image(image)
    session.open(tmp_path / "a.png", tmp_path / "a.json", image.shape)
    view.set_zoom(2.0)
    view.centerOn(W / 2, H / 2)
    mask = np.zeros((H, W), np.uint8)
    for x, y in SPOTS:
        mask[y : y + 16, x : x + 16] = 1
    ids = session.accept_prediction(mask)
    assert len(ids) == 5 and session.selection == frozenset(ids)
    return view, session, ids


def at(view: CanvasView, x: float, y: float) -> QPoint:
    return view.mapFromScene(QPointF(x, y))


def id_at(session: AnnotationSession, ids: list[int], x: float, y: float) -> int:
    for sid in ids:
        xs = [p[0] for p in session.shape(sid).points]
        ys = [p[1] for p in session.shape(sid).points]
        if min(xs) <= x <= max(xs) and min(ys) <= y <= max(ys):
            return sid
    raise AssertionError(f"no shape at {(x, y)}")


def test_plain_click_selects_one_shape_and_delete_removes_only_it(
    accepted: tuple[CanvasView, AnnotationSession, list[int]],
) -> None:
    view, session, ids = accepted
    target = id_at(session, ids, 88, 128)
    QTest.mouseClick(view.viewport(), LEFT, NO, at(view, 88, 128))
    assert session.selection == {target}
    QTest.keyClick(view.viewport(), Qt.Key.Key_Delete)
    assert len(session.shape_ids) == 4 and target not in session.shape_ids
    assert session.undo_stack is not None
    assert session.undo_stack.undoText() == "Delete shape"


def test_dragging_one_of_the_selected_moves_them_all(
    accepted: tuple[CanvasView, AnnotationSession, list[int]],
) -> None:
    view, session, ids = accepted
    before = {sid: session.shape(sid).points for sid in ids}
    port = view.viewport()
    p0, p1 = at(view, 88, 128), at(view, 98, 138)
    QTest.mousePress(port, LEFT, NO, p0)
    for i in range(1, 5):
        QTest.mouseMove(port, p0 + (p1 - p0) * (i / 4))
    QTest.mouseRelease(port, LEFT, NO, p1)
    assert session.selection == frozenset(ids)
    for sid in ids:
        (x0, y0), (x1, y1) = before[sid][0], session.shape(sid).points[0]
        assert (x1 - x0, y1 - y0) == pytest.approx((10.0, 10.0), abs=0.6)
