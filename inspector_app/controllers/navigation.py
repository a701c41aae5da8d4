"""Navigation: the open project, its file list, the folder scan and the image on screen.

Owns the :class:`~inspector_app.services.project.Project`, the :class:`FileListModel` (every other
controller's news for a row reaches it through the window's wiring), the scanner and loader
threads, and which image is current. The list *view* selects rows (:meth:`select_row`); this
controller decodes the image off the GUI thread (or takes it from the prefetch cache), drops
answers for an image the operator has already left, and prefetches the visible neighbours.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from inspector_app.filelist.model import FileFilterProxy, FileListModel
from inspector_app.filelist.scanner import FolderScanner
from inspector_app.filelist.watch import FolderWatch
from inspector_app.jobs.loader import ImageLoader, LoadedImage
from inspector_app.services.file_entries import FileEntry, ScanResult
from inspector_app.services.project import Project, ProjectError
from inspector_app.services.review_log import ReviewRecord


def image_facts(image: np.ndarray) -> tuple[int, int, str, int]:
    """(height, width, dtype, channels) of a decoded image, for the status bar."""
    channels = 1 if image.ndim == 2 else int(image.shape[2])
    return int(image.shape[0]), int(image.shape[1]), str(image.dtype), channels


class NavigationController(QObject):
    """Project, file list and current image. Signals (GUI thread):

    ``project_opened(Project)`` once the list is empty and before the scan starts;
    ``listing_started()``, ``listing_progressed(done, total)``, ``listing_finished(total)``;
    ``row_proposed(row)`` the row to select when the first names arrive; ``scanned()`` after a
    chunk of statuses; ``image_selected(name)`` before the newly selected image loads (the one left
    is still in the annotation session); ``image_shown(LoadedImage)``; ``image_failed(name,
    error)``; ``notice_posted(text, level)``; ``listing_changed(total)`` when the folder watch
    added or removed images after the listing; ``current_removed(name)`` when the image on screen
    was deleted from the folder (its row is gone; the session keeps its edits).
    """

    project_opened = Signal(object)
    listing_started = Signal()
    listing_progressed = Signal(int, int)
    listing_finished = Signal(int)
    row_proposed = Signal(int)
    scanned = Signal()
    image_selected = Signal(str)
    image_shown = Signal(object)
    image_failed = Signal(str, str)
    notice_posted = Signal(str, str)
    listing_changed = Signal(int)
    current_removed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.files = FileListModel(parent=self)
        self.scanner = FolderScanner(self)
        self.loader = ImageLoader(self)
        #: New and removed files of the open folder reach the list through this watch.
        self.watch = FolderWatch(self)
        self._project: Project | None = None
        self._order: FileFilterProxy | None = None
        self._row: int | None = None
        self._current_name: str | None = None
        self._current: LoadedImage | None = None
        self._selected_at = 0.0
        self.scanner.listed.connect(self._on_scanner_listed)
        self.scanner.listing_done.connect(self._on_scanner_listing_done)
        self.scanner.scanned.connect(self._on_scanner_scanned)
        self.scanner.progress.connect(self.listing_progressed)
        self.scanner.failed.connect(lambda msg: self.notice_posted.emit(msg, "error"))
        self.loader.loaded.connect(self._on_loader_loaded)
        self.watch.files_added.connect(self._on_watch_files_added)
        self.watch.files_removed.connect(self._on_watch_files_removed)

    # --- state -------------------------------------------------------------------------------
    @property
    def project(self) -> Project | None:
        """The open project (None before one is opened)."""
        return self._project

    @property
    def current_name(self) -> str | None:
        """List name of the selected image (it may still be decoding)."""
        return self._current_name

    @property
    def current_image(self) -> LoadedImage | None:
        """The decoded image on screen; None while it loads or when it could not be read."""
        return self._current

    @property
    def selected_at(self) -> float:
        """``time.perf_counter()`` when the current image was selected."""
        return self._selected_at

    def current_entry(self) -> FileEntry | None:
        """The list entry of the selected image."""
        return self.files.entry(self._row) if self._row is not None else None

    def is_scanning(self) -> bool:
        """True while the folder is listed or scanned."""
        return self.scanner.is_running()

    def set_visible_order(self, proxy: FileFilterProxy) -> None:
        """The filtered, sorted view of :attr:`files` whose neighbours are prefetched."""
        self._order = proxy

    # --- project -----------------------------------------------------------------------------
    def open(self, path: str | Path, *, operator: str | None = None) -> Project | None:
        """Close the open project and open ``path``; None (with a notice) when it cannot be opened.

        The caller saves the annotations left first (see :meth:`AnnotationController.save_all`).
        """
        self.close_project()
        try:
            project = Project.open(path)
        except ProjectError as exc:
            self.notice_posted.emit(str(exc), "error")
            return None
        self._project = project
        if operator:
            project.settings.operator = operator
        for warning in project.warnings:
            self.notice_posted.emit(warning, "warning")
        self._row = None
        self._current_name = None
        self._current = None
        self.files.reset(project.root)
        self.project_opened.emit(project)
        self.listing_started.emit()
        self.watch.start(project.root)  # its baseline is taken before the scanner lists
        self.scanner.start(project.root)
        return project

    def close_project(self) -> None:
        """Stop the threads' work for the open project, save its view settings and close it."""
        project = self._project
        if project is None:
            return
        self.watch.stop()
        self.scanner.cancel()
        self.loader.cancel()
        self.save_view_settings()
        project.close()
        self._project = None

    def save_view_settings(self) -> None:
        """Write the project's settings when it already has a ``.inspector/`` folder."""
        project = self._project
        if project is None or not project.has_meta:
            return  # never create .inspector/ just for view settings
        try:
            project.save_settings()
        except ProjectError as exc:
            self.notice_posted.emit(str(exc), "warning")

    def save_settings(self) -> None:
        """Write the project's (changed) settings to ``.inspector/settings.json``."""
        if self._project is not None:
            try:
                self._project.save_settings()
            except ProjectError as exc:
                self.notice_posted.emit(str(exc), "error")

    def remember_view(self, *, opacity: float | None = None, layer_mode: str | None = None) -> None:
        """Keep the overlay's opacity / layer mode in the project's settings (saved on leaving)."""
        if self._project is None:
            return
        if opacity is not None:
            self._project.settings.overlay_opacity = opacity
        if layer_mode is not None:
            self._project.settings.layer_mode = layer_mode

    def apply_reviews(self, reviews: Mapping[str, ReviewRecord]) -> None:
        """Verdicts known before the names are listed (call from a ``project_opened`` slot)."""
        if self._project is not None:
            self.files.reset(self._project.root, reviews)

    def pixel_text(self, x: int, y: int) -> str | None:
        """Value of image pixel (x, y) as text ("12" or "12,40,7"); None outside the image."""
        loaded = self._current
        if loaded is None or loaded.image is None:
            return None
        image = loaded.image
        if not (0 <= y < image.shape[0] and 0 <= x < image.shape[1]):
            return None
        pixel = image[y, x]
        return str(int(pixel)) if np.ndim(pixel) == 0 else ",".join(str(int(v)) for v in pixel)

    def shutdown(self) -> None:
        """Stop the scanner and loader threads and close the project."""
        self.watch.stop()
        self.scanner.shutdown()
        self.loader.shutdown()
        if self._project is not None:
            self._project.close()

    # --- selection ---------------------------------------------------------------------------
    def select_row(self, row: int) -> None:
        """Show the image of source row ``row`` (the list view's current row)."""
        project = self._project
        if project is None:
            return
        entry = self.files.entry(row)
        self._selected_at = time.perf_counter()
        self.image_selected.emit(entry.name)
        self._row = row
        self._current_name = entry.name
        self._current = None
        self.scanner.prioritize(entry.name)
        loaded = self.loader.request(entry.name, project.root / entry.name)
        if loaded is not None:
            self._on_loader_loaded(loaded)

    def next_decoded(self) -> LoadedImage | None:
        """The next visible image if the loader already decoded it."""
        name = self._neighbour(1)
        if name is None or self._project is None:
            return None
        return self.loader.cache.get(str(self._project.root / name))

    def _neighbour(self, delta: int) -> str | None:
        proxy, row = self._order, self._row
        if proxy is None or row is None:
            return None
        proxy_row = proxy.proxy_row(row)
        target = proxy_row + delta
        if proxy_row < 0 or not 0 <= target < proxy.rowCount():
            return None
        return self.files.entry(proxy.source_row(target)).name

    def _prefetch_neighbours(self) -> None:
        if self._project is None:
            return
        names = [n for n in (self._neighbour(d) for d in (1, 2, -1)) if n is not None]
        self.loader.prefetch([(name, self._project.root / name) for name in names])

    # --- thread answers ----------------------------------------------------------------------
    def _on_scanner_listed(self, names: list[str]) -> None:
        first_chunk = self.files.rowCount() == 0
        self.files.append_names(names)
        if first_chunk and self._row is None:
            row = 0
            project = self._project
            if project is not None and project.initial_image is not None:
                found = self.files.row_of(project.relative(project.initial_image))
                row = found if found is not None else 0
            self.row_proposed.emit(row)

    def _on_scanner_listing_done(self, total: int) -> None:
        if total == 0 and self._project is not None:
            self.notice_posted.emit(f"No images in {self._project.root}", "warning")
        self.listing_finished.emit(total)

    def _on_scanner_scanned(self, results: list[ScanResult]) -> None:
        self.files.apply_scans(results)
        self.scanned.emit()

    def _on_watch_files_added(self, results: list[ScanResult]) -> None:
        if self._project is None:
            return
        before = self.files.rowCount()
        self.files.append_names(r.name for r in results)  # names the scanner listed are kept once
        self.files.apply_scans(results)
        if self.files.rowCount() != before:
            self.scanned.emit()
            self.listing_changed.emit(self.files.rowCount())

    def _on_watch_files_removed(self, names: list[str]) -> None:
        if self._project is None:
            return
        gone = self.files.remove_names(names)
        if not gone:
            return
        current = self._current_name
        self._row = self.files.row_of(current) if current is not None else None
        if current is not None and current in gone:
            self.notice_posted.emit(
                f"{current} was removed from the folder; it stays on screen and its edits are kept "
                "(they are saved beside where it was when you move on)",
                "warning",
            )
            self.current_removed.emit(current)
        self.listing_changed.emit(self.files.rowCount())

    def _on_loader_loaded(self, loaded: LoadedImage) -> None:
        if loaded.name != self._current_name or self._project is None:
            return  # the operator moved on
        if loaded.error is not None or loaded.image is None or loaded.display is None:
            self.files.set_image_error(loaded.name, loaded.error)
            self._current = None
            self.notice_posted.emit(f"Cannot read {loaded.name}: {loaded.error}", "error")
            self.image_failed.emit(loaded.name, str(loaded.error))
            return
        self._current = loaded
        self._prefetch_neighbours()
        self.image_shown.emit(loaded)
