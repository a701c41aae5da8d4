"""Verdict writes off the GUI thread, with a queue that survives a locked review database.

The operator's verdict key returns at once: the record goes to a writer thread that owns its own
connection to the project's SQLite file. When another program holds the database's lock, a write
waits at most the busy time-out (:data:`~inspector_app.services.review_log.BUSY_TIMEOUT_S`) and the
verdict stays in a :class:`~inspector_app.services.review_log.PendingVerdicts` queue, in order; the
thread retries every ``retry_s`` until the lock is released. Nothing is dropped; the owner is told
how many verdicts wait (``queued``) and which were written (``written``).
"""

from __future__ import annotations

import threading
from collections import deque
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from inspector_app.services.review_log import (
    BUSY_TIMEOUT_S,
    PendingVerdicts,
    ReviewError,
    ReviewLog,
    ReviewRecord,
)


class _Relay(QObject):
    """Carries the thread's news to the GUI thread (queued connections)."""

    written = Signal(object)  # ReviewRecord
    queued = Signal(int, str)  # verdicts waiting, why


class ReviewWriter(QObject):
    """Writes verdicts to ``path`` in order. Signals (GUI thread): ``written(ReviewRecord)`` per
    verdict in the database; ``queued(count, why)`` when a write failed and ``count`` verdicts
    wait for a retry (``why`` names the file and the reason, e.g. the lock)."""

    written = Signal(object)
    queued = Signal(int, str)

    def __init__(
        self,
        path: Path,
        *,
        busy_timeout_s: float = BUSY_TIMEOUT_S,
        retry_s: float = 1.0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.path = path
        self._busy_timeout_s = busy_timeout_s
        self._retry_s = retry_s
        self._lock = threading.Lock()
        self._inbox: deque[ReviewRecord] = deque()
        self._pending = PendingVerdicts()  # touched by the writer thread only
        self._wake = threading.Event()
        self._stop = False
        self._waiting = 0  # submitted, not written yet (GUI thread)
        self._thread: threading.Thread | None = None
        self._relay = _Relay()  # no parent: the thread keeps it alive
        self._relay.written.connect(self._on_relay_written)
        self._relay.queued.connect(self.queued)

    def submit(self, record: ReviewRecord) -> None:
        """Queue ``record`` (stamp its ``time`` first: the moment of the verdict)."""
        self._waiting += 1
        with self._lock:
            self._inbox.append(record)
            if self._thread is None:
                self._stop = False
                self._thread = threading.Thread(target=self._run, args=(self._relay,), name="review-writer")
                self._thread.start()
        self._wake.set()

    def waiting(self) -> int:
        """Verdicts submitted and not written yet."""
        return self._waiting

    def shutdown(self, timeout_s: float | None = None) -> None:
        """One last try for what waits, then stop the thread (within about the busy time-out)."""
        with self._lock:
            self._stop = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join(timeout_s if timeout_s is not None else self._busy_timeout_s + 5.0)

    def _run(self, relay: _Relay) -> None:
        log: ReviewLog | None = None
        try:
            while True:
                with self._lock:
                    while self._inbox:
                        self._pending.submit(self._inbox.popleft())
                    stop = self._stop
                    if not len(self._pending):
                        self._thread = None
                        return
                    self._wake.clear()
                try:
                    if log is None:
                        log = ReviewLog(self.path, busy_timeout_s=self._busy_timeout_s)
                    self._pending.flush(log, relay.written.emit)
                    continue
                except ReviewError as exc:
                    relay.queued.emit(len(self._pending) + len(self._inbox), str(exc))
                if stop:
                    with self._lock:
                        self._thread = None
                    return
                self._wake.wait(self._retry_s)
        finally:
            if log is not None:
                log.close()

    def _on_relay_written(self, record: ReviewRecord) -> None:
        self._waiting -= 1
        self.written.emit(record)
