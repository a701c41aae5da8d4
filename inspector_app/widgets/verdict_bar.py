"""Verdict bar: big OK / NG buttons with their keys, optional category and comment, next unreviewed."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from inspector_app.services.review_log import ReviewRecord

#: Single keys of the verdicts (window shortcuts; shown on the buttons).
OK_KEY = "O"
NG_KEY = "N"
NEXT_UNREVIEWED_KEY = "U"

_OK_STYLE = """
QPushButton#verdictOK { background: #2e7d32; color: white; font-size: 15px; font-weight: 700;
  border-radius: 6px; padding: 10px; }
QPushButton#verdictOK:hover { background: #388e3c; }
QPushButton#verdictOK:pressed, QPushButton#verdictOK:checked {
  background: #1b5e20; border: 3px solid #a5d6a7; }
QPushButton#verdictOK:disabled { background: #3a3d3a; color: #7d847d; border: 1px solid #4a4f4a; }
"""
_NG_STYLE = """
QPushButton#verdictNG { background: #c62828; color: white; font-size: 15px; font-weight: 700;
  border-radius: 6px; padding: 10px; }
QPushButton#verdictNG:hover { background: #d32f2f; }
QPushButton#verdictNG:pressed, QPushButton#verdictNG:checked {
  background: #8e0000; border: 3px solid #ef9a9a; }
QPushButton#verdictNG:disabled { background: #3d3a3a; color: #847d7d; border: 1px solid #4f4a4a; }
"""


class VerdictBar(QWidget):
    """Signals: ``verdict_requested(str)`` ("OK"/"NG"), ``next_unreviewed_requested()``,
    ``editing_finished()`` (Enter in the comment: give the keyboard back to the image)."""

    verdict_requested = Signal(str)
    next_unreviewed_requested = Signal()
    editing_finished = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ok_button = QPushButton(f"OK   [{OK_KEY}]", self)
        self.ok_button.setObjectName("verdictOK")
        self.ok_button.setStyleSheet(_OK_STYLE)
        self.ok_button.setToolTip(f"Record the image as good (key {OK_KEY})")
        self.ng_button = QPushButton(f"NG   [{NG_KEY}]", self)
        self.ng_button.setObjectName("verdictNG")
        self.ng_button.setStyleSheet(_NG_STYLE)
        self.ng_button.setToolTip(f"Record the image as defective (key {NG_KEY})")
        for button in (self.ok_button, self.ng_button):
            button.setCheckable(True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the image
            button.setMinimumHeight(44)

        self.category = QComboBox(self)
        self.category.setEditable(True)
        self.category.setToolTip("Defect category recorded with an NG verdict (optional)")
        category_edit = self.category.lineEdit()
        assert category_edit is not None  # editable combo boxes always have one
        category_edit.setPlaceholderText("category (optional)")
        self.comment = QLineEdit(self)
        self.comment.setPlaceholderText("comment (optional)")
        self.comment.setToolTip("Comment recorded with the next verdict; Enter returns to the image")
        self.next_button = QPushButton(f"Next unreviewed  [{NEXT_UNREVIEWED_KEY}]", self)
        self.next_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.advance = QCheckBox("Go to next unreviewed after a verdict", self)
        self.advance.setChecked(True)
        self.current = QLabel(f"Not reviewed — press {OK_KEY} or {NG_KEY}", self)
        self.current.setObjectName("verdictCurrent")
        self.current.setWordWrap(True)

        buttons = QHBoxLayout()
        buttons.addWidget(self.ok_button, 1)
        buttons.addWidget(self.ng_button, 1)
        form = QGridLayout()
        form.addWidget(QLabel("Category", self), 0, 0)
        form.addWidget(self.category, 0, 1)
        form.addWidget(QLabel("Comment", self), 1, 0)
        form.addWidget(self.comment, 1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.current)
        layout.addLayout(form)
        layout.addWidget(self.advance)
        layout.addWidget(self.next_button)

        self.ok_button.clicked.connect(lambda: self._request("OK"))
        self.ng_button.clicked.connect(lambda: self._request("NG"))
        self.next_button.clicked.connect(self.next_unreviewed_requested)
        self.comment.returnPressed.connect(self.editing_finished)
        category_edit.returnPressed.connect(self.editing_finished)

    def _request(self, verdict: str) -> None:
        # The checked state follows the record, not the click (set_current sets it).
        self.ok_button.setChecked(False)
        self.ng_button.setChecked(False)
        self.verdict_requested.emit(verdict)

    def set_categories(self, categories: Sequence[str]) -> None:
        """Offer these categories (an empty first entry = none)."""
        text = self.category.currentText()
        self.category.clear()
        self.category.addItem("")
        self.category.addItems(list(categories))
        self.category.setCurrentText(text)

    def category_text(self) -> str:
        """The chosen category (stripped)."""
        return self.category.currentText().strip()

    def comment_text(self) -> str:
        """The typed comment (stripped)."""
        return self.comment.text().strip()

    def clear_inputs(self) -> None:
        """Empty category and comment (after a verdict was recorded)."""
        self.category.setCurrentIndex(0)
        self.category.setEditText("")
        self.comment.clear()

    def set_current(self, record: ReviewRecord | None) -> None:
        """Show the image's current verdict (or "Not reviewed")."""
        self.ok_button.setChecked(record is not None and record.verdict == "OK")
        self.ng_button.setChecked(record is not None and record.verdict == "NG")
        if record is None:
            self.current.setText(f"Not reviewed — press {OK_KEY} or {NG_KEY}")
            self.current.setStyleSheet("color: palette(mid);")
            return
        parts = [f"<b>{record.verdict}</b>"]
        if record.category:
            parts.append(record.category)
        if record.operator:
            parts.append(record.operator)
        if record.time:
            parts.append(record.time.replace("T", " ")[:16])
        if record.comment:
            parts.append(f"“{record.comment}”")
        self.current.setText("Verdict: " + " · ".join(parts))
        self.current.setStyleSheet("color: #43a047;" if record.verdict == "OK" else "color: #e53935;")

    def set_enabled_for_image(self, enabled: bool) -> None:
        """Disable the verdict buttons when no image is open (greyed, and the hint says so)."""
        self.ok_button.setEnabled(enabled)
        self.ng_button.setEnabled(enabled)
        if not enabled:
            self.current.setText("No image open")
            self.current.setStyleSheet("color: palette(mid);")
        elif self.current.text() == "No image open":
            self.set_current(None)
