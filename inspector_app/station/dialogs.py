"""The station's dialogs: open image/folder, project settings, model card, "Predict folder", shortcuts.

A mixin of :class:`inspector_app.main_window.MainWindow` (methods only; the window owns the state).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox

from inspector_app.services.project import ProjectError
from inspector_app.station.base import StationBase
from inspector_app.widgets.batch_dialog import BatchDialog
from inspector_app.widgets.model_picker import ModelCardDialog
from inspector_app.widgets.settings_dialog import SettingsDialog
from inspector_app.widgets.station_actions import shortcuts_text


class DialogsMixin(StationBase):
    """See the module docstring."""

    def edit_settings(self) -> None:
        """Edit ▸ Project settings: saved to ``.inspector/settings.json``."""
        project = self.project
        if project is None:
            return
        dialog = SettingsDialog(project.settings, self)
        if dialog.exec() != SettingsDialog.DialogCode.Accepted:
            return
        dialog.apply_to(project.settings)
        self.apply_settings()

    def apply_settings(self) -> None:
        """Use the project's (changed) settings and save them."""
        project = self.project
        if project is None:
            return
        self.verdict_bar.set_categories(project.categories())
        self._restart_autosave()
        try:
            project.save_settings()
        except ProjectError as exc:
            self.notice.show_message(str(exc), "error")

    def _focus_search(self) -> None:
        self.file_panel.search.setFocus()
        self.file_panel.search.selectAll()

    def _show_shortcuts(self) -> None:
        QMessageBox.information(self, "Keyboard shortcuts", shortcuts_text(self.actions_))

    def _choose_image(self) -> None:
        start = str(self.project.root) if self.project else ""
        path, _ = QFileDialog.getOpenFileName(
            self, "Open image", start, "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp)"
        )
        if path:
            self.open_path(path)

    def _choose_folder(self) -> None:
        start = str(self.project.root) if self.project else ""
        path = QFileDialog.getExistingDirectory(self, "Open folder", start)
        if path:
            self.open_path(path)

    def open_batch_dialog(self) -> None:
        """"Predict folder": the batch dialog for the current model and folder."""
        model = self.inference.model
        if model is None:
            self.notice.show_message("Load a model first (Model ▸ Open model…).", "warning")
            return
        root = self.project.root if self.project else Path.home()
        if self._batch_dialog is None or not (self._batch_dialog.job and self._batch_dialog.job.is_running()):
            self._batch_dialog = BatchDialog(model.path, root, self)
        self._batch_dialog.show()
        self._batch_dialog.raise_()

    def show_model_card(self) -> None:
        """Model ▸ Model card."""
        model = self.inference.model
        if model is not None:
            ModelCardDialog(model.card, model.path, self).exec()
