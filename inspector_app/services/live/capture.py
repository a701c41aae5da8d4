"""One capture thread per source: newest frame wins, stream health, reconnect with backoff.

The thread reads frames into a one-slot mailbox: a frame not taken by the inference worker
before the next one arrives is dropped and counted, so nothing queues without bound and the
result always follows the newest frame. Health: a stream without a frame for ``stall_s``
(2 s by default) is ``stalled``; a read error or stall closes the source and reconnects after
``backoff`` (doubling up to ``backoff_max``). Watchdog: if one ``open``/``read`` call hangs
beyond ``hang_s`` despite the FFmpeg time-outs, the thread is abandoned (it is a daemon; its
late result is discarded by generation number) and a fresh one reconnects.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Literal

import numpy as np

from inspector_app.services.live.sources import FrameSource, SourceError

__all__ = ["CaptureWorker", "Frame", "HealthState", "SourceHealth"]

HealthState = Literal["connecting", "live", "stalled", "reconnecting", "ended", "failed", "stopped"]


@dataclass(frozen=True, eq=False)
class Frame:
    """One captured frame. ``captured``: ``time.monotonic()`` when read; ``wall``: ``time.time()``."""

    source_id: int
    frame_id: int
    image: np.ndarray
    captured: float
    wall: float
    name: str = ""


@dataclass(frozen=True)
class SourceHealth:
    """A snapshot of one source's state and counters."""

    source_id: int
    label: str
    state: HealthState
    message: str
    captured: int
    dropped: int
    reconnects: int
    since_frame_s: float | None


