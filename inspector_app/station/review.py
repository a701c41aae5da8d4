"""Review: OK/NG verdicts into the SQLite log, the summary panel and CSV export.

A mixin of :class:`inspector_app.main_window.MainWindow` (methods only; the window owns the state).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from inspector_app.services.project import ProjectError
from inspector_app.services.review_log import ReviewError, ReviewRecord, summarize
from inspector_app.station.base import StationBase


class ReviewMixin(StationBase):
    """See the module docstring."""

    def record_verdict(self, verdict: str) -> ReviewRecord | None:
        """Record OK/NG for the image on screen (SQLite), then go to the next unreviewed image."""
        project, loaded = self.project, self._current
        if project is None or loaded is None:
            return None
        model = self.inference.model
        areas: dict[str, int] = {}
        model_id = ""
        if self._prediction is not None and model is not None:
            model_id = model.model_id
            areas = {label: a for label, (a, _r) in self.prediction_stats(self._prediction).items()}
        record = ReviewRecord(
            image=loaded.name,
            verdict=verdict,
            content_hash=loaded.content_hash,
            category=self.verdict_bar.category_text() if verdict == "NG" else "",
            comment=self.verdict_bar.comment_text(),
            operator=project.settings.operator,
            model_id=model_id,
            class_areas=areas,
        )
        try:
            record = project.review_log().record(record)
        except (ReviewError, ProjectError) as exc:
            self.notice.show_message(f"The verdict was NOT recorded: {exc}", "error")
            return None
        self._reviews[loaded.name] = record
        self.list_model.set_review(loaded.name, record)
        self.verdict_bar.set_current(record)
        self.verdict_bar.clear_inputs()
        self._update_summary()
        self.verdict_recorded.emit(loaded.name, verdict)
        if self.verdict_bar.advance.isChecked():
            self.next_unreviewed()
        return record

    def _update_summary(self) -> None:
        summary = summarize(self._reviews.values(), self.list_model.rowCount())
        # The model's classes as the project names and colours them (as in the legend), else
        # the project's classes.
        infos = self._model_classes if self.inference.model is not None else None
        if infos is None:
            infos = tuple(self.session.class_table.classes[1:])
        classes = [(c.label, c.name, c.color) for c in infos]
        self.summary.set_summary(summary, classes)

    def export_csv(self, path: str | Path) -> int:
        """Write the current verdicts as CSV; returns the number of rows."""
        if self.project is None:
            return 0
        try:
            rows = self.project.review_log().export_csv(path)
        except (OSError, ReviewError, ProjectError) as exc:
            self.notice.show_message(f"CSV export failed: {exc}", "error")
            return 0
        self.notice.show_message(f"{rows} verdict(s) written to {path}", "info")
        return rows

    def _choose_csv(self) -> None:
        if self.project is None:
            return
        default = str(self.project.root / "review.csv")
        path, _ = QFileDialog.getSaveFileName(self, "Export reviews", default, "CSV (*.csv)")
        if path:
            self.export_csv(path)
