"""Regions of one image for the defect navigator: each predicted region (8-connected component of
one class of a class mask, as :func:`inspector_app.core.regions.region_stats` counts them) and each
annotated shape, with class, area, bounding box and, when per-pixel confidences are given, the
mean confidence of the region's pixels.

Qt-free. :func:`prediction_regions` costs one connected-components pass per class present (a few
ms on 640x480); :func:`sort_regions` orders them by size, confidence or position.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from inspector_app.core.annotations import Shape

__all__ = ["SORT_KEYS", "Region", "find_regions", "prediction_regions", "shape_regions", "sort_regions"]

#: Orders offered by :func:`sort_regions`.
SORT_KEYS = ("area_desc", "area_asc", "confidence_desc", "confidence_asc", "position")


@dataclass(frozen=True)
class Region:
    """One defect region. ``bbox`` is ``(x, y, w, h)`` in image pixels (inclusive extent).

    ``source`` is "prediction" or "annotation"; ``shape_index`` is the shape's position in the
    document for annotations (-1 for predictions); ``confidence`` is the mean per-pixel
    confidence 0..1 of a predicted region, None when unknown.
    """

    class_index: int
    label: str
    area: float
    bbox: tuple[float, float, float, float]
    source: str = "prediction"
    confidence: float | None = None
    shape_index: int = -1

    @property
    def centre(self) -> tuple[float, float]:
        """Centre of the bounding box."""
        x, y, w, h = self.bbox
        return (x + w / 2, y + h / 2)

    @property
    def extent(self) -> float:
        """Largest side of the bounding box (px)."""
        return max(self.bbox[2], self.bbox[3])


def prediction_regions(
    mask: npt.ArrayLike,
    labels: Sequence[str],
    confidence: npt.ArrayLike | None = None,
    min_area: int = 1,
    limit: int | None = None,
) -> list[Region]:
    """The regions of :func:`find_regions` without their total."""
    return find_regions(mask, labels, confidence, min_area, limit)[0]


def find_regions(
    mask: npt.ArrayLike,
    labels: Sequence[str],
    confidence: npt.ArrayLike | None = None,
    min_area: int = 1,
    limit: int | None = None,
) -> tuple[list[Region], int]:
    """Regions of a class mask (value = index into ``labels``; 0 = background), in class order.

    ``confidence``: HxW per-pixel confidence of the predicted class, float 0..1 or uint8 0..255.
    Regions smaller than ``min_area`` pixels are left out. With ``limit`` only the ``limit``
    largest regions are returned (still in class order): a speckled mask of a weak model can hold
    tens of thousands of regions, which no list and no person can use. Returns (regions, how many
    there are in all).
    """
    arr, conf = _checked(mask, confidence)
    scale = 255.0 if conf is not None and conf.dtype == np.uint8 else 1.0
    rows: list[tuple[int, np.ndarray, np.ndarray | None]] = []  # (class, stats Nx5 in image coords, means)
    for c in (int(v) for v in np.unique(arr) if v != 0):
        binary = (arr == c).view(np.uint8)
        x0, y0, w0, h0 = cv2.boundingRect(binary)
        box = binary[y0 : y0 + h0, x0 : x0 + w0]
        count, labelled, stats, _centroids = cv2.connectedComponentsWithStats(box, connectivity=8)
        stats = stats[1:].astype(np.int64)
        stats[:, 0] += x0
        stats[:, 1] += y0
        means = None
        if conf is not None:
            part = conf[y0 : y0 + h0, x0 : x0 + w0].astype(np.float64) / scale
            sums = np.bincount(labelled.ravel(), weights=part.ravel(), minlength=count)[1:]
            means = sums / np.maximum(stats[:, 4], 1)
        keep = stats[:, 4] >= min_area
        rows.append((c, stats[keep], means[keep] if means is not None else None))
    total = sum(len(st) for _c, st, _m in rows)
    if limit is not None:
        areas = np.concatenate([st[:, 4] for _c, st, _m in rows]) if rows else np.zeros(0, np.int64)
        if len(areas) > limit:
            # The limit-th largest area; ties at the threshold are cut in class order.
            threshold = np.partition(areas, len(areas) - limit)[len(areas) - limit] if limit > 0 else np.inf
            budget = limit - int(np.count_nonzero(areas > threshold))
            trimmed = []
            for c, st, means in rows:
                above = st[:, 4] > threshold
                at = np.flatnonzero(st[:, 4] == threshold)[: max(budget, 0)]
                budget -= len(at)
                chosen = above.copy()
                chosen[at] = True
                trimmed.append((c, st[chosen], means[chosen] if means is not None else None))
            rows = trimmed
    regions: list[Region] = []
    for c, st, means in rows:
        label = labels[c] if c < len(labels) else str(c)
        for k, (x, y, w, h, area) in enumerate(st.tolist()):
            mean = float(means[k]) if means is not None else None
            regions.append(Region(c, label, float(area), (x, y, w, h), "prediction", mean))
    return regions, total


def _checked(mask: npt.ArrayLike, confidence: npt.ArrayLike | None) -> tuple[np.ndarray, np.ndarray | None]:
    arr = np.ascontiguousarray(np.asarray(mask), dtype=np.uint8)
    if arr.ndim != 2:
        raise ValueError(f"expected an HxW class mask, got shape {arr.shape}")
    if confidence is None:
        return arr, None
    conf = np.asarray(confidence)
    if conf.shape != arr.shape:
        raise ValueError(f"confidence shape {conf.shape} differs from the mask's {arr.shape}")
    return arr, conf


def _polygon_area(points: Sequence[tuple[float, float]]) -> float:
    if len(points) < 3:
        return 0.0
    xs = np.array([p[0] for p in points])
    ys = np.array([p[1] for p in points])
    return float(abs(np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1))) / 2)


def shape_regions(shapes: Iterable[Shape], labels: Sequence[str]) -> list[Region]:
    """One region per annotated shape: bbox of its points (circles by radius), enclosed area
    (0 for lines and points; a ``mask`` shape's bbox area)."""
    regions = []
    for i, shape in enumerate(shapes):
        pts = shape.points
        if not pts:
            continue
        kind = shape.shape_type
        if kind == "circle" and len(pts) >= 2:
            r = math.hypot(pts[1][0] - pts[0][0], pts[1][1] - pts[0][1])
            bbox = (pts[0][0] - r, pts[0][1] - r, 2 * r, 2 * r)
            area = math.pi * r * r
        else:
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            extra = 1.0 if kind == "mask" else 0.0
            bbox = (min(xs), min(ys), max(xs) - min(xs) + extra, max(ys) - min(ys) + extra)
            if kind == "rectangle" or kind == "mask":
                area = bbox[2] * bbox[3]
            elif kind in ("polygon", "oriented_rectangle"):
                area = _polygon_area(pts)
            else:
                area = 0.0
        index = labels.index(shape.label) if shape.label in labels else -1
        regions.append(Region(index, shape.label, area, bbox, "annotation", None, i))
    return regions


def sort_regions(regions: Iterable[Region], key: str = "area_desc") -> list[Region]:
    """Regions ordered by ``key`` (one of :data:`SORT_KEYS`); unknown confidences go last."""
    items = list(regions)
    if key == "area_desc":
        return sorted(items, key=lambda r: (-r.area, r.bbox[1], r.bbox[0]))
    if key == "area_asc":
        return sorted(items, key=lambda r: (r.area, r.bbox[1], r.bbox[0]))
    if key in ("confidence_desc", "confidence_asc"):
        sign = -1.0 if key == "confidence_desc" else 1.0
        return sorted(
            items, key=lambda r: (r.confidence is None, sign * (r.confidence or 0.0), -r.area)
        )
    if key == "position":
        return sorted(items, key=lambda r: (r.bbox[1], r.bbox[0]))
    raise ValueError(f"sort key must be one of {SORT_KEYS}, got {key!r}")
