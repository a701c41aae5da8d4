"""Live counters: frames per stage, FPS, latency percentiles, verdicts, reconnects.

:class:`LiveStats` is written by the inference worker and read by anyone (thread-safe);
:meth:`LiveStats.report` freezes it into a :class:`LiveReport` whose ``to_dict`` is the headless
command's JSON report. Latencies are kept in a bounded window (the last ``window`` results) so a
10-hour run uses constant memory.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from inspector_app.services.live.capture import SourceHealth

__all__ = ["LiveReport", "LiveStats", "SourceReport", "percentiles"]


def percentiles(values: list[float] | deque[float]) -> dict[str, float | None]:
    """p50/p95/p99 of ``values`` (None each when empty), rounded to 0.01."""
    if not values:
        return {"p50": None, "p95": None, "p99": None}
    arr = np.fromiter(values, dtype=np.float64)
    p50, p95, p99 = np.percentile(arr, [50, 95, 99])
    return {"p50": round(float(p50), 2), "p95": round(float(p95), 2), "p99": round(float(p99), 2)}


@dataclass(frozen=True)
class SourceReport:
    """Counters of one source over the run."""

    source: str
    state: str
    message: str
    captured: int
    inferred: int
    dropped: int
    reconnects: int
    ok: int
    ng: int
    capture_fps: float
    infer_fps: float
    latency_ms: dict[str, float | None]


@dataclass(frozen=True)
class LiveReport:
    """The whole run (the headless command writes ``to_dict()`` as JSON)."""

    duration_s: float
    model_id: str
    captured: int
    inferred: int
    dropped: int
    stale: int
    reconnects: int
    ok: int
    ng: int
    capture_fps: float
    infer_fps: float
    output_fps: float
    latency_ms: dict[str, float | None]
    infer_ms: dict[str, float | None]
    sources: tuple[SourceReport, ...]
    rss_mb_start: float | None = None
    rss_mb_end: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        out = {k: v for k, v in self.__dict__.items() if k != "sources"}
        out["sources"] = [s.__dict__ for s in self.sources]
        return out


class _PerSource:
    def __init__(self, window: int) -> None:
        self.inferred = 0
        self.ok = 0
        self.ng = 0
        self.latency: deque[float] = deque(maxlen=window)


class LiveStats:
    """Thread-safe accumulator of what the pipeline did."""

    def __init__(self, window: int = 20000) -> None:
        self._lock = threading.Lock()
        self._window = window
        self._start = time.monotonic()
        self._sources: dict[int, _PerSource] = {}
        self._infer_ms: deque[float] = deque(maxlen=window)
        self._latency: deque[float] = deque(maxlen=window)
        self.stale = 0
        self.outputs = 0

    def restart_clock(self) -> None:
        """Start measuring rates from now (after the model warm-up)."""
        with self._lock:
            self._start = time.monotonic()

    def record(self, source_id: int, verdict: str, latency_ms: float, infer_ms: float) -> None:
        """One result: its verdict, capture-to-result latency and inference time."""
        with self._lock:
            s = self._sources.setdefault(source_id, _PerSource(self._window))
            s.inferred += 1
            if verdict == "NG":
                s.ng += 1
            else:
                s.ok += 1
            s.latency.append(latency_ms)
            self._latency.append(latency_ms)
            self._infer_ms.append(infer_ms)

    @property
    def inferred(self) -> int:
        """Results recorded so far (all sources)."""
        with self._lock:
            return sum(s.inferred for s in self._sources.values())

    def count_stale(self) -> None:
        """A result dropped because a newer frame's result or another model came first."""
        with self._lock:
            self.stale += 1

    def count_output(self) -> None:
        """A result handed to the outputs."""
        with self._lock:
            self.outputs += 1

    def report(self, health: list[SourceHealth], model_id: str) -> LiveReport:
        """A frozen snapshot combining these counters with the capture workers' health."""
        with self._lock:
            elapsed = max(1e-9, time.monotonic() - self._start)
            sources = []
            for h in health:
                s = self._sources.get(h.source_id, _PerSource(1))
                sources.append(
                    SourceReport(
                        h.label,
                        h.state,
                        h.message,
                        h.captured,
                        s.inferred,
                        h.dropped,
                        h.reconnects,
                        s.ok,
                        s.ng,
                        round(h.captured / elapsed, 2),
                        round(s.inferred / elapsed, 2),
                        percentiles(s.latency),
                    )
                )
            captured = sum(s.captured for s in sources)
            inferred = sum(s.inferred for s in sources)
            return LiveReport(
                duration_s=round(elapsed, 3),
                model_id=model_id,
                captured=captured,
                inferred=inferred,
                dropped=sum(s.dropped for s in sources),
                stale=self.stale,
                reconnects=sum(s.reconnects for s in sources),
                ok=sum(s.ok for s in sources),
                ng=sum(s.ng for s in sources),
                capture_fps=round(captured / elapsed, 2),
                infer_fps=round(inferred / elapsed, 2),
                output_fps=round(self.outputs / elapsed, 2),
                latency_ms=percentiles(self._latency),
                infer_ms=percentiles(self._infer_ms),
                sources=tuple(sources),
            )
