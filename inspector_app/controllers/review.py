"""Review: OK/NG verdicts into the project's SQLite log, the review summary and CSV export."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, QTimer, Signal

from inspector_app.core.classes import ClassInfo, ClassTable
from inspector_app.jobs.loader import LoadedImage
from inspector_app.jobs.review_writer import ReviewWriter
from inspector_app.services.project import Project, ProjectError
from inspector_app.services.review_log import ReviewError, ReviewRecord, ReviewSummary, now_iso, summarize

#: How long a CSV export waits for verdicts still being written (seconds).
EXPORT_WAIT_S = 3.0


class ReviewController(QObject):
    """Owns the latest verdict per image. Signals (GUI thread):

    ``image_changed(has_image, ReviewRecord | None)`` (the image a verdict would be for);
    ``categories_changed(list)`` (NG categories); ``record_added(name, ReviewRecord)``;
    ``verdict_recorded(name, verdict)`` (the verdict is taken: shown everywhere and queued for the
    log; the operator moves on); ``verdict_written(ReviewRecord)`` (it is in the SQLite file);
    ``verdicts_queued(count)`` (the log is busy: so many wait for a retry; 0 once all are written);
    ``summary_changed(ReviewSummary, classes)`` with ``classes`` as (label, name, colour) rows;
    ``notice_posted(text, level)``.
    """

    image_changed = Signal(bool, object)
    categories_changed = Signal(list)
    record_added = Signal(str, object)
    verdict_recorded = Signal(str, str)
    verdict_written = Signal(object)
    verdicts_queued = Signal(int)
    summary_changed = Signal(object, list)
    notice_posted = Signal(str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._project: Project | None = None
        self._reviews: dict[str, ReviewRecord] = {}
        self._image: LoadedImage | None = None
        self._model_id = ""
        self._areas: dict[str, int] = {}
        self._total = 0
        self._project_classes: tuple[ClassInfo, ...] = ()
        self._table: ClassTable | None = None
        self._model_classes: tuple[ClassInfo, ...] | None = None
        self._writer: ReviewWriter | None = None
        #: writers of projects left while their verdicts still waited (they finish on their own)
        self._retired: list[ReviewWriter] = []
        self._queued = 0

    # --- state -------------------------------------------------------------------------------
    @property
    def reviews(self) -> dict[str, ReviewRecord]:
        """image name -> its latest verdict (a copy)."""
        return dict(self._reviews)

    def record_of(self, name: str) -> ReviewRecord | None:
        """The latest verdict of ``name``."""
        return self._reviews.get(name)

    def summary(self) -> ReviewSummary:
        """Counts over the project's images."""
        return summarize(self._reviews.values(), self._total)

    # --- inputs ------------------------------------------------------------------------------
    def attach(self, project: Project) -> dict[str, ReviewRecord]:
        """A project was opened: read its verdicts (an unreadable log is reported, not fatal)."""
        self._project = project
        self._retire_writer()
        self._writer = ReviewWriter(project.review_path, parent=self)
        self._writer.written.connect(self._on_writer_written)
        self._writer.queued.connect(self._on_writer_queued)
        self._reviews = {}
        self._image = None
        self._total = 0
        try:
            log = project.existing_review_log()
            if log is not None:
                self._reviews = log.latest()
        except ReviewError as exc:
            self.notice_posted.emit(str(exc), "error")
        self.refresh_categories()
        self._emit_summary()
        return dict(self._reviews)

    def refresh_categories(self) -> None:
        """Announce the NG categories: the project's setting, else the class table in use."""
        if self._project is not None:
            self.categories_changed.emit(list(self._project.categories(self._table)))

    def set_image(self, loaded: LoadedImage | None) -> None:
        """The image a verdict is for (None: none on screen); its prediction is forgotten."""
        self._image = loaded
        self.set_prediction("", {})
        self.image_changed.emit(loaded is not None, self.record_of(loaded.name) if loaded else None)

    def leave_image(self) -> None:
        """Another image was selected: no verdict until it is shown (the bar stays as it is)."""
        self._image = None
        self.set_prediction("", {})

    def set_prediction(self, model_id: str, areas: dict[str, int]) -> None:
        """The prediction on screen (``model_id`` "" when none): recorded with the verdict."""
        self._model_id = model_id
        self._areas = dict(areas)

    def set_total(self, total: int) -> None:
        """Number of images in the project."""
        self._total = total
        self._emit_summary()

    def set_class_table(self, table: ClassTable) -> None:
        """The class table the station uses: the summary's rows without a model, and the NG
        categories (labels added later are offered too)."""
        self._table = table
        self._project_classes = tuple(table.classes[1:])
        self.refresh_categories()
        self._emit_summary()

    def set_model_classes(self, classes: Iterable[ClassInfo] | None) -> None:
        """The model's classes as the project names and colours them (None or empty: no model)."""
        self._model_classes = tuple(classes) if classes is not None else None
        self._emit_summary()

    # --- actions -----------------------------------------------------------------------------
    def record(self, verdict: str, *, category: str = "", comment: str = "") -> ReviewRecord | None:
        """Record OK/NG for the image on screen in the SQLite log; None (with a notice) on failure."""
        project, loaded = self._project, self._image
        if project is None or loaded is None:
            return None
        record = ReviewRecord(
            image=loaded.name,
            verdict=verdict,
            content_hash=loaded.content_hash,
            category=category if verdict == "NG" else "",
            comment=comment,
            operator=project.settings.operator,
            model_id=self._model_id,
            class_areas=self._areas if self._model_id else {},
        )
        # The writer thread writes it: a locked database never blocks the GUI thread.
        record = replace(record, time=now_iso())
        assert self._writer is not None
        self._writer.submit(record)
        self._reviews[loaded.name] = record
        self.record_added.emit(loaded.name, record)
        self._emit_summary()
        self.verdict_recorded.emit(loaded.name, verdict)
        return record

    def waiting(self) -> int:
        """Verdicts taken but not in the database yet (all projects)."""
        return sum(w.waiting() for w in (self._writer, *self._retired) if w is not None)

    def wait_for_writes(self, timeout_ms: int) -> bool:
        """Run the event loop until every verdict is written or ``timeout_ms`` passed; True when
        none waits (closing the window, leaving a project)."""
        if not self.waiting():
            return True
        loop = QEventLoop()
        timer = QTimer(singleShot=True, interval=timeout_ms)
        timer.timeout.connect(loop.quit)
        self.verdicts_queued.connect(loop.quit)
        self.verdict_written.connect(loop.quit)
        timer.start()
        try:
            while self.waiting() and timer.isActive():
                loop.exec()
        finally:
            self.verdicts_queued.disconnect(loop.quit)
            self.verdict_written.disconnect(loop.quit)
        return not self.waiting()

    def shutdown(self) -> None:
        """Stop the writer threads (one last try each for what waits)."""
        for writer in (self._writer, *self._retired):
            if writer is not None:
                writer.shutdown()

    def _retire_writer(self) -> None:
        if self._writer is not None:
            if self._writer.waiting():
                self._retired.append(self._writer)
            else:
                self._writer.shutdown()
        self._retired = [w for w in self._retired if w.waiting()]

    def _on_writer_written(self, _record: ReviewRecord) -> None:
        self.verdict_written.emit(_record)
        if self._queued and not self.waiting():
            self._queued = 0
            self.verdicts_queued.emit(0)
            self.notice_posted.emit("Review log free again: every queued verdict is recorded.", "info")

    def _on_writer_queued(self, count: int, why: str) -> None:
        # Said every time it fails, so the operator sees the count grow and knows why.
        self._queued = count
        self.verdicts_queued.emit(count)
        self.notice_posted.emit(
            f"Review log busy, {count} verdict(s) queued (kept in order, retried until written): {why}",
            "warning",
        )

    def export_csv(self, path: str | Path) -> int:
        """Write the current verdicts as CSV; returns the number of rows."""
        if self._project is None:
            return 0
        # Verdicts are written by the review writer thread: the export must include the ones given
        # a moment ago, so it waits (briefly, events flowing) until none is left in the queue.
        deadline = time.monotonic() + EXPORT_WAIT_S
        while self.waiting() and time.monotonic() < deadline:
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            time.sleep(0.005)
        if self.waiting():
            self.notice_posted.emit(
                f"CSV not exported: {self.waiting()} verdict(s) are still queued (the review log is busy)",
                "warning",
            )
            return 0
        try:
            rows = self._project.review_log().export_csv(path)
        except (OSError, ReviewError, ProjectError) as exc:
            self.notice_posted.emit(f"CSV export failed: {exc}", "error")
            return 0
        self.notice_posted.emit(f"{rows} verdict(s) written to {path}", "info")
        return rows

    def _emit_summary(self) -> None:
        infos = self._model_classes or self._project_classes
        self.summary_changed.emit(self.summary(), [(c.label, c.name, c.color) for c in infos])
