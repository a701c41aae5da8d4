"""Per-class region statistics of a class mask (:func:`region_stats`, the app's legend figures) and
mask comparison (:func:`defect_iou`, :func:`class_iou`). Regions are 8-connected, as in
:func:`inspector_app.core.polygons.mask_to_shapes`: one region = one polygon.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np
import numpy.typing as npt

from inspector_app.core.masks import check_class_mask

#: Above this many candidate classes one histogram pass finds the present classes; below it a
#: compare-and-count per class is cheaper. A 640x480 histogram costs about 0.6 ms on a mostly
#: background mask (every pixel increments the same bin), a compare-and-count about 20 us.
_HISTOGRAM_FROM = 24
#: Below this many horizontal edges per pixel of a class's box, its regions are counted by tracing
#: their borders; above it by labelling the box. Tracing costs in proportion to border length,
#: labelling to area: on smooth masks tracing is 3-5x faster (8000x6000 ellipses: 43 vs 123 ms a
#: class), on speckle labelling is 2-20x faster (640x480, 30 % speckle: 0.5 vs 11 ms a class).
#: Measured over blobs, weak-model and speckle masks, the cross-over lies between 0.002 and 0.02.
_TRACE_BELOW = 0.002
#: Edges are counted on every _PROBE_STEP-th row: a quarter of a compare pass decides.
_PROBE_STEP = 4


class RegionStats(NamedTuple):
    """Pixel area and number of 8-connected regions of one class."""

    area_px: int
    regions: int


def _count_regions(binary: npt.NDArray[np.uint8]) -> int:
    """Number of 8-connected regions of a 0/1 uint8 image (a class's bounding box)."""
    probe = binary[::_PROBE_STEP]
    edges = np.count_nonzero(probe[:, 1:] != probe[:, :-1])
    if edges < _TRACE_BELOW * probe.size:
        # Outer borders (no parent under RETR_CCOMP, islands in holes included) = regions.
        _, hierarchy = cv2.findContours(binary, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
        return 0 if hierarchy is None else int(np.count_nonzero(hierarchy.reshape(-1, 4)[:, 3] < 0))
    # CV_32S labels: CV_16U would be a little lighter, but a 640x480 mask can hold 76,800
    # 8-connected regions of one class (isolated pixels on a 2 px lattice) and cv2 then raises.
    # SAUF (CCL_WU) labels speckle 25-30 % faster than the default block-based algorithms
    # (640x480, 30 % speckle: 0.53 vs 0.79 ms a class); smooth masks do not come here.
    count, _ = cv2.connectedComponentsWithAlgorithm(binary, 8, cv2.CV_32S, cv2.CCL_WU)
    return count - 1  # label 0 is everything else


def region_stats(mask: npt.ArrayLike, num_classes: int) -> list[RegionStats]:
    """Per class index 0..num_classes-1: (area in px, 8-connected regions). Background regions = 0.

    Cost is one compare per class up to the largest index present, and for each present class
    one pass over its bounding box: border tracing where the class is smooth, labelling where it
    is speckled. A 640x480 mask takes a few ms however noisy (tens of thousands of regions).
    """
    arr = check_class_mask(mask, num_classes)
    areas = np.zeros(num_classes, dtype=np.int64)
    regions = np.zeros(num_classes, dtype=np.int64)
    top = int(arr.max()) if arr.size else 0
    counted = top >= _HISTOGRAM_FROM
    if counted:
        areas[: top + 1] = cv2.calcHist([arr], [0], None, [256], [0, 256]).ravel()[: top + 1].astype(np.int64)
    for c in range(1, top + 1):
        if counted and not areas[c]:
            continue
        selected = arr == c  # c is a Python int, so the compare stays uint8
        if not counted:
            areas[c] = np.count_nonzero(selected)
            if not areas[c]:
                continue
        binary = selected.view(np.uint8)
        x, y, w, h = cv2.boundingRect(binary)
        regions[c] = _count_regions(binary[y : y + h, x : x + w])
    areas[0] = arr.size - int(areas[1:].sum())
    return [RegionStats(int(a), int(r)) for a, r in zip(areas.tolist(), regions.tolist(), strict=True)]


def defect_iou(prediction: npt.ArrayLike, truth: npt.ArrayLike, *, exact_class: bool = True) -> float:
    """IoU of defect (non-zero) pixels of two class masks; 1.0 when both have none.

    With ``exact_class`` a pixel counts as shared only if both masks give it the same class;
    otherwise any defect class matches any other (foreground vs foreground).
    """
    a, b = np.asarray(prediction), np.asarray(truth)
    if a.shape != b.shape:
        raise ValueError(f"mask shapes differ: {a.shape} vs {b.shape}")
    fa, fb = a != 0, b != 0
    union = int(np.count_nonzero(fa | fb))
    if union == 0:
        return 1.0
    inter = int(np.count_nonzero(fa & fb & (a == b))) if exact_class else int(np.count_nonzero(fa & fb))
    return inter / union


def class_iou(prediction: npt.ArrayLike, truth: npt.ArrayLike, index: int) -> float | None:
    """IoU of one class between two class masks; None when neither mask has that class."""
    a, b = np.asarray(prediction) == index, np.asarray(truth) == index
    union = int(np.count_nonzero(a | b))
    return None if union == 0 else int(np.count_nonzero(a & b)) / union
