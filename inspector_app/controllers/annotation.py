"""Annotation: the editing session, save (Ctrl+S), autosave on switch and on a timer, unsaved
markers, the project's class table (unknown labels are added and noticed) and "Accept prediction".

The session can hold another image than the one selected: while the next image loads, or when it
cannot be decoded, it still holds the previous image and its edits, so saves and unsaved markers
are booked to :meth:`AnnotationController.held_name`, never to the selection.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QEventLoop, QObject, QTimer, Signal

from inspector_app.core.classes import ClassTable
from inspector_app.editing import AnnotationSession, SaveError
from inspector_app.editing.files import SaveResult, SaveTicket, write_ticket
from inspector_app.jobs.file_jobs import FileJobs
from inspector_app.jobs.loader import LoadedImage
from inspector_app.services.project import Project, ProjectError, annotation_path


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


class AnnotationController(QObject):
    """Owns the :class:`AnnotationSession` and its saving. Signals (GUI thread):

    ``saved(name, shape counts)`` (a save written); ``save_failed(name, why)`` (edits kept);
    ``saves_progressed(done, total)`` and ``saves_settled()`` (saves in flight);
    ``dirty_marked(name, dirty)`` (list marker of an image);
    ``dirty_changed(dirty)`` (the held image); ``save_state_changed(text)``;
    ``shape_counts_changed(name, counts)`` (unsaved edits); ``annotation_unreadable(name, error)``;
    ``class_table_changed(ClassTable)``; ``notice_posted(text, level)``;
    ``prediction_accepted(count)`` (shapes added by :meth:`accept_prediction`).

    ``flush_edits`` is called before every save: the canvas commits a drag or a drawing in
    progress (given by the window, so this controller knows no view).
    """

    saved = Signal(str, dict)
    dirty_marked = Signal(str, bool)
    dirty_changed = Signal(bool)
    save_state_changed = Signal(str)
    shape_counts_changed = Signal(str, object)
    annotation_unreadable = Signal(str, str)
    class_table_changed = Signal(object)
    notice_posted = Signal(str, str)
    prediction_accepted = Signal(int)
    save_failed = Signal(str, str)
    saves_progressed = Signal(int, int)
    saves_settled = Signal()

    def __init__(self, flush_edits: Callable[[], None] = lambda: None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = AnnotationSession(parent=self)
        self._flush = flush_edits
        self._project: Project | None = None
        #: Where the session's class table came from: project | folder | model | none.
        self._table_source = "none"
        self._adopting = False
        self._writer = FileJobs("annotation-writer", self)
        self._writer.finished.connect(self._on_writer_finished)
        self._in_flight: dict[int, tuple[SaveTicket, str]] = {}
        self._saving: set[Path] = set()
        self._again: dict[Path, str] = {}
        self._failures = 0
        self._done = 0
        self.autosave_timer = QTimer(self)
        self.autosave_timer.timeout.connect(self._on_autosave_timer_timeout)
        self.session.dirty_changed.connect(self._on_session_dirty_changed)
        self.session.shapes_changed.connect(self._on_session_shapes_changed)
        self.session.labels_added.connect(self._on_session_labels_added)
        self.session.class_table_changed.connect(self._on_session_class_table_changed)
        self.session.save_noticed.connect(self._on_session_save_noticed)

    # --- state -------------------------------------------------------------------------------
    @property
    def class_table(self) -> ClassTable:
        """The project's class table (the session's)."""
        return self.session.class_table

    @property
    def is_dirty(self) -> bool:
        """The held image has unsaved edits."""
        return self.session.is_dirty

    def held_name(self) -> str | None:
        """List name of the image the session holds (see the module docstring)."""
        path = self.session.image_path
        if path is None or self._project is None:
            return None
        return self._project.relative(path)

    # --- project and image -------------------------------------------------------------------
    def attach(self, project: Project, model_table: ClassTable | None) -> None:
        """A project was opened: pick its class table and restart the autosave timer.

        The table is the project's; else a ``classes.yaml`` at the folder root (as in the bundled
        demo and the datasets); else the model's; else none (labels met are added).
        """
        self._project = project
        # A bad folder classes.yaml is in project.warnings (shown at open).
        table, self._table_source = project.table_in_use(model_table)
        self._adopt(table or ClassTable.from_labels([]))
        self.restart_autosave()

    def adopt_model_table(self, table: ClassTable) -> None:
        """A model was loaded: use its classes unless the project or folder defines them."""
        if self._project is not None and self._table_source in ("model", "none"):
            self._adopt(table)
            self._table_source = "model"

    def add_model_labels(self, labels: list[str], model_name: str) -> None:
        """The model predicts labels the table lacks: add them (persisted) and say so."""
        self._adopt(self.class_table.with_labels(labels)[0])
        saved = self._persist_table()
        where = " (saved to .inspector/classes.yaml)" if saved else ""
        self.notice_posted.emit(
            f"Model {model_name} predicts label(s) {', '.join(labels)} that the project's classes "
            f"lacked: added{where}.",
            "warning",
        )

    def open_image(self, loaded: LoadedImage) -> None:
        """Edit the annotations of a decoded image (an unreadable file is never overwritten)."""
        assert loaded.image is not None
        self.session.open(
            loaded.path, annotation_path(loaded.path), loaded.image.shape, preread=loaded.annotation
        )
        if self.session.unreadable:
            self.annotation_unreadable.emit(loaded.name, self.session.unreadable)
            self.notice_posted.emit(
                f"The annotation file of {loaded.name} is unreadable (it will not be overwritten): "
                f"{self.session.unreadable}",
                "error",
            )

    def close_image(self) -> None:
        """Nothing editable on screen (its edits stay in the session until saved)."""
        self.session.close()

    def accept_prediction(self, mask: np.ndarray | None, classes: list[int] | None) -> int:
        """Turn a prediction mask (project indices; all classes or some) into polygons: one
        undoable edit. Returns the number of shapes added."""
        if mask is None or self.session.image_path is None:
            self.notice_posted.emit("There is no prediction for this image yet.", "warning")
            return 0
        settings = self._project.settings if self._project else None
        tolerance = settings.accept_tolerance if settings else 1.0
        mask = without_specks(mask, settings.accept_min_area if settings else 0)
        ids = self.session.accept_prediction(mask, classes, tolerance, class_table=self.class_table)
        # Not a notice_posted: the view shows it until the next edit (prediction_accepted).
        self.prediction_accepted.emit(len(ids))
        return len(ids)

    # --- saving ------------------------------------------------------------------------------
    # Saves are written by the writer thread (serialising a large document takes seconds); the
    # session stays the owner of the state here. One save per image is in flight at a time: a
    # save asked for meanwhile runs when it ends, from the state as it is then.
    def save_current(self) -> bool:
        """Ctrl+S: start saving the held image (``saved`` or ``save_failed`` follows); False
        when it cannot start. A failure says why and keeps the edits.

        With no image held (the one selected could not be decoded), it saves the images left
        with unsaved edits instead of doing nothing.
        """
        if self.session.image_path is None:
            return bool(self.session.dirty_images()) and self.save_all()
        self._flush()
        return self._start_save(self.session.image_path, "")

    def save_all(self) -> bool:
        """Save every image with edits and wait for every save in flight (the event loop keeps
        running; ``saves_progressed(done, total)`` tells the progress). False (with a notice) when
        one could not be saved: its edits stay in memory."""
        self._flush()
        failures_before = self._failures
        for image_path in self.session.dirty_images():
            self._start_save(image_path, "")
        self.wait_for_saves()
        if self.session.image_path is not None and not self.session.is_dirty:
            self._on_session_dirty_changed(False)
        return self._failures == failures_before and not self.session.dirty_images()

    def wait_for_saves(self) -> None:
        """Return once no save is in flight, running the event loop meanwhile (closing the window,
        leaving a project: nothing is lost)."""
        total = len(self._in_flight)
        if not total:
            return
        loop = QEventLoop()
        self.saves_settled.connect(loop.quit)
        # The status bar shows the progress ("saving 2 of 5…") while closing or leaving waits.
        progress = self.saves_progressed.connect(self._on_saves_progressed)
        try:
            self.saves_progressed.emit(self._done, self._done + total)
            loop.exec()
        finally:
            self.saves_settled.disconnect(loop.quit)
            self.saves_progressed.disconnect(progress)

    def _on_saves_progressed(self, done: int, total: int) -> None:
        if done < total:
            self.save_state_changed.emit(f"saving {done + 1} of {total}…")

    def autosave_leaving(self) -> None:
        """Before another image is shown: save the one left if it has edits (setting)."""
        if self._project is None or self.session.image_path is None:
            return
        self._flush()
        if not self.session.is_dirty or not self._project.settings.autosave_on_switch:
            return
        self._start_save(self.session.image_path, "Autosave failed — ")

    def shutdown(self) -> None:
        """Stop the writer thread once the saves queued are written."""
        self.autosave_timer.stop()
        self._writer.shutdown()

    def _start_save(self, image_path: Path, failure_prefix: str) -> bool:
        if image_path in self._saving:
            self._again[image_path] = failure_prefix
            return True
        try:
            ticket = self.session.begin_save(image_path)
        except SaveError as exc:
            self.notice_posted.emit(failure_prefix + str(exc), "error")
            return False
        token = self._writer.submit(partial(write_ticket, ticket))
        self._in_flight[token] = (ticket, failure_prefix)
        self._saving.add(image_path)
        self.save_state_changed.emit("saving…")
        return True

    def _on_writer_finished(self, token: int, result: object, error: object) -> None:
        ticket, prefix = self._in_flight.pop(token)
        self._saving.discard(ticket.image_path)
        path = ticket.image_path
        name = self._project.relative(path) if self._project is not None else path.name
        if error is not None or not isinstance(result, SaveResult):
            self._failures += 1
            if not isinstance(error, SaveError):  # a bug in the writer: still say which file
                error = SaveError(ticket.json_path, str(error))
            text = str(error)
            self.notice_posted.emit(prefix + text, "error")
            self.save_state_changed.emit("save failed")
            self.save_failed.emit(name, text)
        else:
            clean = self.session.finish_save(ticket, result)
            counts = Counter(shape.label for shape in ticket.document.shapes)
            self.saved.emit(name, dict(counts))
            self.dirty_marked.emit(name, not clean)
            self.save_state_changed.emit(f"saved {time.strftime('%H:%M:%S')}")
        again = self._again.pop(ticket.image_path, None)
        if again is not None and ticket.image_path in self.session.dirty_images():
            self._start_save(ticket.image_path, again)
        self._done += 1
        self.saves_progressed.emit(self._done, self._done + len(self._in_flight))
        if not self._in_flight:
            self._done = 0
            self.saves_settled.emit()

    def restart_autosave(self) -> None:
        """Start (or stop) the autosave timer from the project's settings."""
        seconds = self._project.settings.autosave_seconds if self._project else 0
        if seconds > 0:
            self.autosave_timer.start(seconds * 1000)
        else:
            self.autosave_timer.stop()

    def refresh_dirty_marker(self) -> None:
        """Re-announce the held image's unsaved marker (a scan result does not know it)."""
        name = self.held_name()
        if name is not None:
            self.dirty_marked.emit(name, self.session.is_dirty)

    def _on_autosave_timer_timeout(self) -> None:
        if not self.session.is_dirty or self.session.image_path is None:
            return
        self._flush()
        self._start_save(self.session.image_path, "Autosave failed — ")

    # --- class table -------------------------------------------------------------------------
    def _adopt(self, table: ClassTable) -> None:
        """Show shapes with ``table`` without writing it to the project (nothing was added)."""
        self._adopting = True
        try:
            self.session.set_class_table(table)
        finally:
            self._adopting = False

    def _persist_table(self) -> bool:
        if self._project is None:
            return False
        try:
            self._project.set_class_table(self.class_table)
        except ProjectError as exc:
            self.notice_posted.emit(f"Could not save the class table: {exc}", "error")
            return False
        return True

    # --- session signals ---------------------------------------------------------------------
    def _on_session_shapes_changed(self) -> None:
        name = self.held_name()
        if name is not None and self.session.is_dirty:
            self.shape_counts_changed.emit(name, Counter(shape.label for shape in self.session.state.shapes))

    def _on_session_save_noticed(self, text: str) -> None:
        # What a save corrected or kept (image size fields, embedded imageData) is said, not silent.
        self.notice_posted.emit(text, "warning")

    def _on_session_dirty_changed(self, dirty: bool) -> None:
        name = self.held_name()
        if name is not None:
            self.dirty_marked.emit(name, dirty)
        self.dirty_changed.emit(dirty)
        self.save_state_changed.emit("unsaved edits" if dirty else "")

    def _on_session_labels_added(self, labels: list[str]) -> None:
        if not labels:
            return
        saved = self._persist_table()
        where = " (saved to .inspector/classes.yaml)" if saved else ""
        self.notice_posted.emit(
            f"New label(s) {', '.join(labels)} added to the project's classes{where}.", "warning"
        )

    def _on_session_class_table_changed(self) -> None:
        # A label typed by the operator grows the table: the project keeps it. Adopting the
        # folder's or the model's table is not a change to save.
        if not self._adopting and self._project is not None and self._project.class_table != self.class_table:
            self._persist_table()
        self.class_table_changed.emit(self.class_table)
