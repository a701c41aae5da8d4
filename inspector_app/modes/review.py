"""Review mode: verdict bar, prediction panel and review summary; the OK/NG keys work only here."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QVBoxLayout, QWidget

from inspector_app.controllers.review import ReviewController
from inspector_app.modes.base import StationMode, group
from inspector_app.services.review_log import ReviewRecord
from inspector_app.widgets.summary_panel import SummaryPanel
from inspector_app.widgets.verdict_bar import VerdictBar


class ReviewMode(StationMode):
    """The operator judges images. Its views subscribe to the :class:`ReviewController`."""

    name = "review"
    title = "Review"

    def __init__(
        self,
        review: ReviewController,
        prediction_panel: QWidget,
        verdict_actions: Sequence[QAction],
        next_unreviewed: Callable[[], object],
        export_csv: Callable[[], object],
    ) -> None:
        self._review = review
        self._prediction = prediction_panel
        self._verdict_actions = tuple(verdict_actions)
        self._next_unreviewed = next_unreviewed
        self.verdict_bar = VerdictBar()
        self.summary = SummaryPanel()
        self._page = QWidget()
        self._layout = QVBoxLayout(self._page)
        self._layout.setContentsMargins(4, 0, 4, 0)
        self._layout.addWidget(group("Verdict", self.verdict_bar))
        self._layout.addWidget(prediction_panel, 1)
        self._layout.addWidget(group("Review summary", self.summary))
        review.image_changed.connect(self._on_review_image_changed)
        review.categories_changed.connect(self.verdict_bar.set_categories)
        review.record_added.connect(self._on_review_record_added)
        review.summary_changed.connect(self.summary.set_summary)
        review.verdict_recorded.connect(self._on_review_verdict_recorded)
        self.verdict_bar.verdict_requested.connect(self.record_verdict)
        self.verdict_bar.next_unreviewed_requested.connect(next_unreviewed)
        self.summary.export_requested.connect(export_csv)
        for action, verdict in zip(self._verdict_actions, ("OK", "NG"), strict=False):
            action.triggered.connect(lambda _checked=False, v=verdict: self.record_verdict(v))
        self.verdict_bar.set_enabled_for_image(False)

    def page(self) -> QWidget:
        """Verdict, prediction, summary."""
        return self._page

    def activate(self) -> None:
        """Take the shared prediction panel back and enable the verdict keys."""
        self._layout.insertWidget(1, self._prediction, 1)
        self._prediction.show()  # a re-parented widget is hidden until shown
        for action in self._verdict_actions:
            action.setEnabled(True)

    def deactivate(self) -> None:
        """No verdict is recorded by a stray key while in another mode."""
        for action in self._verdict_actions:
            action.setEnabled(False)

    def record_verdict(self, verdict: str) -> ReviewRecord | None:
        """Record ``verdict`` with the bar's category (NG) and comment."""
        bar = self.verdict_bar
        return self._review.record(verdict, category=bar.category_text(), comment=bar.comment_text())

    def _on_review_image_changed(self, has_image: bool, record: ReviewRecord | None) -> None:
        self.verdict_bar.set_enabled_for_image(has_image)
        if has_image:
            self.verdict_bar.set_current(record)

    def _on_review_record_added(self, _name: str, record: ReviewRecord) -> None:
        self.verdict_bar.set_current(record)
        self.verdict_bar.clear_inputs()

    def _on_review_verdict_recorded(self, _name: str, _verdict: str) -> None:
        if self.verdict_bar.advance.isChecked():
            self._next_unreviewed()
