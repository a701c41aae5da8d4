"""Training jobs from the station: ``defect-train`` in a QProcess, its events as signals, a queue,
cancel, and promote / roll back through the prediction controller.

The station knows the trainer only as a command line (``sys.executable -m trainer.cli train ...``,
built by :func:`inspector_app.services.training.job.prepare_job`), so it runs from a checkout and
from an install, and the GUI never imports torch. Events are the trainer's JSON lines on stdout,
parsed with :func:`inspector_app.core.protocol.from_line`; other lines (and stderr) go to the log.
A crash, an exception or an out-of-memory error ends as ``job_finished(run_id, "failed", message)``;
the station keeps running and whatever checkpoints the trainer wrote stay in the run folder.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QTimer, Signal

from inspector_app.controllers.prediction import PredictionController
from inspector_app.core.protocol import (
    Checkpoint,
    ExitCode,
    Finished,
    Metrics,
    Progress,
    ProtocolError,
    Started,
    TrainerError,
    TrainerWarning,
    from_line,
)
from inspector_app.services.training.job import PreparedJob
from inspector_app.services.training.registry import ModelEntry, ModelRegistry
from inspector_app.services.training.runs import RunSummary

#: Seconds between the STOP file and ``terminate()``, and between ``terminate()`` and ``kill()``.
STOP_GRACE_S = 20.0
TERMINATE_GRACE_S = 5.0
_LOG_TAIL = 40  # stderr lines kept for a failure message when the trainer wrote no error event


class TrainingController(QObject):
    """One running job at a time, the others queued. Signals (GUI thread):

    ``job_queued(run_id)``, ``job_started(run_id)``, ``progress_reported(Progress)``,
    ``metrics_reported(Metrics)``, ``best_reported(epoch)``, ``log_appended(text)``,
    ``job_finished(run_id, status, message)`` (status ``ok`` | ``failed`` | ``cancelled``),
    ``model_promoted(ModelEntry)``, ``model_rolled_back(object)`` (a ModelEntry or None).
    """

    job_queued = Signal(str)
    job_started = Signal(str)
    progress_reported = Signal(object)
    metrics_reported = Signal(object)
    best_reported = Signal(int)
    log_appended = Signal(str)
    job_finished = Signal(str, str, str)
    model_promoted = Signal(object)
    model_rolled_back = Signal(object)

    def __init__(self, prediction: PredictionController, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._prediction = prediction
        self._queue: deque[PreparedJob] = deque()
        self._job: PreparedJob | None = None
        self._process: QProcess | None = None
        self._error: str | None = None
        self._finished: Finished | None = None
        self._stderr: deque[str] = deque(maxlen=_LOG_TAIL)
        self._cancelling = False
        #: The last trainer's exit code (None: killed or never started).
        self.last_exit_code: int | None = None
        self.stop_grace_s = STOP_GRACE_S
        self.terminate_grace_s = TERMINATE_GRACE_S
        self._terminate_timer, self._kill_timer = QTimer(self), QTimer(self)
        for timer, slot in ((self._terminate_timer, self._terminate), (self._kill_timer, self._kill)):
            timer.setSingleShot(True)
            timer.timeout.connect(slot)

    # --- queue ----------------------------------------------------------------------------------
    def current_job(self) -> PreparedJob | None:
        """The running job (None when idle)."""
        return self._job

    def queued(self) -> tuple[PreparedJob, ...]:
        """Jobs waiting for the running one, in order."""
        return tuple(self._queue)

    def is_running(self) -> bool:
        """True while a trainer process runs."""
        return self._job is not None

    def submit(self, job: PreparedJob) -> None:
        """Queue ``job``; it starts at once when nothing runs."""
        self._queue.append(job)
        self.job_queued.emit(job.run_id)
        if self._job is None:
            self._start_next()

    def cancel(self) -> None:
        """Cancel the running job: a STOP file (the trainer stops after the step, exit 3, last.pt
        kept), then ``terminate()`` after :attr:`stop_grace_s`, then ``kill()``."""
        if self._job is None or self._cancelling:
            return
        self._cancelling = True
        try:
            (self._job.run_dir / "STOP").touch()
        except OSError as exc:
            self.log_appended.emit(f"could not write the STOP file ({exc}); terminating")
            self._terminate()
            return
        self.log_appended.emit("cancel requested: STOP file written")
        self._terminate_timer.start(int(self.stop_grace_s * 1000))

    def cancel_queued(self, run_id: str) -> bool:
        """Drop a queued (not yet started) job."""
        for job in self._queue:
            if job.run_id == run_id:
                self._queue.remove(job)
                return True
        return False

    def shutdown(self) -> None:
        """The station closes: no new job starts; a running trainer is killed (its checkpoints stay)."""
        self._queue.clear()
        if self._process is not None:
            self._process.kill()
            self._process.waitForFinished(5000)

    # --- promote / roll back --------------------------------------------------------------------
    def promote(self, project_root: Path, run: RunSummary) -> ModelEntry:
        """Register ``run``'s model as the project's current one and load it in the station (no
        restart). Raises :class:`~inspector_app.services.training.registry.RegistryError`."""
        entry = ModelRegistry(project_root).promote(run)
        self._prediction.load_model(entry.onnx_path)
        self.model_promoted.emit(entry)
        return entry

    def rollback(self, project_root: Path, fallback: Path | None) -> ModelEntry | None:
        """Back to the previously promoted model (or ``fallback``, the project's own model, when
        none is left) and load it."""
        entry = ModelRegistry(project_root).rollback()
        path = entry.onnx_path if entry is not None else fallback
        if path is not None:
            self._prediction.load_model(path)
        self.model_rolled_back.emit(entry)
        return entry

    # --- the process ----------------------------------------------------------------------------
    def _start_next(self) -> None:
        if not self._queue:
            return
        job = self._queue.popleft()
        self._job, self._error, self._finished, self._cancelling = job, None, None, False
        self._stderr.clear()
        process = QProcess(self)
        process.setWorkingDirectory(str(job.run_dir))
        process.readyReadStandardOutput.connect(self._on_process_stdout)
        process.readyReadStandardError.connect(self._on_process_stderr)
        process.finished.connect(self._on_process_finished)
        process.errorOccurred.connect(self._on_process_error)
        self._process = process
        self.job_started.emit(job.run_id)
        self.log_appended.emit("$ " + " ".join(job.command))
        process.start(job.command[0], list(job.command[1:]))

    def _on_process_stdout(self) -> None:
        process = self._process
        if process is None:
            return
        while process.canReadLine():
            line = bytes(process.readLine().data()).decode("utf-8", "replace").strip()
            if line:
                self._handle_line(line)

    def _handle_line(self, line: str) -> None:
        try:
            event = from_line(line)
        except ProtocolError:
            self.log_appended.emit(line)
            return
        if isinstance(event, Progress):
            self.progress_reported.emit(event)
        elif isinstance(event, Metrics):
            self.metrics_reported.emit(event)
        elif isinstance(event, Checkpoint):
            if event.kind == "best":
                self.best_reported.emit(event.epoch)
        elif isinstance(event, TrainerError):
            self._error = f"{event.code}: {event.message}"
            self.log_appended.emit(f"error ({event.code}): {event.message}")
        elif isinstance(event, TrainerWarning):
            self.log_appended.emit(f"warning: {event.message}")
        elif isinstance(event, Finished):
            self._finished = event
        elif isinstance(event, Started):
            resumed = f", resumed after epoch {event.resumed_from_epoch}" if event.resumed_from_epoch else ""
            self.log_appended.emit(
                f"started on {event.device}: {event.num_train} train / {event.num_val} val images, "
                f"{event.epochs} epochs{resumed}"
            )

    def _on_process_stderr(self) -> None:
        if self._process is None:
            return
        text = bytes(self._process.readAllStandardError().data()).decode("utf-8", "replace")
        for line in text.splitlines():
            if line.strip():
                self._stderr.append(line)
                self.log_appended.emit(line)

    def _on_process_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and self._job is not None:
            self._error = f"the trainer could not be started ({self._job.command[0]})"
            self._finish("failed", self._error)

    def _on_process_finished(self, exit_code: int, exit_status: QProcess.ExitStatus) -> None:
        self._on_process_stdout()
        self._on_process_stderr()
        normal = exit_status == QProcess.ExitStatus.NormalExit
        self.last_exit_code = exit_code if normal else None
        if exit_status == QProcess.ExitStatus.NormalExit and exit_code == ExitCode.OK:
            done = self._finished
            best = ""
            if done is not None and done.best_metric is not None:
                best = f", best {100 * done.best_metric:.1f} at epoch {done.best_epoch}"
            self._finish("ok", f"finished{best}")
        elif self._cancelling or exit_code == ExitCode.CANCELLED:
            self._finish("cancelled", "cancelled; the last checkpoint is kept in the run folder")
        else:
            detail = self._error or (self._stderr[-1] if self._stderr else "no message")
            how = "crashed" if exit_status == QProcess.ExitStatus.CrashExit else f"exit {exit_code}"
            self._finish("failed", f"trainer {how}: {detail}")

    def _finish(self, status: str, message: str) -> None:
        job = self._job
        if job is None:
            return
        self._terminate_timer.stop()
        self._kill_timer.stop()
        if self._process is not None:
            self._process.deleteLater()
        self._job, self._process = None, None
        self.job_finished.emit(job.run_id, status, message)
        self._start_next()

    def _terminate(self) -> None:
        if self._process is not None:
            self.log_appended.emit("the trainer did not stop: terminating")
            self._process.terminate()
            self._kill_timer.start(int(self.terminate_grace_s * 1000))

    def _kill(self) -> None:
        if self._process is not None:
            self.log_appended.emit("the trainer did not terminate: killing")
            self._process.kill()
