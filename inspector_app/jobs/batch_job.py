"""Batch prediction of a folder from the GUI: :func:`inspector_app.services.batch.run_batch` in a QThread."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QThread, Signal, Slot

from inspector_app.services.batch import BatchError, BatchOptions, BatchProgress, BatchReport, run_batch


class _BatchThread(QThread):
    progressed = Signal(object)  # BatchProgress
    done = Signal(object)  # BatchReport
    failed = Signal(str)

    def __init__(self, options: BatchOptions) -> None:
        super().__init__()
        self.options = options
        self.cancel_event = threading.Event()

    def run(self) -> None:
        """Run the batch; progress is throttled by the receiver (one signal per image is cheap)."""
        try:
            report = run_batch(self.options, progress=self.progressed.emit, cancel=self.cancel_event)
        except BatchError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:  # a crash in a job must be reported, never kill the GUI silently
            self.failed.emit(f"{type(exc).__name__}: {exc}")
            return
        self.done.emit(report)


class BatchPredictJob(QObject):
    """One batch run. Signals on the GUI thread: ``progress(BatchProgress)``,
    ``finished(BatchReport)`` (also when cancelled: ``report.cancelled``), ``failed(message)``."""

    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, options: BatchOptions, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.options = options
        self._thread = _BatchThread(options)
        self._thread.progressed.connect(self._on_progress)
        self._thread.done.connect(self._on_done)
        self._thread.failed.connect(self._on_failed)
        # Outcomes are announced only once the thread has really ended, so that a receiver may drop
        # the job right away (a QThread destroyed while running aborts the process).
        self._thread.finished.connect(self._on_thread_finished)
        self.report: BatchReport | None = None
        self.error: str | None = None

    def start(self) -> None:
        """Start in the background (low priority: the operator keeps working)."""
        self._thread.start(QThread.Priority.LowPriority)

    def cancel(self) -> None:
        """Ask the batch to stop after the current image."""
        self._thread.cancel_event.set()

    def is_running(self) -> bool:
        """True until the thread ends."""
        return self._thread.isRunning()

    def wait(self, ms: int = 30_000) -> bool:
        """Block until the thread ends (for shutdown and tests)."""
        return bool(self._thread.wait(ms))

    @Slot(object)
    def _on_progress(self, progress: BatchProgress) -> None:
        self.progress.emit(progress)

    @Slot(object)
    def _on_done(self, report: BatchReport) -> None:
        self.report = report

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.error = message

    @Slot()
    def _on_thread_finished(self) -> None:
        if self.report is not None:
            self.finished.emit(self.report)
        else:
            self.failed.emit(self.error or "the batch stopped unexpectedly")
