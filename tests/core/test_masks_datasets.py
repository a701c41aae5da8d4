"""Dataset-wide agreement of core.masks and core.polygons (skipped when ../shared/datasets is absent).

- rasterize(aluminium LabelMe JSON) vs the authors' masks: mean per-image IoU >= 0.97 required;
  we reproduce them pixel for pixel on 399 of 400 images, so the test holds the bar much higher.
- mask_to_shapes -> rasterize on every mask of both datasets (1,744 masks) at the default
  tolerance: per-image IoU (defect pixels, exact class; empty vs empty = 1.0) >= 0.99, mean and
  worst; exact at tolerance 0.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector_app.core.annotations import load_document
from inspector_app.core.classes import ClassTable
from inspector_app.core.masks import rasterize, rasterize_shapes
from inspector_app.core.polygons import mask_to_shapes
from inspector_app.core.regions import class_iou, defect_iou


def _mask(path: Path) -> np.ndarray:
    mask = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert mask is not None and mask.ndim == 2, path
    return mask


def test_rasterize_reproduces_the_authors_aluminium_masks(aluminum_dir: Path) -> None:
    table = ClassTable.load(aluminum_dir / "classes.yaml")
    files = sorted((aluminum_dir / "labelme").glob("*.json"))
    assert len(files) == 400
    foreground, exact, identical = [], [], 0
    per_class: dict[int, list[float]] = {c.index: [] for c in table.classes[1:]}
    for json_path in files:
        truth = _mask(aluminum_dir / "masks" / f"{json_path.stem}.png")
        ours = rasterize(load_document(json_path), table, truth.shape)
        foreground.append(defect_iou(ours, truth, exact_class=False))
        exact.append(defect_iou(ours, truth))
        identical += bool(np.array_equal(ours, truth))
        for index, values in per_class.items():
            value = class_iou(ours, truth, index)
            if value is not None:
                values.append(value)
    assert np.mean(foreground) >= 0.97 and np.mean(exact) >= 0.97  # the brief's target
    # What we actually achieve: only image 203 differs, by one pixel (its zhe_zhou linestrip).
    assert identical >= 399
    assert min(exact) >= 0.9999
    for index, values in per_class.items():
        assert np.mean(values) >= 0.9999, table.by_index(index).label


@pytest.mark.parametrize("dataset", ["aluminum", "magnetic_tile"])
def test_round_trip_every_dataset_mask(dataset: str, request: pytest.FixtureRequest) -> None:
    folder: Path = request.getfixturevalue(f"{dataset}_dir")
    table = ClassTable.load(folder / "classes.yaml")
    paths = sorted((folder / "masks").glob("*.png"))
    assert len(paths) == {"aluminum": 400, "magnetic_tile": 1344}[dataset]
    ious = []
    for path in paths:
        truth = _mask(path)
        back = rasterize_shapes(mask_to_shapes(truth, table), table, truth.shape)
        ious.append(defect_iou(back, truth))
        if path.stem in {"1", "Blowhole_exp1_num_108719", "Uneven_exp3_num_45042"} or len(ious) % 97 == 0:
            # Exactness at tolerance 0 on a sample (the benchmark runs it on all masks).
            exact = rasterize_shapes(mask_to_shapes(truth, table, tolerance=0), table, truth.shape)
            np.testing.assert_array_equal(exact, truth, err_msg=str(path))
    assert np.mean(ious) >= 0.99
    assert min(ious) >= 0.99, paths[int(np.argmin(ious))].name
