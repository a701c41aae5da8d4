"""Polygons from mask_to_shapes survive labelme 6.3.1 itself: "open in labelme, save" and our
rasterize gives the mask back (seams, 3-point walks of 1-2 px regions and the ``draw_as`` key
included). labelme imports PyQt5, so it runs in a subprocess through tests/core/labelme_probe.py.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector_app.core.annotations import document_for_image, load_document, save_document
from inspector_app.core.classes import ClassTable
from inspector_app.core.masks import rasterize
from inspector_app.core.polygons import mask_to_shapes

PROBE = Path(__file__).with_name("labelme_probe.py")


def _mask() -> np.ndarray:
    mask = np.zeros((40, 50), np.uint8)
    mask[2:30, 2:30] = 1
    mask[8:12, 8:12] = 0  # hole
    mask[14, 14] = 0  # pinhole
    mask[16:20, 16:20] = 3  # another class inside the hole-free part
    mask[33, 5] = 1  # single pixel
    mask[35, 5:7] = 3  # two pixels
    mask[5:25, 35:45] = 2  # a polyline class: written with "draw_as": "fill"
    mask[10:15, 38:42] = 0
    return mask


def test_labelme_open_and_save_keeps_our_polygons(tmp_path: Path) -> None:
    if importlib.util.find_spec("labelme") is None or importlib.util.find_spec("PyQt5") is None:
        pytest.skip("labelme (with PyQt5) is not installed")
    table = ClassTable.from_labels(["pit", "scratch", "stain"])
    table = ClassTable.from_dict(
        {"classes": [{**c, "line_width": 10, "draw_as": "polyline"} if c["label"] == "scratch" else c
                     for c in table.to_dict()["classes"]]}
    )  # fmt: skip
    mask = _mask()
    cv2.imwrite(str(tmp_path / "image.png"), np.zeros((*mask.shape, 3), np.uint8))
    shapes = mask_to_shapes(mask, table)
    ours = tmp_path / "ours.json"
    save_document(document_for_image(tmp_path / "image.png", ours, shapes, *mask.shape), ours)
    requests = [
        {"op": "read", "path": str(ours)},
        {"op": "resave", "path": str(ours), "out": str(tmp_path / "resaved.json")},
    ]
    (tmp_path / "requests.json").write_text(json.dumps(requests), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(PROBE), str(tmp_path / "requests.json"), str(tmp_path / "results.json")],
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0 and "No module named" in proc.stderr:
        pytest.skip(f"labelme is not importable: {proc.stderr.strip().splitlines()[-1]}")
    assert proc.returncode == 0, proc.stderr
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert all(r["ok"] for r in results), results
    seen = results[0]["shapes"]
    assert [s["shape_type"] for s in seen] == ["polygon"] * len(shapes)
    assert [s["app_points"] for s in seen] == [[list(p) for p in s.points] for s in shapes]
    assert [s["other_data"] for s in seen] == [dict(s.extra) for s in shapes]
    resaved = load_document(tmp_path / "resaved.json")
    np.testing.assert_array_equal(rasterize(resaved, table), mask)
