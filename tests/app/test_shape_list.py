"""The shape list dock with REAL mouse and key events: rows, label counts, selection synced both
ways with the canvas, hide/lock per shape, Delete, and the editor of label / group / description /
shape flags / image flags (each one undoable command of the session)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QStyle, QTreeWidgetItem, QWidget
from pytestqt.qtbot import QtBot

from inspector_app.canvas import CanvasView
from inspector_app.core.annotations import Shape, load_document
from inspector_app.core.classes import ClassTable
from inspector_app.core.demo import demo_class_table
from inspector_app.docks.shape_list import ShapeListPanel
from inspector_app.editing import AnnotationSession

pytestmark = pytest.mark.gui

LEFT = Qt.MouseButton.LeftButton
NO = Qt.KeyboardModifier.NoModifier
CTRL = Qt.KeyboardModifier.ControlModifier
TABLE = ClassTable(
    tuple(
        replace(info, flags=("through_hole",)) if info.label == "zhen_kong" else info
        for info in demo_class_table().classes
    ),
    image_flags=("blurry", "needs_second_look"),
    shape_flags=("occluded",),
)
SQUARE = ((20.0, 20.0), (60.0, 20.0), (60.0, 60.0), (20.0, 60.0))


@pytest.fixture
def setup(qtbot: QtBot, tmp_path: Path) -> tuple[ShapeListPanel, CanvasView, AnnotationSession, list[int]]:
    session = AnnotationSession(TABLE)
    canvas = CanvasView()
    qtbot.addWidget(canvas)
    canvas.resize(500, 400)
    canvas.show()
    canvas.bind_session(session)
    image = np.full((200, 240, 3), 120, np.uint8)
    canvas.set_image(image)
    session.open(tmp_path / "a.png", tmp_path / "a.json", image.shape)
    ids = [
        session.add_shape(Shape("zhen_kong", SQUARE, group_id=2)),
        session.add_shape(Shape("zang_wu", ((100.0, 30.0), (150.0, 80.0)), shape_type="rectangle")),
        session.add_shape(Shape("zhen_kong", ((180.0, 150.0),), shape_type="point")),
    ]
    session.set_selection([])
    panel = ShapeListPanel(session, canvas)
    qtbot.addWidget(panel)
    panel.resize(320, 640)
    panel.show()
    qtbot.waitExposed(panel)
    return panel, canvas, session, ids


def row_point(panel: ShapeListPanel, row: int, column: int = 0) -> QPoint:
    item = panel.tree.topLevelItem(row)
    assert item is not None
    return panel.tree.visualRect(panel.tree.indexFromItem(item, column)).center()


def check_point(panel: ShapeListPanel, row: int, column: int) -> QPoint:
    """Centre of a cell's check indicator (left in the cell, after the item margin)."""
    item = panel.tree.topLevelItem(row)
    assert item is not None
    rect = panel.tree.visualRect(panel.tree.indexFromItem(item, column))
    style = panel.tree.style()
    indicator = style.pixelMetric(QStyle.PixelMetric.PM_IndicatorWidth)
    margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin) + 1
    return QPoint(rect.left() + margin + indicator // 2, rect.center().y())


def click_box(box: QWidget) -> None:
    """Click a check box on its indicator (a click far right of a short text misses it)."""
    QTest.mouseClick(box, LEFT, NO, QPoint(8, box.height() // 2))


def dclick(widget: QWidget, pos: QPoint) -> None:
    """A real double click: press/release, then the double-click press/release."""
    QTest.mouseClick(widget, LEFT, NO, pos)
    QTest.mouseDClick(widget, LEFT, NO, pos)


Setup = tuple[ShapeListPanel, CanvasView, AnnotationSession, list[int]]


def test_rows_and_label_counts(setup: Setup) -> None:
    panel, _canvas, session, _ids = setup
    assert panel.row_texts() == [("pinhole", "polygon", "2"), ("contamination", "rectangle", ""),
                                 ("pinhole", "point", "")]
    assert panel.label_texts() == ["contamination   1", "pinhole   2"]
    mask = np.zeros((200, 240), np.uint8)
    mask[100:120, 20:40] = 1
    session.accept_prediction(mask)
    assert panel.row_texts()[-1][0] == "wrinkling  (prediction)"
    item = panel.tree.topLevelItem(3)
    assert isinstance(item, QTreeWidgetItem) and item.font(0).italic()
    assert panel.count_label.text() == "4 shapes"


def test_selection_follows_clicks_both_ways(
    setup: tuple[ShapeListPanel, CanvasView, AnnotationSession, list[int]],
) -> None:
    panel, canvas, session, ids = setup
    QTest.mouseClick(panel.tree.viewport(), LEFT, NO, row_point(panel, 1))
    assert session.selection == {ids[1]}
    QTest.mouseClick(panel.tree.viewport(), LEFT, CTRL, row_point(panel, 0))
    assert session.selection == {ids[0], ids[1]}
    # A click on the canvas selects the row of the shape clicked.
    QTest.mouseClick(canvas.viewport(), LEFT, NO, canvas.mapFromScene(QPointF(40, 40)))
    assert session.selection == {ids[0]}
    assert panel.selected_ids() == [ids[0]]
    # Label list: double-click selects every shape of that label.
    label_row = panel.labels.visualItemRect(panel.labels.item(1)).center()
    dclick(panel.labels.viewport(), label_row)
    assert session.selection == {ids[0], ids[2]}


def test_hide_and_lock_with_the_check_boxes(
    setup: tuple[ShapeListPanel, CanvasView, AnnotationSession, list[int]],
) -> None:
    panel, canvas, session, ids = setup
    QTest.mouseClick(panel.tree.viewport(), LEFT, NO, check_point(panel, 0, 0))
    assert session.is_hidden(ids[0])
    assert not canvas.shapes.item(ids[0]).isVisible()  # type: ignore[union-attr]
    QTest.mouseClick(panel.tree.viewport(), LEFT, NO, check_point(panel, 0, 0))
    assert not session.is_hidden(ids[0])
    QTest.mouseClick(panel.tree.viewport(), LEFT, NO, check_point(panel, 1, 3))
    assert session.is_locked(ids[1])
    # A locked shape ignores the canvas mouse.
    QTest.mouseClick(canvas.viewport(), LEFT, NO, canvas.mapFromScene(QPointF(120, 50)))
    assert ids[1] not in session.selection


def test_delete_key_in_the_list_and_undo(
    setup: tuple[ShapeListPanel, CanvasView, AnnotationSession, list[int]],
) -> None:
    panel, _canvas, session, ids = setup
    QTest.mouseClick(panel.tree.viewport(), LEFT, NO, row_point(panel, 2))
    QTest.keyClick(panel.tree, Qt.Key.Key_Delete)
    assert session.shape_ids == (ids[0], ids[1])
    assert session.undo_stack is not None
    session.undo_stack.undo()
    assert session.shape_ids == tuple(ids)
    assert len(panel.row_texts()) == 3


def test_double_click_zooms_the_canvas_to_the_shape(
    setup: tuple[ShapeListPanel, CanvasView, AnnotationSession, list[int]],
) -> None:
    panel, canvas, _session, ids = setup
    activated: list[int] = []
    panel.shape_activated.connect(activated.append)
    dclick(panel.tree.viewport(), row_point(panel, 2))
    assert activated == [ids[2]]
    assert canvas.zoom() >= 1.0
    centre = canvas.mapToScene(canvas.viewport().rect().center())
    assert (centre.x(), centre.y()) == pytest.approx((180.0, 150.0), abs=2.0)


def test_editor_sets_group_description_label_and_flags(
    setup: tuple[ShapeListPanel, CanvasView, AnnotationSession, list[int]], tmp_path: Path
) -> None:
    panel, _canvas, session, ids = setup
    editor = panel.editor
    stack = session.undo_stack
    assert stack is not None
    QTest.mouseClick(panel.tree.viewport(), LEFT, NO, row_point(panel, 0))
    assert list(editor.shape_flags.boxes) == ["occluded", "through_hole"]
    editor.group_edit.setFocus()
    editor.group_edit.selectAll()
    QTest.keyClicks(editor.group_edit, "7")
    QTest.keyClick(editor.group_edit, Qt.Key.Key_Return)
    assert session.shape(ids[0]).group_id == 7 and stack.undoText() == "Edit shape"
    editor.description_edit.setFocus()
    QTest.keyClicks(editor.description_edit, "deep, near edge")
    QTest.keyClick(editor.description_edit, Qt.Key.Key_Return)
    assert session.shape(ids[0]).description == "deep, near edge"
    click_box(editor.shape_flags.boxes["through_hole"])
    assert session.shape(ids[0]).flags == {"through_hole": True}
    line = editor.label_combo.lineEdit()
    assert line is not None
    line.setFocus()
    line.selectAll()
    QTest.keyClicks(line, "contamination")
    QTest.keyClick(line, Qt.Key.Key_Return)
    assert session.shape(ids[0]).label == "zang_wu"
    # Two shapes that differ: the flag box is partly checked; a click checks it on both.
    QTest.mouseClick(panel.tree.viewport(), LEFT, CTRL, row_point(panel, 2))
    assert session.selection == {ids[0], ids[2]}
    box = editor.shape_flags.boxes["occluded"]
    click_box(box)
    assert all(session.shape(i).flags.get("occluded") for i in (ids[0], ids[2]))
    # Image flags, undoable, saved into the LabelMe file.
    click_box(editor.image_flags.boxes["blurry"])
    assert session.image_flags == {"blurry": True}
    assert stack.undoText() == "Change image flags"
    stack.undo()
    assert session.image_flags == {}
    assert editor.image_flags.boxes["blurry"].checkState() == Qt.CheckState.Unchecked
    stack.redo()
    session.save()
    saved = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    assert saved["flags"] == {"blurry": True}
    assert load_document(tmp_path / "a.json").shapes[0].description == "deep, near edge"


def test_toggle_all_shapes_and_canvas_zoom_keys(setup: Setup) -> None:
    panel, canvas, session, ids = setup
    session.set_hidden([ids[0]], True)
    panel.toggle_all_shapes()  # some shown: hide all
    assert all(session.is_hidden(i) for i in ids)
    assert all(it.checkState(0) == Qt.CheckState.Unchecked for it in panel._items())
    panel.toggle_all_shapes()
    assert not any(session.is_hidden(i) for i in ids)
    canvas.fit_width()
    assert canvas.zoom() == pytest.approx((canvas.viewport().width() - 8) / 240, rel=1e-3)
    before = canvas.zoom()
    canvas.zoom_by(1)
    assert canvas.zoom() == pytest.approx(before * 1.25)


def test_rows_stay_right_through_adds_deletes_and_undo(qtbot: QtBot, tmp_path: Path) -> None:
    """Rows of shapes that came or went are inserted/taken in place, the other rows are left
    alone; after any sequence of edits and undos the list reads exactly as one built afresh."""
    session = AnnotationSession(demo_class_table())
    session.open(tmp_path / "a.png", tmp_path / "a.json", (400, 400))
    panel = ShapeListPanel(session)
    qtbot.addWidget(panel)
    labels = [c.label for c in demo_class_table().classes[1:]]
    rng = np.random.default_rng(3)

    def triangle(i: int) -> Shape:
        x = float(i % 50) * 7
        return Shape(labels[i % len(labels)], ((x, 1.0), (x + 5, 1.0), (x + 2, 6.0)))

    session.add_shapes([triangle(i) for i in range(40)])
    first = panel.tree.topLevelItem(0)
    session.add_shapes([triangle(99)])
    # one shape added at the end: the first row is the same row, not a rebuilt one
    assert panel.tree.topLevelItem(0) is first
    stack = session.undo_stack
    assert stack is not None
    for step in range(40):
        ids = session.shape_ids
        action = rng.integers(0, 4)
        if action == 0 and ids:
            session.remove_shapes(list(rng.choice(ids, size=min(len(ids), 3), replace=False)))
        elif action == 1:
            session.add_shapes([triangle(100 + step), triangle(200 + step)])
        elif action == 2 and stack.canUndo():
            stack.undo()
        elif stack.canRedo():
            stack.redo()
        session.set_hidden(session.shape_ids[:1], True)
        fresh = ShapeListPanel(session)
        assert rows(panel) == rows(fresh), f"step {step}"
        assert panel.label_texts() == fresh.label_texts()
        assert panel.tree.topLevelItemCount() == len(session.shape_ids)
        fresh.deleteLater()


def rows(panel: ShapeListPanel) -> list[tuple[tuple[str, str, str], Qt.CheckState, Qt.CheckState]]:
    """Each row's texts with its visibility and lock check boxes."""
    items = [panel.tree.topLevelItem(r) for r in range(panel.tree.topLevelItemCount())]
    return [
        (texts, item.checkState(0), item.checkState(3))
        for texts, item in zip(panel.row_texts(), items, strict=True)
    ]
