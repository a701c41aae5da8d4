"""NG capture and the review log: frames judged NG are saved for correction, verdicts are logged.

:class:`NgCapture` writes the frame as PNG and its prediction as a LabelMe JSON beside it, marked
as a prediction (the same marker and polygon tracing as batch prediction), so Annotate mode opens
it ready for correction. It keeps to a rate limit per source (``min_interval_s``) and a disk
quota (``quota_mb`` over the capture folder, counted at start and while writing); frames it
skips are counted, never queued. :meth:`NgCapture.snapshot` saves any result regardless of
the limits (the operator's Snapshot button). :class:`ReviewSink` records each verdict in the
project's SQLite review log (every NG; one OK in ``ok_every``).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import cv2

from inspector_app.core.annotations import document_for_image, dump_document
from inspector_app.core.classes import ClassTable
from inspector_app.core.fileio import atomic_write_bytes
from inspector_app.core.polygons import mask_to_shapes
from inspector_app.services.batch import prediction_marker
from inspector_app.services.live.result import LiveResult
from inspector_app.services.review_log import ReviewLog, ReviewRecord

__all__ = ["CaptureCounts", "NgCapture", "ReviewSink"]


@dataclass(frozen=True)
class CaptureCounts:
    """What NG capture did: saved files, and NG frames skipped by the rate limit or the quota."""

    saved: int
    rate_limited: int
    over_quota: int
    bytes_used: int


def _slug(text: str) -> str:
    """A file-name-safe form of a source spec (URLs included)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")[-48:] or "source"  # the end names it best


def _folder_bytes(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total


class NgCapture:
    """Saves NG frames (image + predicted LabelMe JSON) under ``folder`` within limits."""

    def __init__(
        self,
        folder: str | os.PathLike[str],
        table: ClassTable,
        *,
        min_interval_s: float = 1.0,
        quota_mb: float = 1024.0,
    ) -> None:
        self.folder = Path(folder)
        self.table = table
        self.min_interval_s = min_interval_s
        self.quota_bytes = int(quota_mb * 1024 * 1024)
        self._last: dict[int, float] = {}
        self._used = _folder_bytes(self.folder) if self.folder.is_dir() else 0
        self._saved = 0
        self._rate_limited = 0
        self._over_quota = 0

    @property
    def counts(self) -> CaptureCounts:
        """Counters so far."""
        return CaptureCounts(self._saved, self._rate_limited, self._over_quota, self._used)

    def write(self, result: LiveResult) -> None:
        """Save ``result`` when it is NG and the rate limit and quota allow it."""
        if result.verdict.verdict != "NG":
            return
        last = self._last.get(result.source_id)
        if last is not None and result.captured - last < self.min_interval_s:
            self._rate_limited += 1
            return
        if self._used >= self.quota_bytes:
            self._over_quota += 1
            return
        self._last[result.source_id] = result.captured
        self.snapshot(result)

    def snapshot(self, result: LiveResult) -> Path:
        """Save ``result`` now (no limits); returns the image path. OSError names the file."""
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(result.wall))
        millis = int((result.wall % 1) * 1000)
        base = f"{_slug(result.source)}_{stamp}-{millis:03d}_f{result.frame_id}"
        image_path, json_path = self.folder / f"{base}.png", self.folder / f"{base}.json"
        self.folder.mkdir(parents=True, exist_ok=True)
        image = result.image
        if image.ndim == 3:
            image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR if image.shape[2] == 3 else cv2.COLOR_RGBA2BGRA)
        ok, png = cv2.imencode(".png", image, (cv2.IMWRITE_PNG_COMPRESSION, 1))
        if not ok:
            raise OSError(f"{image_path}: PNG encoding failed")
        shapes = mask_to_shapes(result.mask, self.table)
        document = document_for_image(
            image_path,
            json_path,
            shapes,
            height=int(result.mask.shape[0]),
            width=int(result.mask.shape[1]),
            extra=prediction_marker(result.model_id),
        )
        text = dump_document(document, str(json_path)).encode("utf-8")
        atomic_write_bytes(image_path, png.tobytes(), durable=False)
        atomic_write_bytes(json_path, text, durable=False)
        self._used += len(png) + len(text)
        self._saved += 1
        return image_path

    def close(self) -> None:
        """Nothing to release (files are written whole)."""


class ReviewSink:
    """Records verdicts in a project's review log; open it on the thread that writes."""

    def __init__(
        self, review_path: str | os.PathLike[str], *, ok_every: int = 100, operator: str = "live"
    ) -> None:
        self.review_path = Path(review_path)
        self.ok_every = max(1, ok_every)
        self.operator = operator
        self._log: ReviewLog | None = None
        self._ok_seen = 0
        self.recorded = 0

    def write(self, result: LiveResult) -> None:
        """Log every NG and one OK in ``ok_every``."""
        if result.verdict.verdict == "OK":
            self._ok_seen += 1
            if (self._ok_seen - 1) % self.ok_every:
                return
        if self._log is None:
            self.review_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = ReviewLog(self.review_path)
        name = result.name or f"live/{_slug(result.source)}#{result.frame_id}"
        self._log.record(
            ReviewRecord(
                image=name,
                verdict=result.verdict.verdict,
                comment="live verdict",
                operator=self.operator,
                model_id=result.model_id,
                class_areas=dict(result.verdict.areas),
            )
        )
        self.recorded += 1

    def close(self) -> None:
        """Close the database."""
        if self._log is not None:
            self._log.close()
            self._log = None
