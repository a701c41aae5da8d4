""" "Predict folder" dialog: choose outputs, run the batch in the background, progress and cancel."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from inspector_app.controllers.batch import BatchController
from inspector_app.jobs.batch_job import BatchPredictJob
from inspector_app.services.batch import BatchOptions, BatchProgress, BatchReport


class BatchDialog(QDialog):
    """Non-modal: the operator can keep reviewing while the folder is predicted."""

    def __init__(
        self,
        model_path: Path,
        input_dir: Path,
        parent: QWidget | None = None,
        *,
        controller: BatchController | None = None,
        model_name: str = "",
    ) -> None:
        """``model_name``: the model's display name (its card's); the file name when empty."""
        super().__init__(parent)
        self.setWindowTitle("Predict folder")
        self.model_path = model_path
        self.controller = controller if controller is not None else BatchController(self)
        self.job: BatchPredictJob | None = None
        self.input_edit = QLineEdit(str(input_dir), self)
        self.output_edit = QLineEdit(str(input_dir.parent / f"{input_dir.name}_predictions"), self)
        browse_in = QPushButton("…", self)
        browse_out = QPushButton("…", self)
        browse_in.clicked.connect(lambda: self._browse(self.input_edit))
        browse_out.clicked.connect(lambda: self._browse(self.output_edit))
        self.masks = QCheckBox("Class-index masks (<stem>.png)", self)
        self.masks.setChecked(True)
        self.labelme = QCheckBox("LabelMe JSON predictions (<stem>.json)", self)
        self.overlays = QCheckBox("Colour overlays (overlays/<stem>.jpg)", self)
        self.csv = QCheckBox("Per-image summary CSV (summary.csv)", self)
        self.csv.setChecked(True)
        self.force = QCheckBox("Redo images already done", self)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.model_name = model_name or model_path.stem
        self.status = QLabel(f"Model: {self.model_name}", self)
        self.status.setToolTip(str(model_path))
        self.status.setWordWrap(True)
        self.start_button = QPushButton("Start", self)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setEnabled(False)
        self.close_button = QPushButton("Close", self)

        grid = QGridLayout()
        grid.addWidget(QLabel("Images", self), 0, 0)
        grid.addWidget(self.input_edit, 0, 1)
        grid.addWidget(browse_in, 0, 2)
        grid.addWidget(QLabel("Output", self), 1, 0)
        grid.addWidget(self.output_edit, 1, 1)
        grid.addWidget(browse_out, 1, 2)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        for box in (self.masks, self.labelme, self.overlays, self.csv, self.force):
            layout.addWidget(box)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)
        self.resize(560, 320)

    def _browse(self, edit: QLineEdit) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose folder", edit.text())
        if path:
            edit.setText(path)

    def options(self) -> BatchOptions:
        """The options the form describes."""
        output = Path(self.output_edit.text()).expanduser()
        return BatchOptions(
            model=self.model_path,
            input_dir=Path(self.input_edit.text()).expanduser(),
            output_dir=output,
            masks=self.masks.isChecked(),
            labelme=self.labelme.isChecked(),
            overlays=self.overlays.isChecked(),
            csv=output / "summary.csv" if self.csv.isChecked() else None,
            force=self.force.isChecked(),
            io_threads=1,  # leave CPU to the operator's own inference
        )

    def start(self) -> None:
        """Start the batch in the background."""
        job = self.controller.start(self.options())
        if job is None:
            return
        self.job = job
        self.job.progress.connect(self._on_progress)
        self.job.finished.connect(self._on_finished)
        self.job.failed.connect(self._on_failed)
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 0)
        self.status.setText("Starting…")

    def cancel(self) -> None:
        """Stop after the current image."""
        if self.job is not None:
            self.controller.cancel()
            self.status.setText("Cancelling…")

    def _on_progress(self, p: BatchProgress) -> None:
        self.progress.setRange(0, max(1, p.total))
        self.progress.setValue(p.done)
        self.status.setText(
            f"{p.done:,} / {p.total:,} · {p.images_per_s:.1f} img/s · "
            f"skipped {p.skipped:,} · failed {p.failed:,}"
        )

    def _on_finished(self, report: BatchReport) -> None:
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.setRange(0, max(1, report.total))
        self.progress.setValue(report.processed + report.skipped + len(report.failures))
        what = "Cancelled" if report.cancelled else "Done"
        text = (
            f"{what}: {report.processed:,} predicted, {report.skipped:,} already done, "
            f"{len(report.failures):,} failed in {report.elapsed_s:.1f} s ({report.images_per_s:.1f} img/s)."
        )
        if report.redone:
            text += f"\n{len(report.redone):,} redone: their outputs were written by another model."
        if report.csv_error:
            text += "\n" + report.csv_error
        if report.failures:
            text += "\n" + "\n".join(f"{name}: {reason}" for name, reason in report.failures[:5])
            if len(report.failures) > 5:
                text += f"\n… and {len(report.failures) - 5:,} more"
        self.status.setText(text)

    def _on_failed(self, message: str) -> None:
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status.setText(f"Could not run: {message}")

    def closeEvent(self, event: object) -> None:
        """Closing does not cancel a running batch (it goes on in the background)."""
        super().closeEvent(event)  # type: ignore[arg-type]
