"""File writes off the GUI thread: one writer thread runs submitted jobs in submission order.

A job is a plain callable built on the GUI thread from frozen data (e.g. a snapshot of a LabelMe
document); the worker runs it and reports ``finished(token, result, error)`` back on the GUI
thread. One thread, first in first out: two saves of one file can never overtake each other.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot


class _Relay(QObject):
    """Carries results from the writer thread to the GUI thread (a queued connection)."""

    finished = Signal(int, object, object)  # token, result, exception (None on success)


class FileJobs(QObject):
    """GUI-side facade: ``submit(job) -> token``; ``finished(token, result, error)`` later.

    ``error`` is the exception the job raised (None on success); the owner decides what it means.
    The writer is a plain thread that lives only while jobs are queued, so an owner that is
    dropped without :meth:`shutdown` leaves no running QThread behind (Qt would abort).
    """

    finished = Signal(int, object, object)

    def __init__(self, name: str = "file-writer", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._name = name
        self._tokens = itertools.count(1)
        self._open: set[int] = set()
        self._lock = threading.Lock()
        self._queue: deque[tuple[int, Callable[[], Any]]] = deque()
        self._thread: threading.Thread | None = None
        # No parent: the writer thread holds a reference, so it outlives this facade if need be.
        self._relay = _Relay()
        self._relay.finished.connect(self._on_relay_finished)

    def submit(self, job: Callable[[], Any]) -> int:
        """Queue ``job`` for the writer thread; returns its token."""
        token = next(self._tokens)
        self._open.add(token)
        with self._lock:
            self._queue.append((token, job))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, args=(self._relay,), name=self._name, daemon=False
                )
                self._thread.start()
        return token

    def pending(self) -> int:
        """Jobs submitted whose ``finished`` has not been delivered yet."""
        return len(self._open)

    def shutdown(self, timeout_s: float = 120.0) -> None:
        """Wait until the queued jobs are written (their results are not delivered)."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout_s)

    def _run(self, relay: _Relay) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._thread = None
                    return
                token, job = self._queue.popleft()
            try:
                result = job()
            except Exception as exc:  # handed to the owner, who says why
                relay.finished.emit(token, None, exc)
            else:
                relay.finished.emit(token, result, None)

    @Slot(int, object, object)
    def _on_relay_finished(self, token: int, result: object, error: object) -> None:
        self._open.discard(token)
        self.finished.emit(token, result, error)
