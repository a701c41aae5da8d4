"""Background folder scanner: names first, then per-file status, in batches, cancellable."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from inspector_app.services.file_entries import ScanResult, iter_listing, json_name_for, scan_file

#: Results are delivered to the GUI at most this often (each delivery is one dataChanged).
_BATCH_SECONDS = 0.1
_BATCH_MAX = 500


class _ScanThread(QThread):
    """Runs the two phases; owned by :class:`FolderScanner`.

    Every signal carries the scan's generation number so that the scanner can drop what a
    cancelled scan still had in the event queue.
    """

    listed = Signal(int, list)  # generation, chunk of names
    listing_done = Signal(int, int)  # generation, total images
    scanned = Signal(int, list)  # generation, list[ScanResult]
    progress = Signal(int, int, int)  # generation, done, total
    failed = Signal(int, str)

    def __init__(self, root: Path, max_depth: int, generation: int) -> None:
        super().__init__()
        self.root = root
        self.max_depth = max_depth
        self.generation = generation
        self.cancelled = threading.Event()
        self._priority: list[str] = []
        self._priority_lock = threading.Lock()

    def prioritize(self, name: str) -> None:
        """Scan this image next (the one on screen), thread-safe."""
        with self._priority_lock:
            self._priority.append(name)

    def run(self) -> None:
        """Phase 1: list names (emitted per folder). Phase 2: scan each file, batched."""
        names: list[str] = []
        jsons: set[str] = set()
        try:
            for chunk, chunk_jsons in iter_listing(self.root, max_depth=self.max_depth):
                if self.cancelled.is_set():
                    return
                names.extend(chunk)
                jsons |= chunk_jsons
                self.listed.emit(self.generation, chunk)
        except OSError as exc:
            self.failed.emit(self.generation, f"{self.root}: cannot list the folder ({exc.strerror or exc})")
            return
        total = len(names)
        self.listing_done.emit(self.generation, total)
        done_names: set[str] = set()
        batch: list[ScanResult] = []
        last_emit = time.monotonic()
        index = 0
        done = 0
        while not self.cancelled.is_set():
            name = self._next_priority(done_names)
            if name is None:
                if index >= total:
                    break
                name = names[index]
                index += 1
                if name in done_names:
                    continue
            done_names.add(name)
            batch.append(scan_file(self.root, name, json_name_for(name) in jsons))
            done += 1
            now = time.monotonic()
            if len(batch) >= _BATCH_MAX or now - last_emit >= _BATCH_SECONDS:
                self.scanned.emit(self.generation, batch)
                self.progress.emit(self.generation, done, total)
                batch = []
                last_emit = now
        if batch and not self.cancelled.is_set():
            self.scanned.emit(self.generation, batch)
        if not self.cancelled.is_set():
            self.progress.emit(self.generation, total, total)

    def _next_priority(self, done_names: set[str]) -> str | None:
        with self._priority_lock:
            while self._priority:
                name = self._priority.pop()
                if name not in done_names:
                    return name
        return None


class FolderScanner(QObject):
    """Lists a folder and scans its images in a background thread.

    Signals are delivered on the GUI thread: ``listed(names)`` per directory chunk (sorted),
    ``listing_done(total)``, ``scanned(results)`` in batches, ``progress(done, total)``,
    ``finished()`` and ``failed(message)``. Starting a new scan cancels the previous one; results
    of a cancelled scan are never delivered.
    """

    listed = Signal(list)
    listing_done = Signal(int)
    scanned = Signal(list)
    progress = Signal(int, int)
    finished = Signal()
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: _ScanThread | None = None
        self._generation = 0
        #: Cancelled threads still running: referenced until they end (a QThread destroyed while
        #: running aborts the process).
        self._retired: set[_ScanThread] = set()

    def start(self, root: Path, *, max_depth: int = 2) -> None:
        """Scan ``root`` (cancelling any scan in progress)."""
        self.cancel(wait_ms=0)
        self._generation += 1
        thread = _ScanThread(root, max_depth, self._generation)
        thread.listed.connect(self._on_listed)
        thread.listing_done.connect(self._on_listing_done)
        thread.scanned.connect(self._on_scanned)
        thread.progress.connect(self._on_progress)
        thread.failed.connect(self._on_failed)
        thread.finished.connect(self._on_thread_finished)
        self._thread = thread
        thread.start(QThread.Priority.LowPriority)

    def prioritize(self, name: str) -> None:
        """Scan ``name`` next (no-op when no scan runs)."""
        if self._thread is not None:
            self._thread.prioritize(name)

    def is_running(self) -> bool:
        """True while a scan is in progress."""
        return self._thread is not None and self._thread.isRunning()

    def cancel(self, wait_ms: int = 5000) -> None:
        """Stop the current scan; wait up to ``wait_ms`` for its thread (one step is one file)."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        thread.cancelled.set()
        if not thread.wait(wait_ms):
            self._retired.add(thread)

    def shutdown(self) -> None:
        """Cancel and wait for every scan thread (call before the application quits)."""
        self.cancel()
        for thread in list(self._retired):
            thread.wait()
        self._retired.clear()

    def _current(self, generation: int) -> bool:
        return self._thread is not None and generation == self._thread.generation

    @Slot(int, list)
    def _on_listed(self, generation: int, names: list[str]) -> None:
        if self._current(generation):
            self.listed.emit(names)

    @Slot(int, int)
    def _on_listing_done(self, generation: int, total: int) -> None:
        if self._current(generation):
            self.listing_done.emit(total)

    @Slot(int, list)
    def _on_scanned(self, generation: int, results: list[ScanResult]) -> None:
        if self._current(generation):
            self.scanned.emit(results)

    @Slot(int, int, int)
    def _on_progress(self, generation: int, done: int, total: int) -> None:
        if self._current(generation):
            self.progress.emit(done, total)

    @Slot(int, str)
    def _on_failed(self, generation: int, message: str) -> None:
        if self._current(generation):
            self.failed.emit(message)

    @Slot()
    def _on_thread_finished(self) -> None:
        for old in list(self._retired):
            if old.isFinished():
                self._retired.discard(old)
        current = self._thread
        if current is not None and current.isFinished():
            self._thread = None
            self.finished.emit()
