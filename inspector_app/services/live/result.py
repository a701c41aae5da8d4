"""The result of one inferred frame, as handed to views and outputs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from inspector_app.services.live.rules import Verdict

__all__ = ["LiveResult"]


@dataclass(frozen=True, eq=False)
class LiveResult:
    """One frame's prediction and verdict, tagged with where and when it came from.

    ``captured``/``inferred``: ``time.monotonic()`` when the frame was read and when its result
    was ready; ``wall``: the capture's ``time.time()``. ``image`` is the frame (RGB/grey) and
    ``mask`` the class mask at the frame's size.
    """

    source_id: int
    source: str
    frame_id: int
    model_id: str
    image: np.ndarray
    mask: np.ndarray
    verdict: Verdict
    captured: float
    inferred: float
    wall: float
    infer_ms: float
    name: str = ""

    @property
    def latency_ms(self) -> float:
        """Capture to result ready, in ms."""
        return (self.inferred - self.captured) * 1000.0

    def line(self) -> dict[str, Any]:
        """The line-output record (JSON-ready): source, frame id, time, verdict, areas, model id."""
        return {
            "source": self.source,
            "source_id": self.source_id,
            "frame_id": self.frame_id,
            "time": datetime.fromtimestamp(self.wall, UTC).isoformat(timespec="milliseconds"),
            "verdict": self.verdict.verdict,
            "areas": dict(self.verdict.areas),
            "fired": list(self.verdict.fired),
            "model_id": self.model_id,
            "latency_ms": round(self.latency_ms, 2),
            **({"name": self.name} if self.name else {}),
        }
