"""The station end to end in-process (pytest-qt, offscreen): real key events on the real window."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from inspector_app.app import apply_style
from inspector_app.main_window import MainWindow
from inspector_app.services.file_entries import Status
from inspector_app.services.review_log import content_hash
from tests.app.test_station_support import make_folder, make_model, write_labelme

pytestmark = pytest.mark.gui
WAIT_MS = 15_000


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    make_folder(root, 6)
    return root


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return make_model(tmp_path / "rgb4.onnx")


def _open(qtbot, path: Path, *, model: Path | None = None) -> MainWindow:  # type: ignore[no-untyped-def]
    window = MainWindow(operator="tester")
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    if model is not None:
        with qtbot.waitSignal(window.model_settled, timeout=WAIT_MS):
            window.station.prediction.load_model(model)
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        assert window.open_path(path)
    window.canvas.setFocus()
    return window


@pytest.fixture
def win(qtbot, folder: Path, model: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    window = _open(qtbot, folder, model=model)
    qtbot.waitUntil(lambda: window.station.prediction.mask is not None, timeout=WAIT_MS)
    yield window
    window.shutdown()


def _key(qtbot, window: MainWindow, key: Qt.Key, expect: str) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS) as blocker:
        qtbot.keyClick(window.canvas, key)
    assert blocker.args == [expect]


def test_navigate_with_keys(qtbot, win: MainWindow) -> None:  # type: ignore[no-untyped-def]
    assert win.station.navigation.current_name == "img_0.png"
    _key(qtbot, win, Qt.Key.Key_D, "img_1.png")
    _key(qtbot, win, Qt.Key.Key_PageDown, "img_2.png")
    _key(qtbot, win, Qt.Key.Key_A, "img_1.png")
    _key(qtbot, win, Qt.Key.Key_PageUp, "img_0.png")
    # The status bar shows size, the model and its timing once the prediction is there.
    qtbot.waitUntil(lambda: win.station.prediction.mask is not None, timeout=WAIT_MS)
    assert "64 x 48" in win.status.image_label.text()
    assert "RGB test model" in win.status.model_label.text()
    assert "ms" in win.status.model_label.text()


def test_keys_work_while_the_list_has_focus(qtbot, win: MainWindow) -> None:  # type: ignore[no-untyped-def]
    view = win.file_panel.view
    view.setFocus()
    assert view.hasFocus()
    with qtbot.waitSignal(win.image_shown, timeout=WAIT_MS) as blocker:
        qtbot.keyClick(view, Qt.Key.Key_D)
    assert blocker.args == ["img_1.png"]
    with qtbot.waitSignal(win.verdict_recorded, timeout=WAIT_MS) as rec:
        qtbot.keyClick(view, Qt.Key.Key_N)
    assert rec.args == ["img_1.png", "NG"]


def test_legend_shows_prediction_stats(qtbot, win: MainWindow) -> None:  # type: ignore[no-untyped-def]
    rows = win.legend.row_texts()
    assert [r[0] for r in rows] == ["red defect", "green defect", "blue defect"]
    # 15x25 red patch and 10x20 green patch on 64x48 = 3072 px.
    assert rows[0][1:] == ("375", "12.21 %", "1")
    assert rows[1][1:] == ("200", "6.51 %", "1")
    assert rows[2][1:] == ("0", "0 %", "0")
    # Hiding a class in the legend reaches the canvas.
    win.legend.set_class_visible(2, False)
    assert win.legend.visible_classes() == [1, 3]


def test_cursor_layers_opacity_and_model_card(qtbot, win: MainWindow) -> None:  # type: ignore[no-untyped-def]
    from inspector_app.widgets.model_picker import describe_card

    canvas = win.canvas
    qtbot.mouseMove(canvas.viewport(), canvas.mapFromScene(10.5, 10.5))  # inside the red patch
    qtbot.waitUntil(lambda: "red defect" in win.status.cursor_label.text(), timeout=WAIT_MS)
    assert "x 10, y 10" in win.status.cursor_label.text()
    assert "255,0,0" in win.status.cursor_label.text()
    # Layer toggles: buttons, menu actions and the L key agree.
    qtbot.mouseClick(win.legend.mode_buttons["annotation"], Qt.MouseButton.LeftButton)
    assert win.actions_.layers["annotation"].isChecked()
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_L)
    assert win.legend.layer_mode() == "both" and win.actions_.layers["both"].isChecked()
    win.legend.opacity.setValue(80)
    assert win.legend.opacity_label.text() == "80 %"
    assert (
        win.station.navigation.project is not None
        and win.station.navigation.project.settings.overlay_opacity == 0.8
    )
    model = win.station.prediction.model
    assert model is not None
    html = describe_card(model.card, model.path)
    for text in ("RGB test model", "red defect", "green defect", "miou", "synthetic", "rgb4-a"):
        assert text in html


def test_verdict_keys_write_sqlite_and_reopen_restores(qtbot, win: MainWindow, folder: Path) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(win.verdict_recorded, timeout=WAIT_MS) as rec:
        qtbot.keyClick(win.canvas, Qt.Key.Key_O)
    assert rec.args == ["img_0.png", "OK"]
    qtbot.waitUntil(
        lambda: win.station.navigation.current_name == "img_1.png", timeout=WAIT_MS
    )  # next unreviewed
    qtbot.waitUntil(lambda: win.station.prediction.mask is not None, timeout=WAIT_MS)
    win.review_mode.verdict_bar.category.setEditText("scratch")
    win.review_mode.verdict_bar.comment.setText("long mark")
    win.canvas.setFocus()
    with qtbot.waitSignal(win.verdict_recorded, timeout=WAIT_MS) as rec:
        qtbot.keyClick(win.canvas, Qt.Key.Key_N)
    assert rec.args == ["img_1.png", "NG"]
    assert win.review_mode.verdict_bar.comment.text() == ""  # inputs cleared after recording

    # Written by the review writer thread, in order.
    qtbot.waitUntil(lambda: win.station.review.waiting() == 0, timeout=WAIT_MS)
    db = folder / ".inspector" / "review.sqlite"
    rows = (
        sqlite3.connect(db)
        .execute(
            "SELECT image, verdict, operator, category, comment, model_id, class_areas, content_hash "
            "FROM reviews"
        )
        .fetchall()
    )
    assert [r[:5] for r in rows] == [
        ("img_0.png", "OK", "tester", "", ""),
        ("img_1.png", "NG", "tester", "scratch", "long mark"),
    ]
    assert rows[1][5] == "rgb4-a"
    assert '"red": 375' in rows[1][6] and len(rows[1][7]) == 32
    # the digest (computed in the loader thread) is the file's own
    assert [r[7] for r in rows] == [content_hash(folder / "img_0.png"), content_hash(folder / "img_1.png")]
    assert win.review_mode.summary.values["ng"].text() == "1"
    assert win.review_mode.summary.values["ng_rate"].text() == "50.0 %"
    win.shutdown()
    win.close()

    again = _open(qtbot, folder)
    status = {e.name: e.status for e in again.station.navigation.files.entries()}
    assert status["img_0.png"] == Status.OK
    assert status["img_1.png"] == Status.NG
    assert again.review_mode.summary.values["reviewed"].text() == "2 / 6"
    again.shutdown()


def test_filter_and_search(qtbot, win: MainWindow) -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClick(win.canvas, Qt.Key.Key_N)  # img_0 NG, moves on
    qtbot.waitUntil(lambda: win.station.navigation.current_name == "img_1.png", timeout=WAIT_MS)
    panel = win.file_panel
    panel.set_filter("ng")
    assert panel.proxy.rowCount() == 1
    panel.set_filter("unreviewed")
    assert panel.proxy.rowCount() == 5
    panel.set_filter("all")
    # Search with real typing after Ctrl+F.
    qtbot.keyClick(win.canvas, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert panel.search.hasFocus()
    qtbot.keyClicks(panel.search, "g_4")
    assert panel.proxy.rowCount() == 1
    # The search hid img_1: its only match is shown instead (issue 11, bug 4); the letters typed
    # triggered no single-key shortcut (no verdict, no step to another image).
    qtbot.waitUntil(lambda: win.station.navigation.current_name == "img_4.png", timeout=WAIT_MS)
    assert win.file_panel.model.unreviewed_count() == 5


def test_csv_export(qtbot, win: MainWindow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    win.review_mode.record_verdict("NG")
    qtbot.waitUntil(lambda: win.station.navigation.current_name == "img_1.png", timeout=WAIT_MS)
    win.review_mode.record_verdict("OK")
    out = tmp_path / "out.csv"
    assert win.station.review.export_csv(out) == 2
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("image,verdict,category,comment,operator,time,model_id")
    assert lines[1].startswith("img_0.png,NG,")
    assert lines[2].startswith("img_1.png,OK,")


def test_model_load_failure_keeps_previous(qtbot, win: MainWindow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"this is not an onnx file")
    before = win.station.prediction.model
    assert before is not None
    with qtbot.waitSignal(win.model_settled, timeout=WAIT_MS):
        win.station.prediction.load_model(bad, remember=True)
    assert win.station.prediction.model is before
    notice = win.notice.label.text()
    assert "broken.onnx" in notice and "Still using RGB test model" in notice
    assert win.notice.level == "error"
    assert "Could not load broken.onnx" in win.prediction_panel.model_picker.detail_label.text()
    # Predictions still work with the kept model.
    _key(qtbot, win, Qt.Key.Key_D, "img_1.png")
    qtbot.waitUntil(lambda: win.station.prediction.mask is not None, timeout=WAIT_MS)


def test_accept_prediction_and_save_with_ctrl_s(qtbot, win: MainWindow, folder: Path) -> None:  # type: ignore[no-untyped-def]
    assert win.station.accept_prediction(None) == 2  # one red region, one green region
    assert win.station.annotation.session.is_dirty
    assert win.station.navigation.files.entry(0).dirty and win.isWindowModified()
    # The save is written by the writer thread: "saving…" at once, "saved" when it is booked.
    with qtbot.waitSignal(win.station.annotation.saved, timeout=WAIT_MS):
        qtbot.keyClick(win.canvas, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
        assert win.status.save_label.text() == "saving…"
    assert (folder / "img_0.json").is_file()
    assert not win.station.annotation.session.is_dirty and not win.station.navigation.files.entry(0).dirty
    assert win.station.navigation.files.entry(0).shape_counts == {"red": 1, "green": 1}
    # One class only, then undo with the real key.
    stack = win.station.annotation.session.undo_stack
    assert stack is not None
    win.station.accept_prediction([2])
    assert win.station.annotation.session.is_dirty
    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not win.station.annotation.session.is_dirty


def test_polygon_drawn_with_mouse_is_autosaved_on_switch(qtbot, win: MainWindow, folder: Path) -> None:  # type: ignore[no-untyped-def]
    canvas = win.canvas
    canvas.set_current_label("blue")
    qtbot.keyClick(canvas, Qt.Key.Key_P)  # polygon tool
    assert canvas.tool == "polygon"
    for x, y in ((10, 10), (30, 10), (30, 30)):
        qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=canvas.mapFromScene(x, y))
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    assert [s.label for s in win.station.annotation.session.state.shapes] == ["blue"]
    assert win.station.navigation.files.entry(0).dirty
    with qtbot.waitSignal(win.station.annotation.saved, timeout=WAIT_MS):
        _key(qtbot, win, Qt.Key.Key_D, "img_1.png")
    assert (folder / "img_0.json").is_file()  # saved when leaving the image
    assert not win.station.navigation.files.entry(0).dirty


def test_save_failure_is_shown_and_edits_kept(qtbot, win: MainWindow, folder: Path) -> None:  # type: ignore[no-untyped-def]
    win.station.accept_prediction(None)
    blocker = folder / "img_0.json"
    blocker.mkdir()  # something that is not a LabelMe file sits where the JSON goes
    (blocker / "x").write_text("x")
    with qtbot.waitSignal(win.station.annotation.save_failed, timeout=WAIT_MS):
        assert win.station.annotation.save_current()  # started; the writer thread fails
    assert win.status.save_label.text() == "save failed"
    assert win.notice.level == "error" and "img_0.json" in win.notice.label.text()
    assert win.station.annotation.session.is_dirty and win.station.navigation.files.entry(0).dirty
    (blocker / "x").unlink()
    blocker.rmdir()
    with qtbot.waitSignal(win.station.annotation.saved, timeout=WAIT_MS):
        assert win.station.annotation.save_current()
    assert blocker.is_file()


def test_unreadable_json_and_unknown_labels(qtbot, folder: Path, model: Path) -> None:  # type: ignore[no-untyped-def]
    (folder / "img_1.json").write_text("{ not json")
    write_labelme(folder / "img_2.json", ["weird_label"], "img_2.png")
    window = _open(qtbot, folder, model=model)
    try:
        _key(qtbot, window, Qt.Key.Key_D, "img_1.png")
        assert window.station.navigation.files.entry(1).status == Status.UNREADABLE
        assert "unreadable" in window.notice.label.text() and "img_1.json" in window.notice.label.text()
        _key(qtbot, window, Qt.Key.Key_D, "img_2.png")
        assert "weird_label" in window.notice.label.text()
        classes = (folder / ".inspector" / "classes.yaml").read_text()
        assert "weird_label" in classes
    finally:
        window.shutdown()


def test_style_applies() -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_style(app)
    assert app.style().name().lower() == "fusion"


def test_accept_leaves_out_specks() -> None:
    import numpy as np

    from inspector_app.controllers.annotation import without_specks

    mask = np.zeros((20, 20), np.uint8)
    mask[2:8, 2:8] = 1  # 36 px region: kept
    mask[15, 15] = 1  # 1 px speck: dropped
    mask[10:12, 10:12] = 2  # 4 px: dropped at min_area 5, kept at 4
    cleaned = without_specks(mask, 5)
    assert cleaned[3, 3] == 1 and cleaned[15, 15] == 0 and cleaned[10, 10] == 0
    assert without_specks(mask, 4)[10, 10] == 2
    assert without_specks(mask, 0) is mask


def test_autosave_timer_saves_edits(qtbot, win: MainWindow, folder: Path) -> None:  # type: ignore[no-untyped-def]
    assert win.station.navigation.project is not None
    win.station.navigation.project.settings.autosave_seconds = 1
    win.station.annotation.restart_autosave()
    win.station.accept_prediction(None)
    assert win.station.annotation.session.is_dirty
    qtbot.waitUntil(lambda: not win.station.annotation.session.is_dirty, timeout=WAIT_MS)
    assert (folder / "img_0.json").is_file()
    assert win.status.save_label.text().startswith("saved")


def test_save_while_unreadable_image_shown_marks_edited_one(qtbot, win: MainWindow, folder: Path) -> None:  # type: ignore[no-untyped-def]
    # When the next image cannot be decoded, img_0's shapes must not stay editable over the blank
    # canvas; its unsaved edits stay in the session, Ctrl+S writes img_0.json, and the list must
    # say so for img_0, not for the image on screen.
    assert win.station.navigation.project is not None
    win.station.navigation.project.settings.autosave_on_switch = False
    win.station.accept_prediction(None)
    (folder / "img_4.png").write_bytes(b"not a png")
    win.file_panel.select_row(4)
    qtbot.waitUntil(lambda: "Cannot read img_4.png" in win.notice.label.text(), timeout=WAIT_MS)
    assert (
        win.station.annotation.session.image_path is None
        and win.station.annotation.session.state.shapes == ()
    )
    assert win.station.navigation.files.entry(0).dirty
    assert win.station.annotation.save_current()  # no image held: saves all and waits
    assert (folder / "img_0.json").is_file()
    assert not win.station.navigation.files.entry(0).dirty
    assert win.station.navigation.files.entry(0).shape_counts == {"red": 1, "green": 1}
    assert win.station.navigation.files.entry(4).shape_counts != {"red": 1, "green": 1}
