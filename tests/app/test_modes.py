"""Station modes: a new mode plugs in through ``ModeHost.add`` alone; switching by keys swaps the
side page, the mode's tool-bar actions and its hooks (real key events on the real window)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QToolBar, QWidget

from inspector_app.main_window import MainWindow
from inspector_app.modes import StationMode
from tests.app.test_station_support import make_folder

pytestmark = pytest.mark.gui
WAIT_MS = 15_000


class ProbeMode(StationMode):
    """A third mode, as Live or Training will be: its own page, one tool-bar action, hooks."""

    name = "probe"
    title = "Probe"

    def __init__(self) -> None:
        self.label = QLabel("probe page")
        self.action = QAction("Probe action")
        self.calls: list[str] = []

    def page(self) -> QWidget:
        return self.label

    def toolbar_actions(self) -> Sequence[QAction]:
        return (self.action,)

    def activate(self) -> None:
        self.calls.append("activate")

    def deactivate(self) -> None:
        self.calls.append("deactivate")


@pytest.fixture
def win(qtbot, tmp_path: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    make_folder(tmp_path / "project", 3)
    window = MainWindow(operator="tester")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        assert window.open_path(tmp_path / "project")
    window.canvas.setFocus()
    yield window
    window.shutdown()


def _mode_bar(window: MainWindow) -> QToolBar:
    bar = window.findChild(QToolBar, "modeToolBar")
    assert bar is not None
    return bar


def test_review_and_annotate_are_registered_and_switched_by_keys(qtbot, win: MainWindow) -> None:  # type: ignore[no-untyped-def]
    # Review and Annotate first (Ctrl+1, Ctrl+2); Live and other modes follow.
    assert win.modes.names()[:2] == ["review", "annotate"] and win.modes.current() == "review"
    assert "training" in win.modes.names() and "live" in win.modes.names()
    assert win.review_mode.page().isVisible() and win.prediction_panel.isVisible()
    qtbot.keyClick(win.canvas, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert win.modes.current() == "annotate"
    assert win.annotate_mode.page().isVisible() and not win.review_mode.page().isVisible()
    assert win.prediction_panel.isVisible()  # the shared panel moved into the Annotate page
    assert win.annotate_mode.page().isAncestorOf(win.prediction_panel)
    # Verdict keys belong to Review: pressing O here records nothing.
    recorded: list[object] = []
    win.verdict_recorded.connect(lambda *args: recorded.append(args))
    qtbot.keyClick(win.canvas, Qt.Key.Key_O)
    assert recorded == [] and not win.actions_.verdict_ok.isEnabled()
    qtbot.keyClick(win.canvas, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert win.modes.current() == "review" and win.review_mode.page().isAncestorOf(win.prediction_panel)
    with qtbot.waitSignal(win.verdict_recorded, timeout=WAIT_MS) as rec:
        qtbot.keyClick(win.canvas, Qt.Key.Key_O)
    assert rec.args == ["img_0.png", "OK"]


def test_a_new_mode_plugs_in_without_touching_the_others(qtbot, win: MainWindow) -> None:  # type: ignore[no-untyped-def]
    probe = ProbeMode()
    before = win.modes.names()
    switch = win.modes.add(probe)
    assert win.modes.names() == [*before, "probe"] and switch.text() == "Probe"
    bar = _mode_bar(win)
    assert probe.action not in bar.actions()
    key = Qt.Key(Qt.Key.Key_0.value + len(before) + 1)  # the next free Ctrl+N
    qtbot.keyClick(win.canvas, key, Qt.KeyboardModifier.ControlModifier)
    assert win.modes.current() == "probe" and probe.calls == ["activate"]
    assert probe.label.isVisible() and probe.action in bar.actions()
    qtbot.keyClick(win.canvas, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert probe.calls == ["activate", "deactivate"] and probe.action not in bar.actions()
    with pytest.raises(ValueError, match="probe"):
        win.modes.add(ProbeMode())
