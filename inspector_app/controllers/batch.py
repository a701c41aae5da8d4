""" "Predict folder" runs: one background batch at a time, cancelled and joined on shutdown.

The dialog (:class:`inspector_app.widgets.batch_dialog.BatchDialog`) shows the options and the
progress; this controller owns the :class:`BatchPredictJob` so that the window can tell whether a
run is going on and stop it when the station closes, whether or not the dialog is still open.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from inspector_app.jobs.batch_job import BatchPredictJob
from inspector_app.services.batch import BatchOptions


class BatchController(QObject):
    """Owns the running batch job (its signals are the job's own)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._job: BatchPredictJob | None = None

    @property
    def job(self) -> BatchPredictJob | None:
        """The latest run (running or finished), None before the first."""
        return self._job

    def is_running(self) -> bool:
        """True while a batch is being predicted."""
        return self._job is not None and self._job.is_running()

    def start(self, options: BatchOptions) -> BatchPredictJob | None:
        """Start a run with ``options``; None when one is already running."""
        if self.is_running():
            return None
        self._job = BatchPredictJob(options, self)
        self._job.start()
        return self._job

    def cancel(self) -> None:
        """Stop the running batch after its current image."""
        if self._job is not None:
            self._job.cancel()

    def shutdown(self) -> None:
        """Cancel the running batch and wait for its thread (idempotent)."""
        if self._job is not None:
            self._job.cancel()
            self._job.wait()
