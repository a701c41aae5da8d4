"""File list and navigation: listing, selection, hand-over of decoded images, neighbour prefetch.

A mixin of :class:`inspector_app.main_window.MainWindow` (methods only; the window owns the state).
"""

from __future__ import annotations

import time

from inspector_app.jobs.loader import LoadedImage
from inspector_app.services.file_entries import FileEntry, ScanResult
from inspector_app.services.project import annotation_path
from inspector_app.station.base import StationBase


class NavigationMixin(StationBase):
    """See the module docstring."""

    # ============================================================ file list
    def _on_listed(self, names: list[str]) -> None:
        first_chunk = self.list_model.rowCount() == 0
        self.list_model.append_names(names)
        if first_chunk and self.file_panel.current_row() is None:
            row = 0
            project = self.project
            if project is not None and project.initial_image is not None:
                found = self.list_model.row_of(project.relative(project.initial_image))
                row = found if found is not None else 0
            self.file_panel.select_row(row)

    def _on_listing_done(self, total: int) -> None:
        self.file_panel.set_listing(False)
        self.file_panel.set_scan_progress(0, total)
        if total == 0 and self.project is not None:
            self.notice.show_message(f"No images in {self.project.root}", "warning")
            self.status.set_no_image("No images")
        self._update_summary()

    def _on_scanned(self, results: list[ScanResult]) -> None:
        self.list_model.apply_scans(results)
        held = self._session_name()
        if held is not None:
            # The image the session holds (not yet the one loading): it knows better than the disk.
            self.list_model.set_dirty(held, self.session.is_dirty)
        self._update_class_filters()

    def step(self, delta: int) -> bool:
        """Next (+1) / previous (-1) image of the visible list."""
        moved = self.file_panel.step(delta)
        if not moved and self.list_model.rowCount():
            self.status.showMessage("End of the list" if delta > 0 else "Start of the list", 2000)
        return moved

    def next_unreviewed(self) -> bool:
        """Go to the next image without a verdict (wrapping around)."""
        found = self.file_panel.next_matching(lambda e: e.verdict is None)
        if not found:
            self.notice.show_message("Every image has a verdict.", "info")
        return found

    def current_entry(self) -> FileEntry | None:
        """The list entry of the image on screen."""
        row = self.file_panel.current_row()
        return self.list_model.entry(row) if row is not None else None

    def _on_row_selected(self, row: int) -> None:
        if self.project is None:
            return
        self._autosave_leaving()
        entry = self.list_model.entry(row)
        path = self.project.root / entry.name
        self._request_started = time.perf_counter()
        self._current_name = entry.name
        self._current = None
        self._prediction = None
        self.scanner.prioritize(entry.name)
        self.inference.cancel_pending()
        loaded = self.loader.request(entry.name, path)
        if loaded is not None:
            self._show_loaded(loaded)
        else:
            self.status.set_image(entry.name + " (loading…)", 0, 0)

    def _prefetch_neighbours(self) -> None:
        row = self.file_panel.current_row()
        if row is None or self.project is None:
            return
        proxy = self.file_panel.proxy
        proxy_row = proxy.proxy_row(row)
        items = []
        for delta in (1, 2, -1):
            r = proxy_row + delta
            if proxy_row >= 0 and 0 <= r < proxy.rowCount():
                name = self.list_model.entry(proxy.source_row(r)).name
                items.append((name, self.project.root / name))
        self.loader.prefetch(items)

    def _next_loaded(self) -> LoadedImage | None:
        """The next visible image if the loader already decoded it."""
        row = self.file_panel.current_row()
        proxy = self.file_panel.proxy
        if row is None or self.project is None:
            return None
        r = proxy.proxy_row(row) + 1
        if not 0 < r < proxy.rowCount():
            return None
        name = self.list_model.entry(proxy.source_row(r)).name
        return self.loader.cache.get(str(self.project.root / name))

    # ============================================================ image + annotations
    def _show_loaded(self, loaded: LoadedImage) -> None:
        if loaded.name != self._current_name or self.project is None:
            return  # the operator moved on
        if loaded.error is not None or loaded.image is None or loaded.display is None:
            self.list_model.set_image_error(loaded.name, loaded.error)
            # Leave nothing of the previous image editable over the blank canvas (its edits stay
            # in the session, saved by autosave or on leaving the project).
            self.session.close()
            self.canvas.set_image(None)
            self.canvas.set_prediction(None)
            self.legend.clear_stats("Image not readable")
            self.status.set_no_image(f"{loaded.name}: unreadable")
            self.notice.show_message(f"Cannot read {loaded.name}: {loaded.error}", "error")
            self._current = None
            self.verdict_bar.set_enabled_for_image(False)
            return
        self._current = loaded
        image = loaded.image
        self.canvas.set_prediction(None)
        self.canvas.set_image(loaded.display)
        self.session.open(loaded.path, annotation_path(loaded.path), image.shape)
        if self.session.unreadable:
            self.list_model.set_annotation(loaded.name, {}, error=self.session.unreadable)
            self.notice.show_message(
                f"The annotation file of {loaded.name} is unreadable (it will not be overwritten): "
                f"{self.session.unreadable}",
                "error",
            )
        channels = 1 if image.ndim == 2 else int(image.shape[2])
        height, width = int(image.shape[0]), int(image.shape[1])
        self.status.set_image(loaded.name, height, width, str(image.dtype), channels)
        self.verdict_bar.set_enabled_for_image(True)
        self.verdict_bar.set_current(self._reviews.get(loaded.name))
        self._update_title()
        self._prefetch_neighbours()
        self.image_shown.emit(loaded.name)
        self._request_prediction()
