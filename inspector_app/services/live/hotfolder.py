"""Hot folder: images that appear in a folder are delivered once complete, in arrival order.

A line camera or PLC writes files into the folder; a file is taken when its size and mtime have
not changed for ``settle_s`` and it decodes (a JPEG/PNG still being written fails to decode or is
still growing). Polling with ``os.scandir`` keeps this free of extra dependencies and works on
network shares where inotify does not. Files present when the source opens are not inspected
(``include_existing`` changes that). Order is strict while an earlier file is still being
written: a later, complete file waits for it, but at most ``hold_s`` (a writer that died must
not hold up the line). :class:`FolderWatcher` is the Qt-free change detector the
GUI's file list can poll too.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from inspector_app.core.images import ImageReadError, is_image_file, read_image
from inspector_app.services.live.sources import SourceError
from inspector_app.services.live.spec import SourceSpec

__all__ = ["FolderChanges", "FolderWatcher", "HotFolderSource"]


@dataclass(frozen=True)
class FolderChanges:
    """Result of one :meth:`FolderWatcher.poll`: names added and removed since the last poll."""

    added: tuple[str, ...]
    removed: tuple[str, ...]


class FolderWatcher:
    """Detects image files added to / removed from one folder (non-recursive) by polling."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self._known: set[str] = set()

    def _scan(self) -> dict[str, tuple[int, int]]:
        try:
            with os.scandir(self.folder) as entries:
                return {
                    e.name: (e.stat().st_size, e.stat().st_mtime_ns)
                    for e in entries
                    if e.is_file() and is_image_file(e.name) and not e.name.startswith(".")
                }
        except OSError as exc:
            raise SourceError(f"{self.folder}: cannot list the folder ({exc.strerror or exc})") from exc

    def snapshot(self) -> dict[str, tuple[int, int]]:
        """Name -> (size, mtime_ns) of the image files now in the folder."""
        return self._scan()

    def poll(self) -> FolderChanges:
        """Names added and removed since the previous poll (the first poll reports all as added)."""
        now = set(self._scan())
        added = tuple(sorted(now - self._known))
        removed = tuple(sorted(self._known - now))
        self._known = now
        return FolderChanges(added, removed)


class HotFolderSource:
    """A :class:`~inspector_app.services.live.sources.FrameSource` over a hot folder."""

    def __init__(
        self,
        spec: SourceSpec,
        *,
        poll_s: float = 0.05,
        settle_s: float = 0.2,
        hold_s: float = 5.0,
        include_existing: bool = False,
    ) -> None:
        self.spec = spec
        self.ended = False
        self.event_driven = True
        self.frame_name = ""
        self.poll_s = poll_s
        self.settle_s = settle_s
        self.hold_s = hold_s
        self.skipped: list[str] = []  # files that never decoded, with the reason
        self.include_existing = include_existing
        self._watcher = FolderWatcher(spec.target)
        self._done: set[str] = set()
        # name -> (first seen, size, mtime_ns, last change)
        self._pending: dict[str, tuple[float, int, int, float]] = {}
        self._arrival = 0

    def open(self) -> None:
        if not os.path.isdir(self.spec.target):
            raise SourceError(f"{self.spec.text}: the hot folder does not exist")
        if not self.include_existing:
            self._done = set(self._watcher.snapshot())

    def _update(self, now: float) -> None:
        current = self._watcher.snapshot()
        for name, (size, mtime) in current.items():
            if name in self._done:
                continue
            seen = self._pending.get(name)
            if seen is None:
                self._pending[name] = (now, size, mtime, now)
            elif (seen[1], seen[2]) != (size, mtime):
                self._pending[name] = (seen[0], size, mtime, now)  # still growing
        for name in list(self._pending):
            if name not in current:
                del self._pending[name]  # removed before it was complete
        self._done &= set(current) | set(self._pending)

    def _take(self, now: float) -> np.ndarray | None:
        for name, (_first, size, _mtime, changed) in sorted(
            self._pending.items(), key=lambda kv: (kv[1][0], kv[0])
        ):
            if now - changed < self.settle_s or size == 0:
                if now - _first < self.hold_s:
                    return None  # keep arrival order: later files wait for this one
                continue
            path = os.path.join(self.spec.target, name)
            try:
                image = read_image(path)
            except (ImageReadError, OSError, ValueError) as exc:
                if now - _first > 2 * self.hold_s:  # never became a readable image: skip it
                    del self._pending[name]
                    self._done.add(name)
                    self.skipped.append(f"{path}: {exc}")
                    continue
                # Not decodable yet (a writer that pauses longer than settle_s): retry later.
                self._pending[name] = (_first, size, _mtime, now)
                if now - _first < self.hold_s:
                    return None
                continue
            del self._pending[name]
            self._done.add(name)
            self.frame_name = name
            return image
        return None

    def read(self) -> np.ndarray | None:
        """The oldest complete new image, or None when none became ready within ``poll_s``."""
        deadline = time.monotonic() + self.poll_s
        while True:
            now = time.monotonic()
            self._update(now)
            image = self._take(now)
            if image is not None or now >= deadline:
                return image
            time.sleep(min(self.poll_s / 2, max(0.0, deadline - now)))

    def close(self) -> None:
        self._pending.clear()

    def clone(self) -> HotFolderSource:
        twin = HotFolderSource(
            self.spec,
            poll_s=self.poll_s,
            settle_s=self.settle_s,
            hold_s=self.hold_s,
            include_existing=self.include_existing,
        )
        twin._done = set(self._done)  # what was inspected stays inspected
        return twin

    def properties(self) -> dict[str, float]:
        return {"pending": float(len(self._pending))}
