"""Issue 11 in the real window (pytest-qt, offscreen): the Shapes and Defects docks, the canvas
context menu, the labelme keys, NG categories from a folder's classes.yaml and the file list's
region counts filled in by the background pass. Real key and mouse events; public API only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from inspector_app.core.classes import ClassTable
from inspector_app.filelist.view import count_text
from inspector_app.main_window import MainWindow
from inspector_app.widgets.labelme_keys import clashes
from inspector_app.widgets.station_actions import shortcuts_text
from tests.app.test_station_support import make_folder, make_model

pytestmark = pytest.mark.gui
WAIT_MS = 15_000
RED_CENTRE = (17.0, 12.0)  # image coordinates of the red patch (class "red" of the rgb4 model)
GREEN_CENTRE = (50.0, 35.0)
CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier


def _open(qtbot: QtBot, root: Path, model: Path) -> MainWindow:
    window = MainWindow(operator="tester")
    qtbot.addWidget(window)
    window.resize(1400, 860)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    with qtbot.waitSignal(window.model_settled, timeout=WAIT_MS):
        window.station.prediction.load_model(model)
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        assert window.open_path(root)
    qtbot.waitUntil(lambda: window.station.prediction.mask is not None, timeout=WAIT_MS)
    window.canvas.setFocus()
    return window


@pytest.fixture
def win(qtbot: QtBot, tmp_path: Path) -> Iterator[MainWindow]:
    root = tmp_path / "project"
    make_folder(root, 4)
    window = _open(qtbot, root, make_model(tmp_path / "rgb4.onnx"))
    yield window
    window.shutdown()


def _click_image(qtbot: QtBot, win: MainWindow, x: float, y: float) -> None:
    canvas = win.canvas
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=canvas.mapFromScene(QPointF(x, y)))


def _accept_all(qtbot: QtBot, win: MainWindow) -> None:
    qtbot.keyClick(win.canvas, Qt.Key.Key_2, CTRL)  # Annotate mode
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return, CTRL)  # Accept prediction (all classes)
    assert len(win.station.annotation.session.shape_ids) == 2


def test_shape_dock_follows_canvas_clicks_and_the_accept_notice_goes_at_the_next_edit(
    qtbot: QtBot, win: MainWindow
) -> None:
    _accept_all(qtbot, win)
    assert "2 shape(s) added" in win.notice.text()
    shapes = win.shape_list
    assert win.docks.shapes_dock.isVisible() and len(shapes.row_texts()) == 2
    session = win.station.annotation.session
    _click_image(qtbot, win, *RED_CENTRE)  # a plain click selects that one shape (bug 2)
    (red,) = session.selection
    assert shapes.selected_ids() == [red]
    # The other way: a click on the other row selects its shape on the canvas.
    tree = shapes.tree
    other = next(
        i for i in range(tree.topLevelItemCount()) if shapes.row_texts()[i][0] != shapes.row_texts()[0][0]
    )
    rect = tree.visualItemRect(tree.topLevelItem(other))
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert len(session.selection) == 1 and session.selection != {red}
    qtbot.keyClick(win.canvas, Qt.Key.Key_Delete)  # the next edit ends the accept notice
    assert len(session.shape_ids) == 1 and len(shapes.row_texts()) == 1
    assert win.notice.text() == ""


def test_canvas_context_menu_records_a_verdict_from_the_window(qtbot: QtBot, win: MainWindow) -> None:
    canvas, seen = win.canvas, []

    def choose() -> None:
        menu = canvas.context_menu
        assert menu is not None
        seen.extend(a.text() for a in menu.actions() if not a.isSeparator())
        (ok,) = [a for a in menu.actions() if a.text() == "Verdict OK"]
        QTest.mouseClick(
            menu, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, menu.actionGeometry(ok).center()
        )

    QTimer.singleShot(50, choose)
    local = canvas.mapFromScene(QPointF(*GREEN_CENTRE))
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, local, canvas.viewport().mapToGlobal(local))
    with qtbot.waitSignal(win.verdict_recorded, timeout=WAIT_MS) as blocker:
        QApplication.sendEvent(canvas.viewport(), event)
    assert blocker.args == ["img_0.png", "OK"]
    assert "Accept prediction (all classes)" in seen and "Verdict NG" in seen
    assert any(t.startswith("Accept this predicted") for t in seen)  # the canvas's own entries stay


def test_g_steps_through_the_defect_regions_at_one_to_one_or_more(qtbot: QtBot, win: MainWindow) -> None:
    navigator = win.navigator
    rows = navigator.row_texts()
    assert [r[0] for r in rows] == ["red defect", "green defect"]  # largest first
    assert all(r[3] for r in rows)  # a confidence for every region (the service was asked for it)
    qtbot.keyClick(win.canvas, Qt.Key.Key_G)
    assert navigator.current_index() == 0 and win.canvas.zoom() >= 1.0
    qtbot.keyClick(win.canvas, Qt.Key.Key_G)
    assert navigator.current_index() == 1
    qtbot.keyClick(win.canvas, Qt.Key.Key_G, SHIFT)
    assert navigator.current_index() == 0
    # Another image: the navigator lists that image's regions only (none while predicting).
    with qtbot.waitSignal(win.prediction_shown, timeout=WAIT_MS):
        qtbot.keyClick(win.canvas, Qt.Key.Key_D)
    assert navigator.current_index() == -1 and len(navigator.row_texts()) == 2


def test_labelme_keys_and_new_actions_in_the_window(qtbot: QtBot, win: MainWindow) -> None:
    canvas, tools = win.canvas, win.actions_.tools
    assert not clashes(win.actions())  # no key bound twice anywhere in the window
    qtbot.keyClick(canvas, Qt.Key.Key_P, SHIFT)
    assert canvas.tool == "freehand" and tools["freehand"].isChecked()
    qtbot.keyClick(canvas, Qt.Key.Key_N, CTRL)  # labelme's Ctrl+N: polygon
    assert canvas.tool == "polygon" and tools["polygon"].isChecked()
    qtbot.keyClick(canvas, Qt.Key.Key_J, CTRL)  # labelme's Ctrl+J: edit (select)
    assert canvas.tool == "select"
    before = canvas.zoom()
    qtbot.keyClick(canvas, Qt.Key.Key_Equal, CTRL)
    assert canvas.zoom() > before
    qtbot.keyClick(canvas, Qt.Key.Key_Minus, CTRL)
    assert canvas.zoom() == pytest.approx(before)
    qtbot.keyClick(canvas, Qt.Key.Key_F, CTRL | SHIFT)  # fit width: the image width fills the view
    assert canvas.zoom() * 64 == pytest.approx(canvas.viewport().width(), rel=0.05)
    _accept_all(qtbot, win)
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_T)  # hide every shape, then show them again
    session = win.station.annotation.session
    assert all(session.is_hidden(i) for i in session.shape_ids)
    qtbot.keyClick(canvas, Qt.Key.Key_T)
    assert not any(session.is_hidden(i) for i in session.shape_ids)
    help_text = shortcuts_text(win.actions_)
    for text in ("Freehand", "Edit label…", "Fit width", "Next defect region", "Shapes panel"):
        assert text in help_text
    toggle = next(a for a in win.actions_.view_extra if a.text() == "Defects panel")
    toggle.trigger()
    assert not win.docks.defects_dock.isVisible()


def test_toolbar_undo_keeps_its_width_and_has_an_icon(qtbot: QtBot, win: MainWindow) -> None:
    bar = win.toolbar
    undo = next(a for a in bar.actions() if a.text().startswith("Undo"))
    button = bar.widgetForAction(undo)
    width, after = button.width(), bar.widgetForAction(win.actions_.tools["select"]).x()
    _accept_all(qtbot, win)
    assert "Accept" in undo.text() or len(undo.text()) > 4
    assert not undo.icon().isNull() and button.width() == width
    assert bar.widgetForAction(win.actions_.tools["select"]).x() == after


def test_ng_categories_come_from_the_folders_classes_yaml(qtbot: QtBot, tmp_path: Path) -> None:
    root = tmp_path / "folder"
    make_folder(root, 2)
    ClassTable.from_labels(["dent", "scratch"]).save(root / "classes.yaml")
    window = _open(qtbot, root, make_model(tmp_path / "rgb4.onnx"))
    try:
        combo = window.review_mode.verdict_bar.category
        offered = [combo.itemText(i) for i in range(combo.count())]
        # The folder's classes, then the labels the model added (offered too), then "other".
        assert offered[:3] == ["", "dent", "scratch"] and offered[-1] == "other"
        assert [c.name for c in window.station.annotation.class_table.classes[1:3]] == ["dent", "scratch"]
        assert len(offered) == 1 + len(window.station.annotation.class_table.classes[1:]) + 1
    finally:
        window.shutdown()


def test_the_file_list_counts_every_images_regions_in_the_background(
    qtbot: QtBot, win: MainWindow, tmp_path: Path
) -> None:
    files = win.station.navigation.files
    # Only img_0 was shown; the others are counted by the background pass.
    qtbot.waitUntil(lambda: all(e.predicted is not None for e in files.entries()), timeout=WAIT_MS)
    assert win.station.navigation.current_name == "img_0.png"
    for entry in files.entries():
        assert entry.predicted == {"red": 1, "green": 1}
        assert count_text(entry) == " · 2 found"
    assert win.station.prediction.inference.background_left == 0
    assert win.station.count_in_background() == 0  # nothing left for this model
    # Another model counts every image again (the counts were the old model's), in the background.
    counted: list[str] = []
    win.station.prediction.background_counted.connect(lambda name, _regions: counted.append(name))
    with qtbot.waitSignal(win.model_settled, timeout=WAIT_MS):
        win.station.prediction.load_model(make_model(tmp_path / "other.onnx", "rgb4-b"))
    qtbot.waitUntil(lambda: len(counted) == 3, timeout=WAIT_MS)
    assert sorted(counted) == ["img_1.png", "img_2.png", "img_3.png"]  # img_0 by its shown prediction


def test_the_background_pass_ends_with_the_project_and_skips_unreadable_files(
    qtbot: QtBot, tmp_path: Path
) -> None:
    root = tmp_path / "project"
    make_folder(root, 3)
    window = _open(qtbot, root, make_model(tmp_path / "rgb4.onnx"))
    try:
        other = tmp_path / "other"
        make_folder(other, 2)
        (other / "img_9.png").write_bytes(b"not an image")
        with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
            assert window.open_path(other)
        files = window.station.navigation.files
        readable = [e for e in files.entries() if e.name != "img_9.png"]
        qtbot.waitUntil(lambda: all(e.predicted is not None for e in readable), timeout=WAIT_MS)
        assert [e.name for e in files.entries()] == ["img_0.png", "img_1.png", "img_9.png"]
        qtbot.waitUntil(lambda: window.station.prediction.inference.background_left == 0, timeout=WAIT_MS)
        assert files.entries()[2].predicted is None
        assert window.station.count_in_background() == 0  # the unreadable file is not tried again
    finally:
        window.shutdown()


def test_background_answers_of_an_earlier_pass_or_an_unreadable_file_count_for_nothing(
    qtbot: QtBot, tmp_path: Path
) -> None:
    from inspector_app.jobs.inference import InferenceService

    service = InferenceService()
    try:
        with qtbot.waitSignal(service.model_changed, timeout=WAIT_MS):
            service.load_model(make_model(tmp_path / "rgb4.onnx"))
        names = make_folder(tmp_path / "one", 40)  # a red and a green patch each
        plain = tmp_path / "two"  # the same names, nothing to find
        plain.mkdir()
        for name in names:
            cv2.imwrite(str(plain / name), np.full((48, 64, 3), 40, np.uint8))
        (plain / "broken.png").write_bytes(b"not an image")
        answers: list[tuple[str, int]] = []
        service.background_predicted.connect(
            lambda name, result: answers.append((name, sum(r for _a, r in result.stats[1:])))
        )
        service.predict_in_background([(n, tmp_path / "one" / n) for n in names])
        qtbot.waitUntil(lambda: bool(answers), timeout=WAIT_MS)  # the first pass is running
        first = len(answers)
        # Another project with the same names replaces the pass while one of its images is predicted.
        service.predict_in_background([(n, plain / n) for n in [*names, "broken.png"]])
        qtbot.waitUntil(lambda: service.background_left == 0, timeout=WAIT_MS)
        qtbot.wait(100)
        later = answers[first:]
        assert sorted(name for name, _ in later) == sorted(names)  # each once; broken.png: none
        assert all(regions == 0 for _name, regions in later)  # all of them the plain images'
    finally:
        service.shutdown()


def test_predict_folder_dialog_names_the_model(qtbot: QtBot, win: MainWindow) -> None:
    from inspector_app.widgets.batch_dialog import BatchDialog

    qtbot.keyClick(win.canvas, Qt.Key.Key_P, CTRL | SHIFT)
    dialog = win.findChild(BatchDialog)
    assert dialog is not None and dialog.isVisible()
    assert dialog.model_name == "RGB test model"  # the card's name, not "rgb4.onnx"
    dialog.close()


def test_enter_in_the_search_opens_the_match_and_gives_the_keys_back_to_the_image(
    qtbot: QtBot, win: MainWindow
) -> None:
    qtbot.keyClick(win.canvas, Qt.Key.Key_F, CTRL)
    search = win.file_panel.search
    assert search.hasFocus()
    with qtbot.waitSignal(win.image_shown, timeout=WAIT_MS) as blocker:
        qtbot.keyClicks(search, "img_2")
    assert blocker.args == ["img_2.png"]  # the only match is opened (bug 4)
    qtbot.keyClick(search, Qt.Key.Key_Return)
    assert win.canvas.hasFocus()  # so D / A / O / N work again at once
    qtbot.keyClick(win.canvas, Qt.Key.Key_F, CTRL)
    qtbot.keyClick(search, Qt.Key.Key_Escape)  # clears the search, focus back to the image
    assert search.text() == "" and win.canvas.hasFocus()


def test_the_background_count_shows_what_is_left_and_can_be_turned_off(qtbot: QtBot, tmp_path: Path) -> None:
    root = tmp_path / "project"
    make_folder(root, 12)
    window = MainWindow(operator="tester")
    qtbot.addWidget(window)
    try:
        toggle = next(a for a in window.actions_.view_extra if a.text() == "Count regions of every image")
        assert toggle.isChecked()
        toggle.trigger()  # off before anything is open
        with qtbot.waitSignal(window.model_settled, timeout=WAIT_MS):
            window.station.prediction.load_model(make_model(tmp_path / "rgb4.onnx"))
        with qtbot.waitSignal(window.prediction_shown, timeout=WAIT_MS):
            assert window.open_path(root)
        files, status = window.station.navigation.files, window.status
        qtbot.wait(300)
        assert [e.name for e in files.entries() if e.predicted is not None] == ["img_0.png"]  # the one shown
        assert status.count_label.text() == ""
        lefts: list[int] = []
        window.station.prediction.background_progressed.connect(lefts.append)
        toggle.trigger()  # on: the other 11 are counted, the status bar counts down to nothing
        assert lefts[0] == 11 and status.count_label.text() == "Counting regions: 11 left"
        qtbot.waitUntil(lambda: all(e.predicted is not None for e in files.entries()), timeout=WAIT_MS)
        assert lefts[-1] == 0 and lefts == sorted(lefts, reverse=True)
        assert status.count_label.text() == ""
    finally:
        window.shutdown()
