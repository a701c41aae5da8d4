"""Keeps the file list of an open folder in step with the disk: new images appear, removed ones go.

A :class:`QFileSystemWatcher` on the project folder and its listed subfolders (directories only:
a 10,000-image folder costs one watch per folder, not per file) says *which folder* changed. The
GUI thread only records that folder; a worker thread lists it (``os.scandir``, one folder, never
the whole tree) and compares it with the names it knew. A new file is reported once it is
complete: its size and mtime have not changed for ``settle_s`` and it decodes (a camera or a copy
still writing it fails one or the other); until then the worker re-checks it every ``settle_s``.
A file that is stable but still does not decode after ``give_up_s`` is listed anyway: the list
shows it as unreadable, with the reason, like the scanner does for a broken file.
"""

from __future__ import annotations

import os
import queue
import threading
import time
import weakref
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal, Slot

from inspector_app.core.images import IMAGE_SUFFIXES, ImageReadError, read_image
from inspector_app.services.file_entries import ScanResult, json_name_for, scan_file

#: Folders the scanner does not list either (see ``iter_listing``).
_SKIP_DIRS = frozenset({"__pycache__", "node_modules"})
#: Folder-change bursts (a copy of 500 files) are gathered this long before the worker lists.
_DEBOUNCE_MS = 150


def _list_folder(folder: Path, prefix: str) -> tuple[set[str], list[str]] | None:
    """(relative image names, subfolder names) of one folder; None if it cannot be listed.

    No ``stat`` per file (the directory entry's type is enough): relisting a 10,000-image folder
    after one change stays one ``scandir``; only new names are stat'ed, by the caller.
    """
    images: set[str] = set()
    subdirs: list[str] = []
    try:
        with os.scandir(folder) as entries:
            for item in entries:
                if item.name.startswith("."):
                    continue
                try:
                    if item.is_dir():
                        if item.name not in _SKIP_DIRS:
                            subdirs.append(item.name)
                    elif os.path.splitext(item.name)[1].lower() in IMAGE_SUFFIXES:
                        images.add(prefix + item.name)
                except OSError:
                    continue  # vanished while listed: the next change lists it again
    except OSError:
        return None
    return images, subdirs


class _Worker(threading.Thread):
    """Lists changed folders and settles new files; reports through its owner's signals."""

    def __init__(
        self, owner: FolderWatch, root: Path, max_depth: int, settle_s: float, give_up_s: float
    ) -> None:
        super().__init__(name="folder-watch", daemon=True)
        # Weak: the watch (with its Qt timer and notifier) must never be destroyed on this thread.
        self._owner = weakref.ref(owner)
        self.root = root
        self.max_depth = max_depth
        self.settle_s = settle_s
        self.give_up_s = give_up_s
        self.stopped = threading.Event()
        self.folders: queue.Queue[str] = queue.Queue()
        self._known: dict[str, set[str]] = {}  # relative folder prefix -> image names in it
        # relative name -> (size, mtime_ns, monotonic time of the last change, first seen)
        self._pending: dict[str, tuple[int, int, float, float]] = {}

    def run(self) -> None:
        """Baseline listing first (what the scanner lists is not news), then wait for folders."""
        if _list_folder(self.root, "") is None:
            return  # the scanner reports an unreadable root
        stack = [(self.root, "", 0)]
        while stack and not self.stopped.is_set():
            folder, prefix, depth = stack.pop()
            listed = _list_folder(folder, prefix)
            images, subdirs = listed if listed is not None else (set(), [])
            self._known[prefix] = images
            if depth < self.max_depth:
                stack.extend((folder / sub, f"{prefix}{sub}/", depth + 1) for sub in subdirs)
        self._emit("found", sorted(str(self.root / p) for p in self._known))
        while not self.stopped.is_set() and self._owner() is not None:
            try:
                changed = {self.folders.get(timeout=self.settle_s)}
            except queue.Empty:
                changed = set()
            while not self.folders.empty():
                changed.add(self.folders.get_nowait())
            for path in changed:
                self._relist(path)
            if self._pending:
                self._settle()

    def _relist(self, path: str) -> None:
        try:
            rel = Path(path).relative_to(self.root).as_posix()
        except ValueError:
            return
        prefix = "" if rel in ("", ".") else rel + "/"
        listed = _list_folder(Path(path), prefix)
        images, subdirs = listed if listed is not None else (set(), [])
        known = self._known.setdefault(prefix, set())
        removed = sorted(known - images)
        known -= set(removed)
        for name in list(self._pending):
            if _prefix_of(name) == prefix and name not in images:
                del self._pending[name]  # removed before it was complete
        now = time.monotonic()
        for name in images - known:
            if name not in self._pending:
                self._pending[name] = (-1, -1, now, now)  # stat'ed by _settle
        depth = prefix.count("/")
        new_folders: list[str] = []
        for sub in subdirs:
            if depth < self.max_depth and f"{prefix}{sub}/" not in self._known:
                self._known[f"{prefix}{sub}/"] = set()
                new_folders.append(str(Path(path) / sub))
                self._relist(str(Path(path) / sub))  # files copied along with the folder
        if new_folders:
            self._emit("found", new_folders)
        if removed:
            self._emit("removed", removed)

    def _settle(self) -> None:
        now = time.monotonic()
        ready: list[ScanResult] = []
        for name, (size, mtime, changed, first) in sorted(self._pending.items()):
            path = self.root / name
            try:
                st = path.stat()
            except OSError:
                del self._pending[name]
                continue
            if (st.st_size, st.st_mtime_ns) != (size, mtime):
                self._pending[name] = (st.st_size, st.st_mtime_ns, now, first)  # still growing
                continue
            if size == 0 or now - changed < self.settle_s:
                continue
            try:
                read_image(path)  # complete only once it decodes
            except (ImageReadError, OSError, ValueError):
                if now - first < self.give_up_s:
                    self._pending[name] = (size, mtime, now, first)  # retried after another settle_s
                    continue
                # Stable and still not decodable: listed anyway, shown as unreadable with the reason.
            del self._pending[name]
            self._known.setdefault(_prefix_of(name), set()).add(name)
            ready.append(scan_file(self.root, name, (self.root / json_name_for(name)).is_file()))
        if ready:
            self._emit("added", ready)

    def _emit(self, signal: str, items: list[str] | list[ScanResult]) -> None:
        owner = self._owner()
        if owner is None or self.stopped.is_set():
            self.stopped.set()  # the watch is gone: end the thread
            return
        getattr(owner, signal).emit(self, items)
        del owner


