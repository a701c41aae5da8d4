"""The station without its widgets: the five controllers and the signals that join them.

Every controller owns its state and knows no other; this module is the only place where one's
news becomes another's input (e.g. "the model predicts labels the project lacks" -> the annotation
controller adds them -> "the class table changed" -> the prediction controller re-joins its class
map). The window (:mod:`inspector_app.main_window`) builds a :class:`Station`, then the views, and
connects the views to the controllers' signals. Tests drive a :class:`Station` without any window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from inspector_app.controllers.annotation import AnnotationController
from inspector_app.controllers.batch import BatchController
from inspector_app.controllers.navigation import NavigationController
from inspector_app.controllers.prediction import PredictionController, ShownPrediction
from inspector_app.controllers.review import ReviewController
from inspector_app.core.classes import ClassTable
from inspector_app.jobs.inference import ModelInfo
from inspector_app.jobs.loader import LoadedImage
from inspector_app.services.project import Project


class Station(QObject):
    """Owns the controllers (public attributes) and wires them. Signals (GUI thread):

    ``notice_posted(text, level)`` from every controller; ``image_arrived(LoadedImage)`` before the
    session opens it (views show the pixels first); ``image_shown(name)`` once the session holds it;
    ``image_unreadable(name)``; ``prediction_shown(name)`` (also when the prediction failed);
    ``verdict_recorded(name, verdict)``; ``model_settled()``.
    """

    #: How long closing waits for verdicts queued behind a locked review log.
    CLOSE_WAIT_MS = 5_000

    notice_posted = Signal(str, str)
    image_arrived = Signal(object)
    image_shown = Signal(str)
    image_unreadable = Signal(str)
    prediction_shown = Signal(str)
    verdict_recorded = Signal(str, str)
    model_settled = Signal()

    def __init__(
        self,
        flush_edits: Callable[[], None] = lambda: None,
        *,
        operator: str | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._operator = operator
        self._shut_down = False
        #: Count every image's predicted regions in the background (View ▸ Count regions…).
        self.background_counting = True
        #: Time (ms) from selecting an image to its prediction on screen (benchmarks read it).
        self.last_switch_ms: float | None = None
        self.navigation = nav = NavigationController(self)
        self.prediction = pred = PredictionController(self)
        self.annotation = ann = AnnotationController(flush_edits, self)
        self.review = rev = ReviewController(self)
        self.batch = BatchController(self)
        files = nav.files
        for controller in (nav, pred, ann, rev):
            controller.notice_posted.connect(self.notice_posted)

        nav.project_opened.connect(self._on_navigation_project_opened)
        nav.listing_finished.connect(lambda _total: rev.set_total(files.rowCount()))
        # The background pass starts once the first prediction is on screen (it never runs before
        # the image the operator waits for), and again when a listing ends after that.
        nav.listing_finished.connect(lambda _total: self._start_background_pass())
        nav.listing_changed.connect(rev.set_total)
        nav.scanned.connect(ann.refresh_dirty_marker)
        nav.image_selected.connect(self._on_navigation_image_selected)
        nav.image_shown.connect(self._on_navigation_image_shown)
        nav.image_failed.connect(self._on_navigation_image_failed)

        pred.model_loaded.connect(self._on_prediction_model_loaded)
        pred.model_settled.connect(self.model_settled)
        pred.background_counted.connect(files.set_predicted)
        pred.labels_missing.connect(ann.add_model_labels)
        pred.model_classes_changed.connect(rev.set_model_classes)
        pred.prediction_shown.connect(self._on_prediction_shown)
        pred.prediction_cleared.connect(lambda: rev.set_prediction("", {}))
        pred.prediction_failed.connect(self.prediction_shown)

        ann.saved.connect(files.set_annotation)
        ann.dirty_marked.connect(files.set_dirty)
        ann.shape_counts_changed.connect(files.set_shape_counts)
        ann.annotation_unreadable.connect(lambda name, error: files.set_annotation(name, {}, error=error))
        ann.class_table_changed.connect(self._on_annotation_class_table_changed)

        rev.record_added.connect(files.set_review)
        rev.verdict_recorded.connect(self.verdict_recorded)

    # --- actions that span controllers ---------------------------------------------------------
    def open_path(self, path: str | Path) -> bool:
        """Open an image, a folder or a project folder. False (with a notice) when it cannot, or
        when the edits left in the open project cannot be saved (then nothing is closed)."""
        if self.navigation.project is not None and not self.annotation.save_all():
            return False
        self.prediction.leave_image()
        return self.navigation.open(path, operator=self._operator) is not None

    def accept_prediction(self, classes: list[int] | None) -> int:
        """Turn the shown prediction (all classes or some project indices) into polygons."""
        return self.annotation.accept_prediction(self.prediction.mask, classes)

    def count_in_background(self) -> int:
        """Count the predicted regions of every listed image the model has not counted yet, in the
        background (lowest priority; the file list's counts fill in). Returns the images queued."""
        if not self.background_counting:
            return 0
        files = self.navigation.files
        return self.prediction.count_in_background(
            (entry.name, files.path(row)) for row, entry in enumerate(files.entries())
        )

    def set_background_counting(self, enabled: bool) -> None:
        """Turn the background count on (it starts at once) or off (the running pass stops)."""
        self.background_counting = enabled
        if enabled:
            self._start_background_pass()
        else:
            self.prediction.cancel_background()

    def apply_settings(self) -> None:
        """The project's settings were edited: use them and save them."""
        self.review.refresh_categories()
        self.annotation.restart_autosave()
        self.navigation.save_settings()

    def close(self) -> bool:
        """Save every edit and the view settings and let queued verdicts be written (waits about
        the review log's busy time-out); False when an edit could not be saved or verdicts still
        wait for a locked review log (a notice says so)."""
        saved = self.navigation.project is None or self.annotation.save_all()
        self.navigation.save_view_settings()
        if not self.review.wait_for_writes(self.CLOSE_WAIT_MS):
            self.notice_posted.emit(
                f"{self.review.waiting()} verdict(s) are not in the review log yet: another program "
                "holds its lock.",
                "error",
            )
            return False
        return saved

    def shutdown(self) -> None:
        """Stop every worker thread (idempotent)."""
        if self._shut_down:
            return
        self._shut_down = True
        self.annotation.shutdown()
        self.review.shutdown()
        self.batch.shutdown()
        self.navigation.shutdown()
        self.prediction.shutdown()

    # --- wiring --------------------------------------------------------------------------------
    def _on_navigation_project_opened(self, project: Project) -> None:
        model = self.prediction.model
        self.prediction.attach(project)
        self.annotation.attach(project, model.class_table if model is not None else None)
        self.navigation.apply_reviews(self.review.attach(project))

    def _on_navigation_image_selected(self, _name: str) -> None:
        self.annotation.autosave_leaving()
        self.prediction.leave_image()
        self.review.leave_image()

    def _on_navigation_image_shown(self, loaded: LoadedImage) -> None:
        self.image_arrived.emit(loaded)
        self.annotation.open_image(loaded)
        self.review.set_image(loaded)
        self.image_shown.emit(loaded.name)
        self.prediction.show_image(loaded)

    def _on_navigation_image_failed(self, name: str, _error: str) -> None:
        # Nothing of the previous image stays editable over the blank canvas (its edits stay in
        # the session, saved by autosave or on leaving the project).
        self.annotation.close_image()
        self.prediction.show_image(None)
        self.review.set_image(None)
        self.image_unreadable.emit(name)

    def _on_prediction_model_loaded(self, info: ModelInfo) -> None:
        self.annotation.adopt_model_table(info.class_table)

    def _start_background_pass(self) -> None:
        if self.prediction.mask is not None:
            self.count_in_background()

    def _on_prediction_shown(self, shown: ShownPrediction) -> None:
        self.navigation.files.set_predicted(shown.name, shown.regions())
        self.review.set_prediction(shown.model_id, shown.areas())
        self.last_switch_ms = (time.perf_counter() - self.navigation.selected_at) * 1e3
        self.prediction_shown.emit(shown.name)
        self.prediction.prefetch(self.navigation.next_decoded())
        if not self.prediction.inference.background_left:
            self.count_in_background()  # after a model change or a new project: every image again

    def _on_annotation_class_table_changed(self, table: ClassTable) -> None:
        self.prediction.set_project_table(table)
        # The prediction controller may have grown the table meanwhile (labels_missing, a nested
        # class_table_changed): the review gets the table as it is now, not this older one.
        self.review.set_class_table(self.annotation.class_table)
