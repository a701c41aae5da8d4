"""Tool bar icons and steady buttons (issue 11): the Undo text changing length ("Undo" → "Undo
Delete 5 shapes") no longer moves the buttons after it; every icon is drawn and distinct."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QAction, QUndoCommand, QUndoStack
from PySide6.QtWidgets import QLabel, QMainWindow, QToolBar
from pytestqt.qtbot import QtBot

from inspector_app.widgets.toolbar_icons import ICON_NAMES, action_icon, style_toolbar

pytestmark = pytest.mark.gui


def test_undo_text_does_not_shift_the_buttons_after_it(qtbot: QtBot) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    window.setCentralWidget(QLabel("image"))
    bar = QToolBar("Main", window)
    window.addToolBar(bar)
    stack = QUndoStack(window)
    undo, redo = stack.createUndoAction(window, "Undo"), stack.createRedoAction(window, "Redo")
    undo.setShortcut("Ctrl+Z")
    save = QAction("Save annotations", window)
    accept = QAction("Accept prediction (all classes)", window)
    for action in (save, undo, redo, accept):
        bar.addAction(action)
    style_toolbar(bar, {save: "save", undo: "undo", redo: "redo", accept: "accept"}, icon_only=(undo, redo))
    window.resize(900, 100)
    window.show()
    qtbot.waitExposed(window)
    before = bar.widgetForAction(accept).x()
    stack.push(QUndoCommand("Delete 5 shapes"))
    stack.push(QUndoCommand("Accept prediction of every class at once"))
    stack.undo()
    qtbot.wait(20)
    assert bar.widgetForAction(accept).x() == before
    assert undo.toolTip().startswith("Undo Delete 5 shapes") and "Ctrl+Z" in undo.toolTip()
    assert redo.toolTip().startswith("Redo Accept prediction")
    assert not undo.icon().isNull() and not accept.icon().isNull()


def test_every_icon_is_drawn_and_they_differ(qtbot: QtBot) -> None:
    images = {}
    for name in ICON_NAMES:
        image = action_icon(name).pixmap(16, 16).toImage()
        opaque = sum(1 for y in range(16) for x in range(16) if image.pixelColor(x, y).alpha() > 60)
        assert opaque >= 8, name
        images[name] = bytes(image.constBits())  # type: ignore[call-overload]
    assert len(set(images.values())) == len(ICON_NAMES)
    with pytest.raises(ValueError, match="no icon named"):
        action_icon("teapot")