def _prefix_of(name: str) -> str:
    head, sep, _tail = name.rpartition("/")
    return head + sep


class FolderWatch(QObject):
    """Watches one open folder. Signals (GUI thread): ``files_added(list[ScanResult])`` for new,
    complete images (naturally unsorted: append order is arrival order) and
    ``files_removed(list[str])``; both carry names relative to the root."""

    files_added = Signal(list)
    files_removed = Signal(list)
    # From the worker thread, tagged with the worker (a stopped watch's late news is dropped).
    added = Signal(object, list)
    removed = Signal(object, list)
    found = Signal(object, list)

    def __init__(
        self, parent: QObject | None = None, *, settle_s: float = 0.3, give_up_s: float = 10.0
    ) -> None:
        super().__init__(parent)
        self.settle_s = settle_s
        #: A new file that is stable but never decodes is listed (as unreadable) after this long.
        self.give_up_s = give_up_s
        self._fs: QFileSystemWatcher | None = None
        self._worker: _Worker | None = None
        self._dirty: set[str] = set()
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(_DEBOUNCE_MS)
        self._debounce.timeout.connect(self._on_debounce_timeout)
        self.found.connect(self._on_worker_folders_found)
        self.added.connect(self._on_worker_files_added)
        self.removed.connect(self._on_worker_files_removed)

    def start(self, root: Path, *, max_depth: int = 2) -> None:
        """Watch ``root`` and its subfolders down to ``max_depth`` (stops any previous watch)."""
        self.stop()
        self._fs = QFileSystemWatcher(self)
        self._fs.directoryChanged.connect(self._on_fs_directory_changed)
        self._worker = _Worker(self, root, max_depth, self.settle_s, self.give_up_s)
        self._worker.start()

    def watched_folders(self) -> list[str]:
        """The folders under watch now."""
        return self._fs.directories() if self._fs is not None else []

    def stop(self) -> None:
        """Stop watching; what the worker still finds is never delivered."""
        self._debounce.stop()
        self._dirty.clear()
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.stopped.set()  # daemon thread: it ends within one settle_s
        if self._fs is not None:
            self._fs.directoryChanged.disconnect(self._on_fs_directory_changed)
            self._fs.deleteLater()
            self._fs = None

    @Slot(object, list)
    def _on_worker_folders_found(self, worker: _Worker, folders: list[str]) -> None:
        if self._fs is not None and worker is self._worker:
            fresh = [f for f in folders if f not in self._fs.directories()]
            if fresh:
                self._fs.addPaths(fresh)
                # What changed between the worker's listing and the watch being set is not
                # notified: list these folders once more now that they are watched.
                for folder in fresh:
                    worker.folders.put(folder)

    @Slot(object, list)
    def _on_worker_files_added(self, worker: object, results: list[ScanResult]) -> None:
        if worker is self._worker:
            self.files_added.emit(results)

    @Slot(object, list)
    def _on_worker_files_removed(self, worker: object, names: list[str]) -> None:
        if worker is self._worker:
            self.files_removed.emit(names)

    @Slot(str)
    def _on_fs_directory_changed(self, path: str) -> None:
        self._dirty.add(path)  # the GUI thread only notes the folder; the worker lists it
        if not self._debounce.isActive():
            self._debounce.start()

    def _on_debounce_timeout(self) -> None:
        worker = self._worker
        if worker is None:
            return
        for path in self._dirty:
            worker.folders.put(path)
        self._dirty.clear()
