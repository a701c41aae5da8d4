"""Editing on the canvas with REAL mouse and key events sent to the viewport (QTest).

Each gesture is checked on the session's document and its undo stack (index, undo, redo).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from inspector_app.canvas import CanvasView
from inspector_app.core.annotations import Shape
from inspector_app.core.classes import ClassTable
from inspector_app.editing import AnnotationSession
from inspector_app.widgets.label_dialog import LabelDialog

pytestmark = pytest.mark.gui

H, W = 300, 400
TABLE = ClassTable.from_labels(["dent", "scratch"])  # 1 dent, 2 scratch
LEFT = Qt.MouseButton.LeftButton
NO = Qt.KeyboardModifier.NoModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
CTRL = Qt.KeyboardModifier.ControlModifier
BOX = ((100.0, 100.0), (200.0, 100.0), (200.0, 180.0), (100.0, 180.0))


@pytest.fixture
def canvas(qtbot: QtBot, tmp_path: Path) -> tuple[CanvasView, AnnotationSession]:
    session = AnnotationSession(TABLE)
    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(820, 620)
    view.show()
    view.bind_session(session)
    image = np.full((H, W, 3), 128, np.uint8)
    view.set_image(image)
    session.open(tmp_path / "a.png", tmp_path / "a.json", image.shape)
    view.set_zoom(2.0)
    view.centerOn(W / 2, H / 2)
    return view, session


def at(view: CanvasView, x: float, y: float) -> QPoint:
    """Viewport pixel showing image point (x, y)."""
    return view.mapFromScene(QPointF(x, y))


def scene(view: CanvasView, p: QPoint) -> tuple[float, float]:
    s = view.mapToScene(p)
    return (s.x(), s.y())


def click(view: CanvasView, x: float, y: float, mods: Qt.KeyboardModifier = NO) -> None:
    QTest.mouseClick(view.viewport(), LEFT, mods, at(view, x, y))


def drag(
    view: CanvasView,
    start: tuple[float, float],
    end: tuple[float, float],
    mods: Qt.KeyboardModifier = NO,
    steps: int = 6,
) -> tuple[QPoint, QPoint]:
    port = view.viewport()
    p0, p1 = at(view, *start), at(view, *end)
    QTest.mousePress(port, LEFT, mods, p0)
    for i in range(1, steps + 1):
        QTest.mouseMove(port, p0 + (p1 - p0) * (i / steps))
    QTest.mouseRelease(port, LEFT, mods, p1)
    return p0, p1


def answer_label_dialog(action: Callable[[LabelDialog], None]) -> list[bool]:
    """Run ``action`` on the label dialog once it is open (modal exec)."""
    seen: list[bool] = []

    def handle() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, LabelDialog)
        seen.append(True)
        action(dialog)

    QTimer.singleShot(0, handle)
    return seen


def stack_index(session: AnnotationSession) -> int:
    assert session.undo_stack is not None
    return session.undo_stack.index()


def test_draw_polygon_by_clicks_close_it_and_label_it(canvas: tuple[CanvasView, AnnotationSession]) -> None:
    view, session = canvas
    view.set_tool("polygon")
    corners = [(50, 60), (150, 60), (150, 140), (50, 140)]
    for x, y in corners:
        click(view, x, y)
    seen = answer_label_dialog(lambda d: QTest.keyClick(d.edit, Qt.Key.Key_2))
    click(view, 51, 61)  # on the first vertex: closes the polygon
    assert seen == [True]
    assert stack_index(session) == 1
    (shape,) = session.state.shapes
    assert shape.label == "scratch" and shape.shape_type == "polygon"
    expected = [scene(view, at(view, x, y)) for x, y in corners]
    assert np.allclose(shape.points, expected, atol=0.01)
    assert session.undo_stack is not None
    session.undo_stack.undo()
    assert session.state.shapes == ()
    session.undo_stack.redo()
    assert session.state.shapes == (shape,)


def test_drawing_with_a_current_label_and_other_types(canvas: tuple[CanvasView, AnnotationSession]) -> None:
    view, session = canvas
    view.set_current_label("dent")
    view.set_tool("rectangle")
    drag(view, (20, 20), (80, 60))
    view.set_tool("circle")
    drag(view, (300, 200), (320, 200))
    view.set_tool("point")
    click(view, 10, 290)
    view.set_tool("linestrip")
    for x, y in [(200, 20), (250, 40), (300, 30)]:
        click(view, x, y)
    QTest.keyClick(view.viewport(), Qt.Key.Key_Return)
    kinds = [s.shape_type for s in session.state.shapes]
    assert kinds == ["rectangle", "circle", "point", "linestrip"]
    rect = session.state.shapes[0].points
    assert np.allclose(rect, [(20, 20), (80, 60)], atol=0.5)
    assert np.allclose(session.state.shapes[1].points, [(300, 200), (320, 200)], atol=0.5)
    assert len(session.state.shapes[3].points) == 3 and stack_index(session) == 4


def test_drag_a_vertex_then_undo_and_redo(canvas: tuple[CanvasView, AnnotationSession]) -> None:
    view, session = canvas
    sid = session.add_shape(Shape("dent", BOX))  # a new shape is selected: handles shown
    _, p1 = drag(view, (200, 100), (230, 80))
    assert stack_index(session) == 2
    moved = session.shape(sid).points
    assert np.allclose(moved[1], scene(view, p1), atol=0.01) and moved[0] == BOX[0] and moved[2:] == BOX[2:]
    assert session.undo_stack is not None
    session.undo_stack.undo()
    assert session.shape(sid).points == BOX
    session.undo_stack.redo()
    assert session.shape(sid).points == moved


def test_shift_click_on_an_edge_inserts_a_vertex(canvas: tuple[CanvasView, AnnotationSession]) -> None:
    view, session = canvas
    sid = session.add_shape(Shape("dent", BOX))
    click(view, 150, 100.4, SHIFT)
    points = session.shape(sid).points
    assert len(points) == 5 and np.allclose(points[1], (150, 100), atol=0.6)
    assert stack_index(session) == 2
    # Insert and drag in one gesture: still one undo step.
    drag(view, (200, 140), (240, 140), SHIFT)
    points = session.shape(sid).points
    assert len(points) == 6 and np.allclose(points[3], (240, 140), atol=0.6)
    assert stack_index(session) == 3
    assert session.undo_stack is not None
    session.undo_stack.undo()
    assert len(session.shape(sid).points) == 5
    session.undo_stack.undo()
    assert session.shape(sid).points == BOX


def test_pick_two_vertices_with_shift_and_delete_them(canvas: tuple[CanvasView, AnnotationSession]) -> None:
    view, session = canvas
    pentagon = ((100.0, 100.0), (200.0, 100.0), (220.0, 150.0), (200.0, 180.0), (100.0, 180.0))
    sid = session.add_shape(Shape("dent", pentagon))
    click(view, 220, 150)
    click(view, 100, 180, SHIFT)  # add a second vertex to the picked ones
    QTest.keyClick(view.viewport(), Qt.Key.Key_Delete)
    assert session.shape(sid).points == (pentagon[0], pentagon[1], pentagon[3])
    assert stack_index(session) == 2
    click(view, 200, 180)
    QTest.keyClick(view.viewport(), Qt.Key.Key_Delete)  # a polygon needs 3 points: it goes
    assert session.shape_ids == ()
    assert session.undo_stack is not None
    session.undo_stack.undo()
    assert session.shape(sid).points == (pentagon[0], pentagon[1], pentagon[3])


def test_delete_one_vertex_keeps_the_polygon(canvas: tuple[CanvasView, AnnotationSession]) -> None:
    view, session = canvas
    sid = session.add_shape(
        Shape("dent", ((100.0, 100.0), (200.0, 100.0), (220.0, 150.0), (200.0, 180.0), (100.0, 180.0)))
    )
    click(view, 220, 150)
    QTest.keyClick(view.viewport(), Qt.Key.Key_Delete)
    assert session.shape(sid).points == ((100.0, 100.0), (200.0, 100.0), (200.0, 180.0), (100.0, 180.0))
    assert session.undo_stack is not None
    session.undo_stack.undo()
    assert len(session.shape(sid).points) == 5


def test_drag_moves_the_shape(canvas: tuple[CanvasView, AnnotationSession]) -> None:
    view, session = canvas
    sid = session.add_shape(Shape("dent", BOX))
    session.set_selection([])
    p0, p1 = drag(view, (150, 140), (180, 170))
    dx, dy = np.subtract(scene(view, p1), scene(view, p0))
    assert np.allclose(session.shape(sid).points, [(x + dx, y + dy) for x, y in BOX])
    assert stack_index(session) == 2 and session.selection == {sid}
    assert session.undo_stack is not None
    session.undo_stack.undo()
    assert session.shape(sid).points == BOX


def test_rubber_band_selects_and_delete_removes(canvas: tuple[CanvasView, AnnotationSession]) -> None:
    view, session = canvas
    a = session.add_shape(Shape("dent", BOX))
    b = session.add_shape(Shape("scratch", ((220.0, 200.0), (260.0, 240.0)), "rectangle"))
    c = session.add_shape(Shape("scratch", ((350.0, 20.0), (390.0, 60.0)), "rectangle"))
    drag(view, (90, 90), (280, 260))
    assert session.selection == {a, b}
    QTest.keyClick(view.viewport(), Qt.Key.Key_Delete)
    assert session.shape_ids == (c,)
    assert session.undo_stack is not None
    session.undo_stack.undo()
    assert session.shape_ids == (a, b, c)


def test_ctrl_click_toggles_and_escape_clears(canvas: tuple[CanvasView, AnnotationSession]) -> None:
    view, session = canvas
    a = session.add_shape(Shape("dent", BOX))
    b = session.add_shape(Shape("scratch", ((220.0, 200.0), (260.0, 240.0)), "rectangle"))
    click(view, 150, 140)
    click(view, 240, 220, CTRL)
    assert session.selection == {a, b}
    click(view, 150, 140, CTRL)
    assert session.selection == {b}
    QTest.keyClick(view.viewport(), Qt.Key.Key_Escape)
    assert session.selection == frozenset()


def test_change_label_via_dialog_with_a_digit_key(canvas: tuple[CanvasView, AnnotationSession]) -> None:
    view, session = canvas
    sid = session.add_shape(Shape("dent", BOX))
    seen = answer_label_dialog(lambda d: QTest.keyClick(d.edit, Qt.Key.Key_2))
    click(view, 150, 140)
    QTest.mouseDClick(view.viewport(), LEFT, NO, at(view, 150, 140))
    assert seen == [True]
    assert session.shape(sid).label == "scratch" and stack_index(session) == 2
    assert session.undo_stack is not None
    session.undo_stack.undo()
    assert session.shape(sid).label == "dent"


def test_copy_paste_across_two_images_and_duplicate(
    canvas: tuple[CanvasView, AnnotationSession], tmp_path: Path
) -> None:
    view, session = canvas
    sid = session.add_shape(Shape("dent", BOX))
    QTest.keyClick(view.viewport(), Qt.Key.Key_C, CTRL)
    session.open(tmp_path / "b.png", tmp_path / "b.json", (H, W))
    assert session.shape_ids == ()
    QTest.keyClick(view.viewport(), Qt.Key.Key_V, CTRL)
    (pasted,) = session.shape_ids
    assert session.shape(pasted).points == BOX and pasted != sid
    QTest.keyClick(view.viewport(), Qt.Key.Key_D, CTRL)
    assert len(session.shape_ids) == 2 and session.state.shapes[1].points[0] == (110.0, 110.0)
    assert len(view.shapes.items()) == 2


def test_brush_strokes_are_committed_on_enter(canvas: tuple[CanvasView, AnnotationSession]) -> None:
    view, session = canvas
    view.set_current_label("scratch")
    view.set_tool("brush")
    view.set_brush_radius(6)
    drag(view, (50, 200), (150, 220), steps=12)
    assert view.paint_layer.is_painted and session.state.shapes == ()
    QTest.keyClick(view.viewport(), Qt.Key.Key_Return)
    assert stack_index(session) == 1
    (shape,) = session.state.shapes
    assert shape.label == "scratch" and shape.shape_type == "polygon"
    xs, ys = np.array(shape.points).T
    assert xs.min() <= 46 and xs.max() >= 154 and ys.min() <= 196 and ys.max() >= 224
    assert not view.paint_layer.is_painted


def test_brush_is_committed_when_the_tool_changes_and_eraser_cuts(
    canvas: tuple[CanvasView, AnnotationSession],
) -> None:
    view, session = canvas
    sid = session.add_shape(Shape("dent", ((20.0, 40.0), (380.0, 40.0), (380.0, 80.0), (20.0, 80.0))))
    view.set_tool("eraser")
    view.set_brush_radius(8)
    drag(view, (200, 10), (200, 110), steps=10)
    view.set_tool("select")
    assert sid not in session.shape_ids and len(session.state.shapes) == 2
    assert stack_index(session) == 2
    assert session.undo_stack is not None
    session.undo_stack.undo()
    assert session.shape_ids == (sid,)


def test_locked_shapes_ignore_the_mouse_and_hidden_are_not_drawn(
    canvas: tuple[CanvasView, AnnotationSession],
) -> None:
    view, session = canvas
    a = session.add_shape(Shape("dent", BOX))
    session.set_selection([])
    session.set_locked([a], True)
    drag(view, (150, 140), (190, 170))
    assert session.shape(a).points == BOX and session.selection == frozenset()
    session.set_hidden([a], True)
    item = view.shapes.item(a)
    assert item is not None and not item.isVisible()


def test_escape_cancels_a_vertex_drag(canvas: tuple[CanvasView, AnnotationSession]) -> None:
    view, session = canvas
    sid = session.add_shape(Shape("dent", BOX))
    port = view.viewport()
    QTest.mousePress(port, LEFT, NO, at(view, 200, 100))
    QTest.mouseMove(port, at(view, 250, 60))
    QTest.keyClick(port, Qt.Key.Key_Escape)
    QTest.mouseRelease(port, LEFT, NO, at(view, 250, 60))
    assert session.shape(sid).points == BOX and stack_index(session) == 1
    item = view.shapes.item(sid)
    assert item is not None and np.allclose(item.handles, BOX)


def test_double_click_on_an_edge_inserts_a_vertex(canvas: tuple[CanvasView, AnnotationSession]) -> None:
    view, session = canvas
    sid = session.add_shape(Shape("dent", BOX))
    click(view, 200, 140)  # on the right edge: the shape stays selected, nothing moves
    QTest.mouseDClick(view.viewport(), LEFT, NO, at(view, 200, 140))
    points = session.shape(sid).points
    assert len(points) == 5 and np.allclose(points[2], (200, 140), atol=0.6)
    assert stack_index(session) == 2


def test_undo_while_dragging_does_not_break_the_release(canvas: tuple[CanvasView, AnnotationSession]) -> None:
    view, session = canvas
    session.add_shape(Shape("dent", BOX))
    port = view.viewport()
    QTest.mousePress(port, LEFT, NO, at(view, 200, 100))
    QTest.mouseMove(port, at(view, 230, 90))
    QTest.keyClick(port, Qt.Key.Key_Z, CTRL)  # undoes the add: the dragged shape is gone
    QTest.mouseRelease(port, LEFT, NO, at(view, 240, 90))
    assert session.shape_ids == () and stack_index(session) == 0
    assert view.shapes.items() == []


def test_a_tiny_selected_shape_is_moved_whole(canvas: tuple[CanvasView, AnnotationSession]) -> None:
    view, session = canvas  # zoom 2: this 4 px triangle is 8 screen px, too small for handles
    tri = ((50.0, 50.0), (54.0, 50.0), (52.0, 54.0))
    sid = session.add_shape(Shape("dent", tri))
    item = view.shapes.item(sid)
    assert item is not None and item.is_tiny()
    p0, p1 = drag(view, (52, 51), (72, 61))
    dx, dy = np.subtract(scene(view, p1), scene(view, p0))
    assert np.allclose(session.shape(sid).points, [(x + dx, y + dy) for x, y in tri])
