"""Run one blocking call off the GUI thread and hand its result back as a signal.

For the Training mode's slow, Qt-free service calls (device probe, model comparison, uncertainty
ranking): each takes seconds, none may run on the GUI thread. The result arrives through a queued
signal on the thread that owns the :class:`BackgroundCall` (the GUI thread).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal


class BackgroundCall(QObject):
    """``start(fn)`` runs ``fn()`` in a daemon thread. Signals (GUI thread): ``succeeded(result)``,
    ``failed(message)``. ``cancel()`` sets :attr:`cancelled`, which long calls poll."""

    succeeded = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()

    def is_running(self) -> bool:
        """True while a call is in its thread."""
        return self._thread is not None and self._thread.is_alive()

    def cancelled(self) -> bool:
        """For the running call to poll (service functions take a ``cancelled`` callable)."""
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Ask the running call to stop at its next check."""
        self._cancel.set()

    def start(self, fn: Callable[[], Any]) -> bool:
        """Run ``fn`` in a thread; False (nothing started) while another call runs."""
        if self.is_running():
            return False
        self._cancel.clear()

        def run() -> None:
            try:
                result = fn()
            except Exception as exc:  # any failure is reported, never raised in a thread
                self.failed.emit(f"{type(exc).__name__}: {exc}")
            else:
                self.succeeded.emit(result)

        self._thread = threading.Thread(target=run, name="background-call", daemon=True)
        self._thread.start()
        return True
