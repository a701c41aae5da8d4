"""The station's small dialogs: open image/folder, export CSV, project settings, shortcuts, and
"Predict folder". Each returns what the operator chose; the window decides what to do with it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from inspector_app.controllers.batch import BatchController
from inspector_app.services.project import ProjectSettings
from inspector_app.widgets.batch_dialog import BatchDialog
from inspector_app.widgets.settings_dialog import SettingsDialog
from inspector_app.widgets.station_actions import StationActions, shortcuts_text

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp)"


def choose_image(parent: QWidget, start: str) -> str:
    """File ▸ Open image: the chosen path, "" when cancelled."""
    path, _ = QFileDialog.getOpenFileName(parent, "Open image", start, IMAGE_FILTER)
    return path


def choose_folder(parent: QWidget, start: str) -> str:
    """File ▸ Open folder: the chosen folder, "" when cancelled."""
    return QFileDialog.getExistingDirectory(parent, "Open folder", start)


def choose_csv(parent: QWidget, default: Path) -> str:
    """File ▸ Export reviews: the CSV path, "" when cancelled."""
    path, _ = QFileDialog.getSaveFileName(parent, "Export reviews", str(default), "CSV (*.csv)")
    return path


def edit_settings(parent: QWidget, settings: ProjectSettings) -> bool:
    """Edit ``settings`` in place; True when the operator accepted the dialog."""
    dialog = SettingsDialog(settings, parent)
    if dialog.exec() != SettingsDialog.DialogCode.Accepted:
        return False
    dialog.apply_to(settings)
    return True


def show_shortcuts(parent: QWidget, actions: StationActions) -> None:
    """Help ▸ Keyboard shortcuts."""
    QMessageBox.information(parent, "Keyboard shortcuts", shortcuts_text(actions))


def show_batch_dialog(
    parent: QWidget, batch: BatchController, model_path: Path, root: Path, model_name: str = ""
) -> BatchDialog:
    """Model ▸ Predict folder: the open dialog while a run goes on, else a new one for this model."""
    dialog = parent.findChild(BatchDialog)
    if dialog is None or not batch.is_running():
        if dialog is not None:
            dialog.deleteLater()
        dialog = BatchDialog(model_path, root, parent, controller=batch, model_name=model_name)
    dialog.show()
    dialog.raise_()
    return dialog


def confirm_losing_edits(parent: QWidget) -> bool:
    """Closing with edits that could not be saved (or verdicts a locked review log still holds
    back): True when the operator accepts losing them."""
    answer = QMessageBox.question(
        parent,
        "Unsaved work",
        "Some annotations could not be saved, or some verdicts are not in the review log yet (see "
        "the message above the image). Quit anyway and lose them?",
    )
    return answer == QMessageBox.StandardButton.Yes
