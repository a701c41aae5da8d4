"""Region statistics (core.regions.region_stats) and the mask IoU helpers."""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from inspector_app.core import regions
from inspector_app.core.regions import RegionStats, class_iou, defect_iou, region_stats


def reference_stats(mask: np.ndarray, num_classes: int) -> list[RegionStats]:
    """Plain breadth-first flood fill, 8-connected: slow, but shares no code with OpenCV."""
    height, width = mask.shape
    seen = np.zeros(mask.shape, bool)
    regions = [0] * num_classes
    for y0 in range(height):
        for x0 in range(width):
            c = int(mask[y0, x0])
            if seen[y0, x0] or c == 0:
                continue
            regions[c] += 1
            seen[y0, x0] = True
            queue = deque([(y0, x0)])
            while queue:
                y, x = queue.popleft()
                for ny in range(max(y - 1, 0), min(y + 2, height)):
                    for nx in range(max(x - 1, 0), min(x + 2, width)):
                        if not seen[ny, nx] and mask[ny, nx] == c:
                            seen[ny, nx] = True
                            queue.append((ny, nx))
    areas = [int(np.count_nonzero(mask == c)) for c in range(num_classes)]
    return [RegionStats(a, r) for a, r in zip(areas, regions, strict=True)]


def test_region_stats_counts_8_connected_regions_and_islands() -> None:
    mask = np.zeros((12, 12), np.uint8)
    mask[0, 0] = mask[1, 1] = 1  # diagonal: one region
    mask[11, 11] = 1
    mask[3:10, 3:10] = 3
    mask[5:8, 5:8] = 0
    mask[6, 6] = 3  # island in the stain's hole: a second stain region
    stats = region_stats(mask, 5)
    assert stats[1] == RegionStats(3, 2)
    assert stats[3] == RegionStats(49 - 9 + 1, 2)
    assert stats[2] == stats[4] == RegionStats(0, 0)
    assert stats[0].area_px == 144 - 3 - 41 and stats[0].regions == 0
    assert region_stats(np.zeros((0, 0), np.uint8), 3) == [RegionStats(0, 0)] * 3
    with pytest.raises(ValueError, match="class 4"):
        region_stats(np.full((2, 2), 4, np.uint8), 3)


@settings(max_examples=200, deadline=None)
@given(
    arrays(np.uint8, st.tuples(st.integers(1, 24), st.integers(1, 24)), elements=st.integers(0, 4)),
    st.integers(5, 7),
)
def test_region_stats_match_a_flood_fill_on_any_mask(mask: np.ndarray, num_classes: int) -> None:
    assert region_stats(mask, num_classes) == reference_stats(mask, num_classes)


def blobs(seed: int, height: int = 60, width: int = 80) -> np.ndarray:
    """Smooth regions of 4 classes with holes and islands, touching the border."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((height, width), np.uint8)
    for _ in range(12):
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        axes = (int(rng.integers(1, 20)), int(rng.integers(1, 15)))
        cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, int(rng.integers(0, 5)), -1)
    return mask


@pytest.mark.parametrize("trace_below", [0.0, float("inf")], ids=["labelling", "tracing"])
def test_both_counting_methods_match_a_flood_fill(
    trace_below: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    # region_stats picks border tracing or labelling per class by how speckled it is; force each.
    monkeypatch.setattr(regions, "_TRACE_BELOW", trace_below)
    rng = np.random.default_rng(11)
    speckled = [np.where(rng.random((30, 40)) < p, rng.integers(1, 5, (30, 40)), 0) for p in (0.1, 0.5, 1.0)]
    for mask in [*(m.astype(np.uint8) for m in speckled), *(blobs(seed) for seed in range(20))]:
        assert region_stats(mask, 5) == reference_stats(mask, 5)


def test_region_stats_of_the_most_regions_a_640x480_mask_can_hold() -> None:
    # Isolated pixels every 2 px: 76,800 regions per class, more than 16-bit labels can number.
    # Class 2 sits diagonally between class 1's pixels: touching another class joins nothing.
    mask = np.zeros((480, 640), np.uint8)
    mask[::2, ::2] = 1
    mask[1::2, 1::2] = 2
    expected = [RegionStats(153_600, 0), RegionStats(76_800, 76_800), RegionStats(76_800, 76_800)]
    assert region_stats(mask, 3) == expected


def test_region_stats_with_a_large_class_table() -> None:
    rng = np.random.default_rng(3)
    mask = np.where(rng.random((30, 40)) < 0.4, rng.integers(1, 40, (30, 40)), 0).astype(np.uint8)
    mask[0, 0] = 39  # above the histogram cut-over: present classes are found by one histogram
    assert region_stats(mask, 40) == reference_stats(mask, 40)
    mask[mask >= 10] = 0  # below it: compare-and-count per class
    assert region_stats(mask, 40) == reference_stats(mask, 40)


# ------------------------------------------------------------------------------ IoU helpers


def test_iou_helpers() -> None:
    a = np.array([[0, 1, 2, 2]], np.uint8)
    b = np.array([[0, 1, 1, 2]], np.uint8)
    assert defect_iou(a, b) == pytest.approx(2 / 3)
    assert defect_iou(a, b, exact_class=False) == 1.0
    assert defect_iou(np.zeros((2, 2)), np.zeros((2, 2))) == 1.0
    assert class_iou(a, b, 1) == pytest.approx(1 / 2)
    assert class_iou(a, b, 3) is None
