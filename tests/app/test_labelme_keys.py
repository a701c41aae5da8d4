"""labelme's keys and the new features' keys added to the station's actions clash with nothing."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow
from pytestqt.qtbot import QtBot

from inspector_app.widgets.labelme_keys import ALIASES, NEW_ACTIONS, add_aliases, build_new_actions, clashes
from inspector_app.widgets.station_actions import build_actions

pytestmark = pytest.mark.gui

#: Keys the canvas handles itself (its tools and gestures); a window action on them would win.
CANVAS_KEYS = ("[", "]", "Del", "Backspace", "Return", "Esc", "Space", "Ctrl+A", "Ctrl+D")


def test_no_two_actions_share_a_key(qtbot: QtBot) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    station = build_actions(window)

    def lookup(name: str) -> QAction | None:
        if name.startswith("tools."):
            return station.tools.get(name.split(".", 1)[1])
        found = getattr(station, name, None)
        return found if isinstance(found, QAction) else None

    assert add_aliases(lookup) == []
    new = build_new_actions(window)
    assert set(new) == {n for n, *_ in NEW_ACTIONS}
    everything = window.actions()
    assert clashes(everything) == {}
    taken = {s.toString() for a in everything for s in a.shortcuts()}
    assert not taken & {QKeySequence(k).toString() for k in CANVAS_KEYS}
    assert "Ctrl+N" in [s.toString() for s in station.tools["polygon"].shortcuts()]
    assert all(QKeySequence(k).toString() in taken for keys in ALIASES.values() for k in keys)
    # labelme's Ctrl+E and Ctrl+F keep their station meaning (export, search): not re-bound.
    assert [s.toString() for s in station.export_csv.shortcuts()] == ["Ctrl+E"]


def test_clashes_are_reported(qtbot: QtBot) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    a, b = QAction("Export", window), QAction("Edit label", window)
    a.setShortcut("Ctrl+E")
    b.setShortcut("Ctrl+E")
    assert clashes([a, b]) == {"Ctrl+E": ["Export", "Edit label"]}
