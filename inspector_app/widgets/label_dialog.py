"""Label picker: choose a class of the class table, or type a new label.

``LabelDialog(class_table, parent=None, current=None)``; ``LabelDialog.ask(...) -> str | None``.

Keys: typing filters the list (label or display name, case-insensitive); Up/Down move in it;
Enter takes the highlighted class, or the typed text as a NEW label when nothing matches;
digits 1..9 pressed while the text box is empty pick class 1..9 directly and close the dialog;
Escape cancels. Double-click on a class takes it.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QColor, QIcon, QKeyEvent, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector_app.core.classes import ClassTable

__all__ = ["LabelDialog"]

_LABEL_ROLE = Qt.ItemDataRole.UserRole


def _swatch(rgb: tuple[int, int, int], size: int = 14) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(*rgb))
    return QIcon(pixmap)


class LabelDialog(QDialog):
    """Modal picker of a label (see the module docstring for the keys)."""

    def __init__(
        self,
        class_table: ClassTable,
        parent: QWidget | None = None,
        current: str | None = None,
        title: str = "Label",
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self._chosen: str | None = None
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText("Type to filter, or a new label")
        self.edit.setClearButtonEnabled(True)
        self.list = QListWidget(self)
        for info in list(class_table)[1:]:
            shown = info.name if info.name == info.label else f"{info.name}  ({info.label})"
            text = f"{info.index}  {shown}" if info.index <= 9 else f"    {shown}"
            item = QListWidgetItem(_swatch(info.color), text)
            item.setData(_LABEL_ROLE, info.label)
            item.setToolTip(info.label)
            self.list.addItem(item)
        self.hint = QLabel("1-9: pick class  ·  Enter: OK  ·  Esc: cancel", self)
        self.hint.setStyleSheet("color: gray")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self._on_buttons_accepted)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.edit)
        layout.addWidget(self.list)
        layout.addWidget(self.hint)
        layout.addWidget(buttons)
        self.edit.textChanged.connect(self._on_edit_text_changed)
        self.list.itemDoubleClicked.connect(self._on_list_item_double_clicked)
        self.edit.installEventFilter(self)
        self.list.installEventFilter(self)
        self._select(current)
        self.edit.setFocus()

    # ------------------------------------------------------------------ API
    def label(self) -> str | None:
        """The chosen label after ``exec()`` returned Accepted, else None."""
        return self._chosen

    @classmethod
    def ask(
        cls, class_table: ClassTable, parent: QWidget | None = None, current: str | None = None
    ) -> str | None:
        """Run the dialog modally; the chosen label or None when cancelled."""
        dialog = cls(class_table, parent, current)
        try:
            return dialog.label() if dialog.exec() == QDialog.DialogCode.Accepted else None
        finally:
            dialog.deleteLater()

    # ------------------------------------------------------------------ internals
    def _visible_items(self) -> list[QListWidgetItem]:
        return [self.list.item(i) for i in range(self.list.count()) if not self.list.item(i).isHidden()]

    def _select(self, label: str | None) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).data(_LABEL_ROLE) == label:
                self.list.setCurrentRow(i)
                return
        if self.list.count():
            self.list.setCurrentRow(0)

    def _finish(self, label: str) -> None:
        label = label.strip()
        if label:
            self._chosen = label
            self.accept()

    def _on_edit_text_changed(self, text: str) -> None:
        needle = text.strip().lower()
        for i in range(self.list.count()):
            item = self.list.item(i)
            hay = f"{item.data(_LABEL_ROLE)} {item.text()}".lower()
            item.setHidden(bool(needle) and needle not in hay)
        visible = self._visible_items()
        exact = [it for it in visible if it.data(_LABEL_ROLE) == text.strip()]
        if exact or visible:
            self.list.setCurrentItem((exact or visible)[0])
        else:
            self.list.setCurrentRow(-1)

    def _on_list_item_double_clicked(self, item: QListWidgetItem) -> None:
        self._finish(str(item.data(_LABEL_ROLE)))

    def _on_buttons_accepted(self) -> None:
        item = self.list.currentItem()
        if item is not None and not item.isHidden():
            self._finish(str(item.data(_LABEL_ROLE)))
        else:
            self._finish(self.edit.text())

    def _pick_digit(self, digit: int) -> bool:
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.text().split(" ", 1)[0] == str(digit):
                self._finish(str(item.data(_LABEL_ROLE)))
                return True
        return False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Digits pick a class while the text box is empty; arrows and Enter drive the list."""
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return super().eventFilter(watched, event)
        key = event.key()
        if (
            Qt.Key.Key_1 <= key <= Qt.Key.Key_9
            and not self.edit.text()
            and not (event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier)
        ):
            return self._pick_digit(key - Qt.Key.Key_0)
        if watched is self.edit and key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            visible = self._visible_items()
            if visible:
                cur = self.list.currentItem()
                pos = visible.index(cur) if cur in visible else -1
                pos = max(0, min(len(visible) - 1, pos + (1 if key == Qt.Key.Key_Down else -1)))
                self.list.setCurrentItem(visible[pos])
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._on_buttons_accepted()
            return True
        return super().eventFilter(watched, event)
