"""LabelDialog with real key events: digits pick a class, typing filters, a new label can be typed."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from inspector_app.core.classes import ClassTable
from inspector_app.widgets.label_dialog import LabelDialog

pytestmark = pytest.mark.gui

TABLE = ClassTable.from_labels(["ca_shang", "zang_wu", "zhe_zhou", "zhen_kong"])


def _dialog(qtbot: QtBot, current: str | None = None) -> LabelDialog:
    dialog = LabelDialog(TABLE, current=current)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_digit_picks_the_class_with_that_index(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot)
    QTest.keyClick(dialog.edit, Qt.Key.Key_3)
    assert dialog.result() == QDialog.DialogCode.Accepted and dialog.label() == "zhe_zhou"


def test_typing_filters_and_enter_takes_the_match(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot)
    QTest.keyClicks(dialog.edit, "kong")
    visible = [
        dialog.list.item(i).data(Qt.ItemDataRole.UserRole)
        for i in range(dialog.list.count())
        if not dialog.list.item(i).isHidden()
    ]
    assert visible == ["zhen_kong"]
    QTest.keyClick(dialog.edit, Qt.Key.Key_Return)
    assert dialog.label() == "zhen_kong"


def test_digits_type_once_text_is_there_and_a_new_label_is_accepted(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot)
    QTest.keyClicks(dialog.edit, "burr2")
    assert dialog.edit.text() == "burr2" and dialog.result() != QDialog.DialogCode.Accepted
    QTest.keyClick(dialog.edit, Qt.Key.Key_Return)
    assert dialog.label() == "burr2"


def test_arrows_move_and_current_is_preselected(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot, current="zang_wu")
    assert dialog.list.currentItem().data(Qt.ItemDataRole.UserRole) == "zang_wu"
    QTest.keyClick(dialog.edit, Qt.Key.Key_Down)
    QTest.keyClick(dialog.edit, Qt.Key.Key_Enter)
    assert dialog.label() == "zhe_zhou"


def test_escape_cancels(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot)
    QTest.keyClick(dialog.edit, Qt.Key.Key_Escape)
    assert dialog.result() == QDialog.DialogCode.Rejected and dialog.label() is None


def test_background_is_not_offered(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot)
    labels = {dialog.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(dialog.list.count())}
    assert labels == set(TABLE.labels[1:])
