"""Notice bar: a visible, dismissable message above the image (errors stay until dismissed).

A notice about an edit ("5 shapes added") is stale once the operator edits again or undoes it:
show it with ``until_edit=True`` and connect :meth:`NoticeBar.note_edit` to the session's
``shapes_changed``; the first edit signal after the notice went up takes it down.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, SignalInstance
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

#: level -> (background, text, border)
_STYLES = {
    "info": ("#1e3a5f", "#e3f2fd", "#42a5f5"),
    "warning": ("#4a3b00", "#ffecb3", "#ffb300"),
    "error": ("#5c1a1a", "#ffebee", "#ef5350"),
}


class NoticeBar(QFrame):
    """Shows one message at a time. Info notices hide after a while; warnings and errors stay."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noticeBar")
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setOpenExternalLinks(False)
        self.close_button = QToolButton(self)
        self.close_button.setText("✕")
        self.close_button.setToolTip("Dismiss")
        self.close_button.setAutoRaise(True)
        self.close_button.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.close_button)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.dismiss)
        self.level = ""
        #: Every message shown (newest last), for the log and for tests.
        self.history: list[tuple[str, str]] = []
        self._until_edit = False
        self.hide()

    def show_message(
        self, text: str, level: str = "info", timeout_ms: int | None = None, *, until_edit: bool = False
    ) -> None:
        """Show ``text``; ``level`` is info / warning / error. With ``until_edit`` the notice
        also goes when :meth:`note_edit` is called next (show it after the edit it reports)."""
        self.level = level
        self._until_edit = until_edit
        self.history.append((level, text))
        self.label.setText(text)
        background, text_color, border = _STYLES.get(level, _STYLES["info"])
        self.setStyleSheet(
            f"QFrame#noticeBar {{ background: {background}; border: 1px solid {border};"
            " border-radius: 4px; }"
            f"QFrame#noticeBar QLabel {{ color: {text_color}; }}"
            f"QFrame#noticeBar QToolButton {{ color: {text_color}; }}"
        )
        self.show()
        if timeout_ms is None:
            timeout_ms = 6000 if level == "info" else 0
        if timeout_ms > 0:
            self._timer.start(timeout_ms)
        else:
            self._timer.stop()

    def text(self) -> str:
        """The message on display ("" when hidden)."""
        return self.label.text() if self.isVisible() or not self.isHidden() else ""

    def dismiss(self) -> None:
        """Hide the message."""
        self._timer.stop()
        self.level = ""
        self._until_edit = False
        self.hide()

    def note_edit(self, *_args: object) -> None:
        """An edit (or undo) happened: a notice shown ``until_edit`` is out of date and goes."""
        if self._until_edit and not self.isHidden():
            self.dismiss()

    def follow_edits(self, signal: SignalInstance) -> None:
        """Call :meth:`note_edit` on every emission of ``signal`` (the session's ``shapes_changed``)."""
        signal.connect(self.note_edit)
