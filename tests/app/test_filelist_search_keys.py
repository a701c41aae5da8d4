"""Issue 11, bug 4: search and filters with real key events on the FileListPanel.

Enter in the search box opens the match, Down moves into the list on it, Esc clears the search;
a search or filter that hides the image on screen makes the first image it lets through current.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from inspector_app.filelist.model import FileListModel
from inspector_app.filelist.view import FileListPanel
from inspector_app.services.review_log import ReviewRecord

pytestmark = pytest.mark.gui

NAMES = ["1.png", "2.png", "3.png", "10.png", "11.png"]


@pytest.fixture
def panel(qtbot: QtBot, tmp_path: Path) -> FileListPanel:
    model = FileListModel()
    model.reset(tmp_path)
    model.append_names(NAMES)
    panel = FileListPanel(model)
    qtbot.addWidget(panel)
    panel.resize(300, 400)
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.select_row(0)
    return panel


def name(panel: FileListPanel) -> str:
    row = panel.current_row()
    assert row is not None
    return panel.model.entry(row).name


def test_typing_a_search_that_hides_the_image_opens_the_first_match(
    qtbot: QtBot, panel: FileListPanel
) -> None:
    opened: list[int] = []
    filtered: list[tuple[int, int]] = []
    panel.current_changed.connect(opened.append)
    panel.filter_changed.connect(lambda shown, total: filtered.append((shown, total)))
    panel.search.setFocus()
    QTest.keyClicks(panel.search, "1")  # 1.png, 10.png, 11.png: the image on screen stays
    assert opened == [] and name(panel) == "1.png"
    QTest.keyClicks(panel.search, "0")  # only 10.png: 1.png must not stay up
    assert filtered[-1] == (1, 5)
    qtbot.waitUntil(lambda: opened == [3], timeout=2000)  # once typing pauses
    assert name(panel) == "10.png"


def test_typing_opens_only_the_final_match(qtbot: QtBot, panel: FileListPanel) -> None:
    """Each keystroke narrows the list at once, but only where typing stops is an image opened:
    "2" would hide 1.png and open 2.png, "3" would open 3.png - neither is loaded on the way."""
    opened: list[int] = []
    panel.current_changed.connect(opened.append)
    panel.search.setFocus()
    for text in ("2", "3", "11"):
        panel.search.clear()
        QTest.keyClicks(panel.search, text)
    assert opened == []  # typing has not paused yet
    qtbot.waitUntil(lambda: opened == [4], timeout=2000)
    qtbot.wait(2 * panel.FOLLOW_DELAY_MS)
    assert opened == [4] and name(panel) == "11.png"


def test_enter_opens_the_match_and_escape_clears(qtbot: QtBot, panel: FileListPanel) -> None:
    activated: list[int] = []
    cleared: list[bool] = []
    panel.match_activated.connect(activated.append)
    panel.search_cleared.connect(lambda: cleared.append(True))
    QTest.keyClicks(panel.search, "3")
    QTest.keyClick(panel.search, Qt.Key.Key_Return)
    assert activated == [2] and name(panel) == "3.png"
    QTest.keyClick(panel.search, Qt.Key.Key_Escape)
    assert panel.search.text() == "" and cleared == [True]
    assert panel.proxy.rowCount() == len(NAMES) and name(panel) == "3.png"
    # Enter on the image already on screen (it matches) keeps it and still hands the keys back.
    QTest.keyClicks(panel.search, ".png")
    QTest.keyClick(panel.search, Qt.Key.Key_Enter)
    assert activated == [2, 2]


def test_down_moves_into_the_list_and_enter_there_activates(qtbot: QtBot, panel: FileListPanel) -> None:
    activated: list[int] = []
    panel.match_activated.connect(activated.append)
    panel.activateWindow()
    panel.search.setFocus()
    QTest.keyClicks(panel.search, "1")
    QTest.keyClick(panel.search, Qt.Key.Key_Down)
    qtbot.waitUntil(panel.view.hasFocus, timeout=2000)
    QTest.keyClick(panel.view, Qt.Key.Key_Down)  # the list's own key: next match
    assert name(panel) == "10.png"
    QTest.keyClick(panel.view, Qt.Key.Key_Return)
    assert activated == [3]
    QTest.keyClick(panel.view, Qt.Key.Key_Escape)
    assert panel.search.text() == ""


def test_ng_filter_that_hides_the_image_moves_to_the_first_ng(panel: FileListPanel) -> None:
    panel.model.set_review("11.png", ReviewRecord("11.png", "NG"))
    panel.model.set_review("2.png", ReviewRecord("2.png", "NG"))
    panel.set_filter("ng")
    assert name(panel) == "2.png"
    # A filter that still shows the image on screen leaves it alone.
    panel.set_filter("all")
    assert name(panel) == "2.png"


def test_selecting_a_hidden_row_opens_only_that_row(panel: FileListPanel) -> None:
    """select_row widens the filter to reach a hidden row: no other image opens on the way (the
    image on screen may itself be hidden already, e.g. reviewed under "Unreviewed")."""
    panel.search.setText("1")  # 1.png, 10.png, 11.png; 1.png on screen
    panel.set_filter("unreviewed")
    panel.model.set_review("1.png", ReviewRecord("1.png", "OK"))  # hides the image on screen
    assert name(panel) == "1.png"
    opened: list[int] = []
    panel.current_changed.connect(opened.append)
    assert panel.select_row(2)  # 3.png: hidden by the search
    assert opened == [2] and name(panel) == "3.png"
