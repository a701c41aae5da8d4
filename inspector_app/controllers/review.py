"""Review: OK/NG verdicts into the project's SQLite log, the review summary and CSV export."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from inspector_app.core.classes import ClassInfo, ClassTable
from inspector_app.jobs.loader import LoadedImage
from inspector_app.services.project import Project, ProjectError
from inspector_app.services.review_log import ReviewError, ReviewRecord, ReviewSummary, summarize


class ReviewController(QObject):
    """Owns the latest verdict per image. Signals (GUI thread):

    ``image_changed(has_image, ReviewRecord | None)`` (the image a verdict would be for);
    ``categories_changed(list)`` (NG categories); ``record_added(name, ReviewRecord)``;
    ``verdict_recorded(name, verdict)`` (after the record is booked everywhere);
    ``summary_changed(ReviewSummary, classes)`` with ``classes`` as (label, name, colour) rows;
    ``notice_posted(text, level)``.
    """

    image_changed = Signal(bool, object)
    categories_changed = Signal(list)
    record_added = Signal(str, object)
    verdict_recorded = Signal(str, str)
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
        try:
            record = project.review_log().record(record)
        except (ReviewError, ProjectError) as exc:
            self.notice_posted.emit(f"The verdict was NOT recorded: {exc}", "error")
            return None
        self._reviews[loaded.name] = record
        self.record_added.emit(loaded.name, record)
        self._emit_summary()
        self.verdict_recorded.emit(loaded.name, verdict)
        return record

    def export_csv(self, path: str | Path) -> int:
        """Write the current verdicts as CSV; returns the number of rows."""
        if self._project is None:
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
