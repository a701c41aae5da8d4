"""The verdict-rules editor: per class, NG above a max area (px) or share (%), min confidence.

One row per defect class of the model plus "(other classes)" (the default rule). An empty cell
switches that test off. ``rules_edited(VerdictRules)`` when Apply is pressed with valid cells;
invalid cells are named in :attr:`error` and nothing is emitted.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector_app.services.live.rules import ClassRule, RulesError, VerdictRules

__all__ = ["RulesEditor"]

DEFAULT_ROW = "(other classes)"
_COLUMNS = ("Class", "Max px", "Max %", "Min conf.")


def _text(value: float | int | None) -> str:
    return "" if value is None else f"{value:g}"


class RulesEditor(QWidget):
    """See the module doc."""

    rules_edited = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, len(_COLUMNS), self)
        self.table.setHorizontalHeaderLabels(_COLUMNS)
        tips = (
            "",
            "NG above this area (px); empty: off",
            "NG above this share of the frame (%); empty: off",
            "pixels below this probability are not counted (0..1)",
        )
        for column, tip in enumerate(tips):
            heading = self.table.horizontalHeaderItem(column)
            if heading is not None and tip:
                heading.setToolTip(tip)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setMinimumSectionSize(40)
        self.table.setMinimumHeight(110)
        self.apply = QPushButton("Apply rules")
        self.apply.setToolTip("Judge the next frames with these rules and save them in the project")
        self.apply.clicked.connect(self.commit)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color:#c62828;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addWidget(self.apply)
        layout.addWidget(self.message)
        self.error = ""
        self._labels: list[str] = []
        self._rules = VerdictRules()

    def set_rules(self, rules: VerdictRules, labels: Sequence[str] | None = None) -> None:
        """Show ``rules`` for ``labels`` (the model's defect classes; kept when None)."""
        if labels is not None:
            self._labels = list(dict.fromkeys([*labels, *sorted(rules.classes)]))
        self._rules = rules
        rows = [*self._labels, DEFAULT_ROW]
        self.table.setRowCount(len(rows))
        for row, label in enumerate(rows):
            rule = rules.default if label == DEFAULT_ROW else rules.rule_for(label)
            values = (label, _text(rule.max_area_px), _text(rule.max_share_pct), _text(rule.min_confidence))
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                if column == 0:
                    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(row, column, item)

    def rules(self) -> VerdictRules:
        """The rules the cells describe; RulesError naming the class and the cell."""
        classes: dict[str, ClassRule] = {}
        default = self._rules.default
        for row in range(self.table.rowCount()):
            cells = [self.table.item(row, c) for c in range(len(_COLUMNS))]
            label, area, share, conf = (cell.text().strip() if cell is not None else "" for cell in cells)
            try:
                rule = ClassRule(
                    None if area == "" else int(area),
                    None if share == "" else float(share),
                    0.0 if conf == "" else float(conf),
                )
            except ValueError as exc:
                raise RulesError(f"{label}: {exc}") from exc
            if label == DEFAULT_ROW:
                default = rule
            elif rule != default or label in self._rules.classes:
                classes[label] = rule
        return VerdictRules(classes, default)

    def commit(self) -> bool:
        """Validate and emit ``rules_edited``; False (message shown) when a cell is wrong."""
        try:
            rules = self.rules()
        except RulesError as exc:
            self.error = str(exc)
            self.message.setText(self.error)
            return False
        self.error = ""
        self.message.setText("")
        self._rules = rules
        self.rules_edited.emit(rules)
        return True
