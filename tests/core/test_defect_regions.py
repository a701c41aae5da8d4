"""Regions for the defect navigator: connected components per class with area, bbox, confidence."""

from __future__ import annotations

import numpy as np
import pytest

from inspector_app.core.annotations import Shape
from inspector_app.core.defect_regions import prediction_regions, shape_regions, sort_regions
from inspector_app.core.regions import region_stats

LABELS = ("_background_", "dent", "pinhole")


def test_prediction_regions_match_region_stats_and_carry_confidence() -> None:
    mask = np.zeros((60, 80), np.uint8)
    mask[10:20, 10:30] = 1  # 200 px dent
    mask[40:42, 70:72] = 2  # 4 px pinhole
    mask[50, 5] = 2  # 1 px pinhole
    mask[44, 60] = 2
    mask[45, 61] = 2  # diagonal neighbour: same region (8-connected)
    conf = np.full((60, 80), 0.5, np.float32)
    conf[40:42, 70:72] = 0.9
    regions = prediction_regions(mask, LABELS, conf)
    stats = region_stats(mask, 3)
    assert len(regions) == sum(s.regions for s in stats) == 4
    dent = next(r for r in regions if r.label == "dent")
    assert (dent.area, dent.bbox, dent.class_index) == (200.0, (10, 10, 20, 10), 1)
    assert dent.confidence == pytest.approx(0.5)
    pin = next(r for r in regions if r.bbox == (70, 40, 2, 2))
    assert pin.area == 4 and pin.confidence == pytest.approx(0.9)
    assert any(r.bbox == (60, 44, 2, 2) and r.area == 2 for r in regions)
    assert len(prediction_regions(mask, LABELS, min_area=3)) == 2
    as_bytes = prediction_regions(mask, LABELS, (conf * 255).astype(np.uint8))
    assert next(r for r in as_bytes if r.bbox == (70, 40, 2, 2)).confidence == pytest.approx(229 / 255)


def test_sorting_and_shape_regions() -> None:
    mask = np.zeros((30, 30), np.uint8)
    mask[0:5, 0:5] = 1
    mask[20:22, 20:21] = 2
    conf = np.where(mask == 2, 0.95, 0.6).astype(np.float32)
    regions = prediction_regions(mask, LABELS, conf)
    assert [r.label for r in sort_regions(regions, "area_desc")] == ["dent", "pinhole"]
    assert [r.label for r in sort_regions(regions, "area_asc")] == ["pinhole", "dent"]
    assert [r.label for r in sort_regions(regions, "confidence_desc")] == ["pinhole", "dent"]
    assert [r.label for r in sort_regions(prediction_regions(mask, LABELS), "confidence_desc")] == [
        "dent", "pinhole"]
    with pytest.raises(ValueError, match="sort key"):
        sort_regions(regions, "colour")
    shapes = [
        Shape("dent", ((0.0, 0.0), (10.0, 0.0), (10.0, 4.0), (0.0, 4.0))),
        Shape("pinhole", ((5.0, 5.0), (8.0, 9.0)), shape_type="circle"),
        Shape("scratch", ((1.0, 1.0), (9.0, 3.0)), shape_type="line"),
    ]
    found = shape_regions(shapes, LABELS)
    assert (found[0].area, found[0].source, found[0].shape_index) == (40.0, "annotation", 0)
    assert found[1].area == pytest.approx(np.pi * 25) and found[1].bbox == (0.0, 0.0, 10.0, 10.0)
    assert found[2].class_index == -1 and found[2].area == 0.0


def test_limit_keeps_the_largest_regions_and_counts_them_all() -> None:
    from inspector_app.core.defect_regions import find_regions

    rng = np.random.default_rng(3)
    mask = ((rng.random((120, 160)) < 0.3) * 2).astype(np.uint8)  # pinhole speckle
    mask[10:30, 10:40] = 1  # one big dent
    everything, total = find_regions(mask, LABELS)
    assert total == len(everything) > 300
    few, total_again = find_regions(mask, LABELS, limit=50)
    assert total_again == total and len(few) == 50
    assert few[0].label == "dent" and few[0].area == 600
    smallest_kept = min(r.area for r in few)
    assert sum(1 for r in everything if r.area > smallest_kept) <= 50
    assert find_regions(mask, LABELS, limit=0)[0] == []
