"""Project settings dialog: operator, autosave, accept-prediction tolerance, NG categories, the
look of annotations over the prediction."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from inspector_app.services.project import ProjectSettings


class SettingsDialog(QDialog):
    """Edits a copy of :class:`ProjectSettings`; :meth:`apply_to` writes the fields back."""

    def __init__(self, settings: ProjectSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Project settings")
        self.operator = QLineEdit(settings.operator, self)
        self.operator.setToolTip("Recorded with every verdict")
        self.autosave_seconds = QSpinBox(self)
        self.autosave_seconds.setRange(0, 3600)
        self.autosave_seconds.setSuffix(" s")
        self.autosave_seconds.setSpecialValueText("off")
        self.autosave_seconds.setValue(settings.autosave_seconds)
        self.autosave_seconds.setToolTip("Save unsaved annotations this often (0 = off)")
        self.autosave_on_switch = QCheckBox("Save annotations when moving to another image", self)
        self.autosave_on_switch.setChecked(settings.autosave_on_switch)
        self.tolerance = QDoubleSpinBox(self)
        self.tolerance.setRange(0.0, 10.0)
        self.tolerance.setSingleStep(0.25)
        self.tolerance.setSuffix(" px")
        self.tolerance.setValue(settings.accept_tolerance)
        self.tolerance.setToolTip("Polygon simplification of Accept prediction (0 = exact pixel outline)")
        self.min_area = QSpinBox(self)
        self.min_area.setRange(0, 100_000)
        self.min_area.setSuffix(" px")
        self.min_area.setValue(settings.accept_min_area)
        self.min_area.setToolTip("Accept prediction leaves out predicted regions smaller than this")
        self.categories = QLineEdit(", ".join(settings.categories), self)
        self.categories.setPlaceholderText("empty: the class names")
        self.categories.setToolTip("Comma-separated defect categories offered with an NG verdict")
        self.outline_in_both = QCheckBox("In Both mode draw annotations as outlines", self)
        self.outline_in_both.setChecked(settings.outline_annotations_in_both)
        self.outline_in_both.setToolTip(
            "Outlines over the filled prediction keep the two apart; off: annotations are filled too"
        )
        form = QFormLayout()
        form.addRow("Operator", self.operator)
        form.addRow("Autosave every", self.autosave_seconds)
        form.addRow("", self.autosave_on_switch)
        form.addRow("Accept tolerance", self.tolerance)
        form.addRow("Accept min. region", self.min_area)
        form.addRow("NG categories", self.categories)
        form.addRow("", self.outline_in_both)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def apply_to(self, settings: ProjectSettings) -> None:
        """Copy the form into ``settings``."""
        settings.operator = self.operator.text().strip() or settings.operator
        settings.autosave_seconds = int(self.autosave_seconds.value())
        settings.autosave_on_switch = self.autosave_on_switch.isChecked()
        settings.accept_tolerance = float(self.tolerance.value())
        settings.accept_min_area = int(self.min_area.value())
        settings.categories = [c.strip() for c in self.categories.text().split(",") if c.strip()]
        settings.outline_annotations_in_both = self.outline_in_both.isChecked()