class CaptureWorker:
    """Runs ``source`` in a daemon thread and offers its newest frame through :meth:`take`."""

    def __init__(
        self,
        source_id: int,
        source: FrameSource,
        *,
        stall_s: float = 2.0,
        backoff: float = 0.25,
        backoff_max: float = 8.0,
        hang_s: float = 10.0,
        max_reconnects: int | None = None,
        arrived: threading.Event | None = None,
    ) -> None:
        self.source_id = source_id
        self.source = source
        self.stall_s = stall_s
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.hang_s = hang_s
        self.max_reconnects = max_reconnects
        self.arrived = arrived  # set on every frame: one consumer can wait on several workers
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._slot: Frame | None = None
        self._stop = threading.Event()
        self._generation = 0
        self._state: HealthState = "connecting"
        self._message = ""
        self._captured = 0
        self._dropped = 0
        self._reconnects = 0
        self._last_frame: float | None = None
        self._call_started: float | None = None
        self._thread: threading.Thread | None = None
        self.capture_times: list[float] = []  # monotonic time of each capture, trimmed by the reader

    # --- control --------------------------------------------------------------------------
    def start(self) -> None:
        """Start (or restart after a watchdog abandon) the capture thread."""
        with self._lock:
            self._generation += 1
            generation = self._generation
        self._thread = threading.Thread(
            target=self._run, args=(generation,), name=f"capture-{self.source_id}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        """Ask the thread to stop and wait up to ``timeout`` (a hung call is left behind)."""
        self._stop.set()
        with self._ready:
            self._ready.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            self._state = "stopped" if self._state not in ("ended", "failed") else self._state

    @property
    def finished(self) -> bool:
        """True once the source ended (end of a file) or failed for good and its frame was taken."""
        with self._lock:
            return self._state in ("ended", "failed", "stopped") and self._slot is None

    def take(self, timeout: float) -> Frame | None:
        """The newest frame not yet taken (waits up to ``timeout``), or None."""
        with self._ready:
            if self._slot is None and not self._stop.is_set():
                self._ready.wait(timeout)
            frame, self._slot = self._slot, None
            return frame

    def health(self) -> SourceHealth:
        """Current state; also the watchdog: a call hung beyond ``hang_s`` restarts the thread."""
        now = time.monotonic()
        restart = False
        with self._lock:
            since = None if self._last_frame is None else now - self._last_frame
            state = self._state
            if (
                state == "live"
                and since is not None
                and since > self.stall_s
                and not self.source.event_driven
            ):
                state = self._state = "stalled"
                self._message = f"no frame for {since:.1f} s"
            started = self._call_started
            if started is not None and now - started > self.hang_s and not self._stop.is_set():
                self._message = f"a capture call hung for {now - started:.0f} s; reconnecting"
                self._state = "reconnecting"
                self._reconnects += 1
                self._call_started = None
                restart = True
            snapshot = SourceHealth(
                self.source_id,
                self.source.spec.label,
                state,
                self._message,
                self._captured,
                self._dropped,
                self._reconnects,
                since,
            )
        if restart:
            # The hung thread keeps its own adapter (closed when its call returns, its generation
            # being stale); the new thread gets a fresh one, so the two never share a handle.
            self.source = self.source.clone()
            self.start()
        return snapshot

    # --- the thread -----------------------------------------------------------------------
    def _set(self, generation: int, state: HealthState, message: str = "") -> bool:
        with self._lock:
            if generation != self._generation:
                return False
            self._state, self._message = state, message
            return True

    def _call(self, source: FrameSource, generation: int, fn: str) -> np.ndarray | None:
        with self._lock:
            self._call_started = time.monotonic()
        try:
            if fn == "open":
                source.open()
                return None
            return source.read()
        except SourceError:
            raise
        except Exception as exc:  # a backend's own error (cv2.error, OSError...) must not kill the thread
            raise SourceError(f"{source.spec.text}: {fn} failed ({exc})") from exc
        finally:
            with self._lock:
                if generation == self._generation:
                    self._call_started = None

    def _run(self, generation: int) -> None:
        source = self.source  # this thread's adapter (see health(): a restart gets a clone)
        delay = self.backoff
        failures = 0
        while not self._stop.is_set() and generation == self._generation:
            try:
                self._call(source, generation, "open")
            except SourceError as exc:
                failures += 1
                if self.max_reconnects is not None and failures > self.max_reconnects:
                    self._set(generation, "failed", str(exc))
                    break
                self._set(generation, "reconnecting", f"{exc}; retry in {delay:.2f} s")
                self._stop.wait(delay)
                delay = min(delay * 2, self.backoff_max)
                continue
            if generation != self._generation:
                source.close()
                return
            self._set(generation, "live")
            with self._lock:
                self._last_frame = time.monotonic()
            lost = self._pump(source, generation)
            source.close()
            if lost is None:  # stopped or ended
                break
            failures = 0  # it was live: count open failures afresh
            with self._lock:
                if generation != self._generation:
                    return
                self._reconnects += 1
                self._state, self._message = "reconnecting", f"{lost}; retry in {self.backoff:.2f} s"
            delay = self.backoff
            self._stop.wait(delay)
            delay = min(delay * 2, self.backoff_max)
        with self._ready:
            if generation == self._generation and self._state not in ("ended", "failed"):
                self._state = "stopped"
            self._ready.notify_all()

    def _pump(self, source: FrameSource, generation: int) -> str | None:
        """Read until stop/end (None) or loss (the reason)."""
        while not self._stop.is_set():
            try:
                image = self._call(source, generation, "read")
            except SourceError as exc:
                return str(exc)
            now = time.monotonic()
            if generation != self._generation:
                return None
            if image is None:
                if source.ended:
                    self._set(generation, "ended", "end of the video")
                    return None
                with self._lock:
                    last = self._last_frame or now
                if not source.event_driven and now - last > self.stall_s:
                    return f"no frame for {now - last:.1f} s (stalled)"
                continue
            with self._ready:
                self._captured += 1
                if self._slot is not None:
                    self._dropped += 1
                self._slot = Frame(self.source_id, self._captured, image, now, time.time(), source.frame_name)
                self._last_frame = now
                if self._state != "live":
                    self._state, self._message = "live", ""
                self.capture_times.append(now)
                if len(self.capture_times) > 4096:
                    del self.capture_times[:2048]
                self._ready.notify_all()
            if self.arrived is not None:
                self.arrived.set()
        return None
