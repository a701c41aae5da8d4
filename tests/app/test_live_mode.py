"""Live mode in the real window with a video-file source and real ONNX models: start, results
drawn, pause (frozen, zoomable), snapshot into the project, model switch while running, a verdict
rule change, stop; bad sources give a clear message without freezing the window."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QTableWidget

from inspector_app.core.annotations import load_document
from inspector_app.main_window import MainWindow
from inspector_app.services.live.rules import load_rules, rules_path
from inspector_app.services.live.station_settings import load_live_settings
from inspector_app.widgets.rules_editor import DEFAULT_ROW
from tests.app.test_station_support import make_folder
from tests.live_streams import free_port, write_clip
from tests.onnx_factory import rgb4

pytestmark = pytest.mark.gui
WAIT_MS = 10_000


@pytest.fixture
def win(qtbot, tmp_path: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    make_folder(tmp_path / "project", 2)
    window = MainWindow(operator="tester")
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        assert window.open_path(tmp_path / "project")
    with qtbot.waitSignal(window.model_settled, timeout=WAIT_MS):
        window.station.prediction.load_model(rgb4(tmp_path / "m1.onnx"))
    yield window
    window.shutdown()


def _enter_live(qtbot, win: MainWindow) -> None:  # type: ignore[no-untyped-def]
    key = Qt.Key(Qt.Key.Key_0.value + win.modes.names().index("live") + 1)
    qtbot.keyClick(win.canvas, key, Qt.KeyboardModifier.ControlModifier)
    assert win.modes.current() == "live"
    assert win.live_mode.grid_widget.isVisible() and not win.canvas.isVisible()


def _type_source(qtbot, win: MainWindow, text: str) -> None:  # type: ignore[no-untyped-def]
    edit = win.live_mode.source_edit
    edit.clear()
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def _set_cell(table: QTableWidget, label: str, column: int, text: str) -> None:
    rows = [table.item(r, 0).text() for r in range(table.rowCount())]  # type: ignore[union-attr]
    assert label in rows, rows
    cell = table.item(rows.index(label), column)
    assert cell is not None
    cell.setText(text)


def test_live_mode_runs_a_video_source(qtbot, win: MainWindow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    mode, live = win.live_mode, win.live_mode.live
    clip = write_clip(tmp_path / "clip.avi", frames=30)
    _enter_live(qtbot, win)
    _type_source(qtbot, win, str(clip))
    assert live.sources == [str(clip)] and len(mode.tiles) == 1 and mode.source_edit.text() == ""
    # NG capture on, verdict lines to a file: taken at start, remembered in the project.
    qtbot.mouseClick(mode.ng_check, Qt.MouseButton.LeftButton)
    lines = tmp_path / "verdicts.jsonl"
    qtbot.keyClicks(mode.lines_edit, str(lines))
    qtbot.keyClick(mode.lines_edit, Qt.Key.Key_Return)
    assert live.settings.ng_capture and live.settings.lines_path == str(lines)
    qtbot.mouseClick(mode.start_button, Qt.MouseButton.LeftButton)
    assert live.state in ("starting", "running") and not mode.start_button.isEnabled()
    qtbot.waitUntil(lambda: live.state == "running", timeout=WAIT_MS)
    tile = mode.tiles[0]
    qtbot.waitUntil(lambda: live.shown(0) is not None, timeout=WAIT_MS)
    # The moving red square is a 'red' region: NG under the default rules (any defect pixel).
    first = live.shown(0)
    assert first is not None and first.result.verdict.verdict == "NG" and tile.badge.text() == "NG"
    assert first.image.width() == 160 and not tile.view.scene().items()[0].boundingRect().isEmpty()
    qtbot.waitUntil(lambda: "frames 0 ·" not in tile.counters.text(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: tile.state.text().startswith("live"), timeout=WAIT_MS)

    # Pause: the frame stays (capture goes on), and the wheel zooms the frozen frame.
    qtbot.mouseClick(mode.pause_button, Qt.MouseButton.LeftButton)
    assert live.state == "paused"
    frozen = live.shown(0)
    qtbot.wait(300)
    assert live.shown(0) is frozen
    zoom = tile.view.transform().m11()
    centre = QPointF(tile.view.viewport().rect().center())
    wheel = QWheelEvent(
        centre,
        tile.view.viewport().mapToGlobal(centre),
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(tile.view.viewport(), wheel)
    assert tile.view.transform().m11() > zoom * 1.2

    # Snapshot: image + predicted LabelMe JSON that the core reads back (with its image).
    snap_button = next(b for b in tile.findChildren(type(mode.start_button)) if b.text() == "Snapshot")
    qtbot.mouseClick(snap_button, Qt.MouseButton.LeftButton)
    snaps = sorted((tmp_path / "project" / "live_snapshots").glob("*.json"))
    assert len(snaps) == 1
    document = load_document(snaps[0], check_image=True)
    assert {s.label for s in document.shapes} == {"red"}
    assert frozen is not None and f"_f{frozen.result.frame_id}" in snaps[0].stem
    qtbot.mouseClick(mode.pause_button, Qt.MouseButton.LeftButton)
    assert live.state == "running"

    # The station's model changes: the stream switches without stopping.
    old_id = frozen.result.model_id
    with qtbot.waitSignal(live.model_switched, timeout=WAIT_MS) as switched:
        win.station.prediction.load_model(rgb4(tmp_path / "m2.onnx", name="second", model_id="test-0002"))
    new_id = switched.args[0]
    assert new_id != old_id and live.state == "running"
    qtbot.waitUntil(lambda: (s := live.shown(0)) is not None and s.result.model_id == new_id, timeout=WAIT_MS)

    # A verdict rule change: 'red' up to 5000 px (and every other class) is OK now; saved.
    _set_cell(mode.rules_editor.table, "red", 1, "5000")
    _set_cell(mode.rules_editor.table, DEFAULT_ROW, 1, "5000")
    changed_at = time.monotonic()
    qtbot.mouseClick(mode.rules_editor.apply, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: (s := live.shown(0)) is not None and s.result.captured > changed_at, timeout=WAIT_MS
    )
    shown = live.shown(0)
    assert shown is not None and shown.result.verdict.verdict == "OK" and tile.badge.text() == "OK"
    saved = load_rules(rules_path(tmp_path / "project" / ".inspector"))
    assert saved.rule_for("red").max_area_px == 5000

    qtbot.mouseClick(mode.stop_button, Qt.MouseButton.LeftButton)
    assert live.state == "stopped" and live.pipeline is None and mode.start_button.isEnabled()
    # NG frames were captured (readable by the core), every verdict went out as a JSON line.
    captured = sorted((tmp_path / "project" / "live_captures").glob("*.json"))
    assert captured and load_document(captured[0], check_image=True).shapes
    records = [json.loads(line) for line in lines.read_text(encoding="utf-8").splitlines()]
    assert records and {r["verdict"] for r in records} == {"NG", "OK"}
    assert {r["model_id"] for r in records} == {"test-0001", "test-0002"}
    # Sources and settings are remembered in the project.
    remembered = load_live_settings(tmp_path / "project" / ".inspector")
    assert remembered.sources == (str(clip),) and remembered.ng_capture


def test_bad_sources_give_clear_messages_and_never_freeze(qtbot, win: MainWindow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    mode, live = win.live_mode, win.live_mode.live
    _enter_live(qtbot, win)
    _type_source(qtbot, win, str(tmp_path / "missing.avi"))
    assert (
        live.sources == [] and "missing.avi" in mode.message.text() and "no such file" in mode.message.text()
    )
    _type_source(qtbot, win, "ftp://camera/stream")
    assert live.sources == [] and "unsupported URL scheme" in mode.message.text()
    # A dead stream: accepted, started, shown as connecting/reconnecting, the window keeps ticking.
    dead = f"http://127.0.0.1:{free_port()}/video"
    _type_source(qtbot, win, dead)
    assert live.sources == [dead]
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(10)
    qtbot.mouseClick(mode.start_button, Qt.MouseButton.LeftButton)
    tile = mode.tiles[0]
    qtbot.waitUntil(lambda: tile.state.text().split(":")[0] in ("reconnecting", "failed"), timeout=WAIT_MS)
    timer.stop()
    assert dead in tile.state.text() and "cannot connect" in tile.state.text()
    assert len(ticks) > 10  # the event loop ran while the stream failed
    qtbot.mouseClick(mode.stop_button, Qt.MouseButton.LeftButton)
    assert live.state == "stopped"
