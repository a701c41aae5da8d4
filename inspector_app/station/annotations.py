"""Annotation wiring: save (Ctrl+S), autosave on switch and on a timer, unsaved markers, class table
upkeep (unknown labels are added and noticed) and "Accept prediction".

A mixin of :class:`inspector_app.main_window.MainWindow` (methods only; the window owns the state).
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from inspector_app.core.classes import ClassTable
from inspector_app.editing import SaveError
from inspector_app.services.project import ProjectError
from inspector_app.station.base import StationBase


def without_specks(mask: np.ndarray, min_area: int) -> np.ndarray:
    """The mask with 8-connected regions smaller than ``min_area`` px set to background.

    Accepting a prediction should give the operator shapes worth editing, not one polygon per
    stray pixel; the overlay still shows everything the model found.
    """
    if min_area <= 1:
        return mask
    out = mask.copy()
    for value in np.unique(mask):
        if value == 0:
            continue
        binary = (mask == value).view(np.uint8)
        _n, labels, stats, _c = cv2.connectedComponentsWithStats(binary, connectivity=8)
        small = np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] < min_area) + 1
        if len(small):
            out[np.isin(labels, small)] = 0
    return out


class AnnotationsMixin(StationBase):
    """See the module docstring."""

    def _session_name(self) -> str | None:
        """List name of the image the session holds.

        Not always ``_current_name``: while the next image loads, or when it cannot be decoded,
        the session still holds the previous image and its edits, so saves and unsaved markers
        must be booked to that one.
        """
        path = self.session.image_path
        if path is None or self.project is None:
            return None
        return self.project.relative(path)

    def save_current(self) -> bool:
        """Ctrl+S: save the open image's annotations; on failure say why and keep the edits.

        With no image open (the one selected could not be decoded), it saves the images left
        with unsaved edits instead of doing nothing.
        """
        if self.session.image_path is None:
            return bool(self.session.dirty_images()) and self._save_all_dirty()
        self.canvas.commit_pending()
        try:
            self.session.save()
        except SaveError as exc:
            self.notice.show_message(str(exc), "error")
            self.status.set_save_state("save failed")
            return False
        self._after_save(self.session.image_path)
        return True

    def _after_save(self, image_path: Path | None) -> None:
        """Book a save to its row: shape counts, no unsaved marker."""
        if image_path is not None and self.project is not None:
            name = self.project.relative(image_path)
            counts = Counter(shape.label for shape in self.session.shapes_of(image_path))
            self.list_model.set_annotation(name, dict(counts))
            self.list_model.set_dirty(name, False)
        self.status.set_save_state(f"saved {time.strftime('%H:%M:%S')}")

    def _autosave_leaving(self) -> None:
        """Before another image is shown: save the one left if it has edits (setting)."""
        if self.project is None or self._current_name is None:
            return
        self.canvas.commit_pending()
        if not self.session.is_dirty or not self.project.settings.autosave_on_switch:
            return
        try:
            self.session.save()
        except SaveError as exc:
            self.notice.show_message(f"Autosave failed — {exc}", "error")
            return
        self._after_save(self.session.image_path)

    def _on_autosave_timer(self) -> None:
        if self.session.is_dirty:
            self.canvas.commit_pending()
            try:
                self.session.save()
            except SaveError as exc:
                self.notice.show_message(f"Autosave failed — {exc}", "error")
                self.status.set_save_state("autosave failed")
                return
            self._after_save(self.session.image_path)

    def _restart_autosave(self) -> None:
        seconds = self.project.settings.autosave_seconds if self.project else 0
        if seconds > 0:
            self.autosave_timer.start(seconds * 1000)
        else:
            self.autosave_timer.stop()

    def _save_all_dirty(self) -> bool:
        self.canvas.commit_pending()
        failed = []
        for image_path in self.session.dirty_images():
            try:
                self.session.save_image(image_path)
            except SaveError as exc:
                failed.append(str(exc))
            else:
                self._after_save(image_path)
        if self.session.image_path is not None and not self.session.is_dirty:
            self._on_dirty_changed(False)
        if failed:
            self.notice.show_message(" ".join(failed), "error")
            return False
        return True

    def _on_shapes_changed(self) -> None:
        name = self._session_name()
        if name is not None and self.session.is_dirty:
            counts = Counter(shape.label for shape in self.session.state.shapes)
            self.list_model.set_shape_counts(name, counts)

    def _on_dirty_changed(self, dirty: bool) -> None:
        name = self._session_name()
        if name is not None:
            self.list_model.set_dirty(name, dirty)
        self.setWindowModified(dirty)
        self.status.set_save_state("unsaved edits" if dirty else "")

    def _on_session_save_noticed(self, text: str) -> None:
        self.notice.show_message(text, "warning")

    def _on_labels_added(self, labels: list[str]) -> None:
        if not labels:
            return
        saved = self._persist_class_table()
        where = " (saved to .inspector/classes.yaml)" if saved else ""
        self.notice.show_message(
            f"New label(s) {', '.join(labels)} added to the project's classes{where}.", "warning"
        )

    def _use_class_table(self, table: ClassTable) -> None:
        """Show shapes with ``table`` without writing it to the project (nothing was added)."""
        self._adopting_table = True
        try:
            self.session.set_class_table(table)
        finally:
            self._adopting_table = False

    def _on_class_table_changed(self) -> None:
        # A label typed by the operator grows the table: the project keeps it. Adopting the
        # folder's or the model's table is not a change to save.
        if (
            not self._adopting_table
            and self.project is not None
            and self.project.class_table != self.session.class_table
        ):
            self._persist_class_table()
        self._update_class_filters()
        if self._sync_class_map() and self._current is not None:
            self._request_prediction()  # the shown prediction was numbered the old way
        self._apply_class_visibility()  # a grown table: its new classes are visible

    def _persist_class_table(self) -> bool:
        if self.project is None:
            return False
        try:
            self.project.set_class_table(self.session.class_table)
        except ProjectError as exc:
            self.notice.show_message(f"Could not save the class table: {exc}", "error")
            return False
        self._update_class_filters()
        return True

    def accept_prediction(self, classes: list[int] | None) -> int:
        """Turn the shown prediction (all classes or some) into polygons: one undoable edit.

        ``classes`` and the prediction's mask are in project class indices (the class map was
        applied in the worker), so labels come from the session's table.
        """
        model = self.inference.model
        if self._prediction is None or model is None or self.session.image_path is None:
            self.notice.show_message("There is no prediction for this image yet.", "warning")
            return 0
        settings = self.project.settings if self.project else None
        tolerance = settings.accept_tolerance if settings else 1.0
        mask = without_specks(self._prediction.mask, settings.accept_min_area if settings else 0)
        ids = self.session.accept_prediction(mask, classes, tolerance, class_table=self.session.class_table)
        self.notice.show_message(f"{len(ids)} shape(s) added from the prediction (Ctrl+Z undoes).", "info")
        return len(ids)
