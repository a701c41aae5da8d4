"""Per-source capture settings in Live mode: edited in the tile's dialog, applied to the running
video-file source (it reopens), saved in the project and read back when the project reopens."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from inspector_app.main_window import MainWindow
from inspector_app.services.live.source_store import SOURCES_FILE
from inspector_app.widgets.source_settings import SourceSettingsDialog
from tests.app.test_station_support import make_folder
from tests.live_streams import write_clip
from tests.onnx_factory import rgb4

pytestmark = pytest.mark.gui
WAIT_MS = 10_000


@pytest.fixture
def win(qtbot, tmp_path: Path) -> Iterator[MainWindow]:
    make_folder(tmp_path / "project", 1)
    make_folder(tmp_path / "other", 1)
    window = MainWindow(operator="tester")
    qtbot.addWidget(window)
    window.resize(1100, 750)
    window.show()
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        assert window.open_path(tmp_path / "project")
    with qtbot.waitSignal(window.model_settled, timeout=WAIT_MS):
        window.station.prediction.load_model(rgb4(tmp_path / "m.onnx"))
    yield window
    window.shutdown()


def _open_dialog(qtbot, win: MainWindow) -> SourceSettingsDialog:
    qtbot.mouseClick(win.live_mode.tiles[0].settings_button, Qt.MouseButton.LeftButton)
    dialogs = [d for d in win.findChildren(SourceSettingsDialog) if d.isVisible()]
    assert len(dialogs) == 1
    return dialogs[0]


def test_source_settings_are_applied_saved_and_reloaded(qtbot, win: MainWindow, tmp_path: Path) -> None:
    mode, live = win.live_mode, win.live_mode.live
    clip = write_clip(tmp_path / "clip.avi", frames=20, width=96, height=64)
    win.modes.switch("live")
    mode.source_edit.setText(str(clip))
    assert mode.add_typed_source()
    qtbot.mouseClick(mode.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: live.state == "running" and live.shown(0) is not None, timeout=WAIT_MS)

    # The dialog shows what the backend reports for the running file: its real size and rate.
    dialog = _open_dialog(qtbot, win)
    assert "96 x 64 px" in dialog.actual.text() and "30.0 fps" in dialog.actual.text()
    assert dialog.fps_box.value() == 0.0 and not dialog.exposure_check.isChecked()
    dialog.fps_box.setValue(12.0)
    dialog.read_timeout.setValue(3.5)
    first_pipeline = live.pipeline
    ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)  # type: ignore[union-attr]
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)

    # Applied: the pipeline restarted and the source reopened with the new settings.
    qtbot.waitUntil(lambda: live.state == "running" and live.pipeline is not first_pipeline, timeout=WAIT_MS)
    assert live.pipeline is not None
    source = live.pipeline.workers[0].source
    assert source.settings.fps == 12.0 and source.settings.read_timeout_s == 3.5  # type: ignore[attr-defined]
    # Saved per source in the project.
    stored = json.loads((tmp_path / "project" / ".inspector" / SOURCES_FILE).read_text())
    assert stored["sources"][str(clip)]["fps"] == 12.0
    assert stored["sources"][str(clip)]["read_timeout_s"] == 3.5

    # Another project knows nothing of them; reopening this one brings them back.
    qtbot.mouseClick(mode.stop_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(win.image_shown, timeout=WAIT_MS):
        assert win.open_path(tmp_path / "other")
    assert live.source_settings(str(clip)).fps == 0.0
    with qtbot.waitSignal(win.image_shown, timeout=WAIT_MS):
        assert win.open_path(tmp_path / "project")
    assert live.source_settings(str(clip)).fps == 12.0
    dialog = _open_dialog(qtbot, win)
    assert dialog.fps_box.value() == 12.0 and dialog.read_timeout.value() == 3.5
    assert dialog.actual.text().startswith("not running")
    dialog.reject()
