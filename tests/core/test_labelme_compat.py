"""Compatibility with labelme 6.3.1 itself, run in a subprocess (labelme imports PyQt5).

(a) files we write load in labelme's ``LabelFile`` and its GUI shape conversion with identical
shapes, and labelme's "open, save" gives back a document equal to ours;
(b) files written by labelme's ``LabelFile.save`` load in ours with identical content.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from inspector_app.core.annotations import (
    Document,
    Shape,
    decode_mask,
    document_for_image,
    encode_mask,
    load_document,
    make_mask_shape,
    save_document,
)

PROBE = Path(__file__).with_name("labelme_probe.py")
HEIGHT, WIDTH = 60, 80

MASK = np.zeros((6, 9), dtype=bool)
MASK[1:5, 2:7] = True
MASK[0, 0] = True


def _shapes() -> tuple[Shape, ...]:
    """One shape of every type labelme 6.3.1 supports, with every optional field exercised."""
    return (
        Shape("zang_wu", ((10.5, 10.25), (30.0, 12.0), (25.0, 28.75), (9.0, 20.0)), "polygon",
              group_id=3, description="größe ✓ 脏污", flags={"occluded": True, "truncated": False}),
        Shape("zhe_zhou", ((40.0, 5.0), (70.0, 20.0)), "rectangle", description=""),
        Shape("zhen_kong", ((50.0, 40.0), (53.5, 40.0)), "circle", group_id=0),
        Shape("ca_shang", ((1.0, 55.0), (78.0, 50.0)), "line"),
        Shape("ca_shang", ((2.0, 2.0), (20.0, 5.0), (38.0, 2.5), (60.0, 9.0)), "linestrip",
              extra={"score": 0.875, "source": {"model": "zhong", "ids": [1, 2]}}),
        Shape("zhen_kong", ((33.0, 33.0),), "point"),
        Shape("zhen_kong", ((5.0, 40.0), (7.0, 42.0), (9.0, 44.0)), "points"),
        make_mask_shape("zang_wu", MASK, 10, 44, group_id=7, description="mask"),
        Shape("zhe_zhou", ((60.0, 30.0), (75.0, 35.0), (72.0, 44.0), (57.0, 39.0)), "oriented_rectangle"),
    )


def _document(folder: Path) -> Document:
    return dataclasses.replace(
        document_for_image(folder / "image.png", folder / "ours.json", _shapes(), HEIGHT, WIDTH),
        flags={"ng": True, "reviewed": False},
        extra={"station": "line 2", "meta": {"camera": 1, "tags": ["a", "b"]}},
    )


def _labelme_spec(shape: Shape) -> dict[str, Any]:
    """A shape as the labelme app hands it to ``LabelFile.save`` (mask still an array)."""
    spec: dict[str, Any] = {
        **shape.extra,
        "label": shape.label,
        "points": [list(p) for p in shape.points],
        "group_id": shape.group_id,
        "description": shape.description,
        "shape_type": shape.shape_type,
        "flags": dict(shape.flags),
        "mask": decode_mask(shape).astype(int).tolist() if shape.mask is not None else None,
    }
    return spec


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Write our file, then run every labelme operation in one subprocess (labelme is slow to import)."""
    if importlib.util.find_spec("labelme") is None or importlib.util.find_spec("PyQt5") is None:
        pytest.skip("labelme (with PyQt5) is not installed")
    folder = tmp_path_factory.mktemp("labelme")
    cv2.imwrite(str(folder / "image.png"), np.full((HEIGHT, WIDTH, 3), 128, np.uint8))
    ours = _document(folder)
    save_document(ours, folder / "ours.json")
    requests = [
        {"op": "read", "path": str(folder / "ours.json")},
        {"op": "resave", "path": str(folder / "ours.json"), "out": str(folder / "resaved.json")},
        {
            "op": "write",
            "path": str(folder / "theirs.json"),
            "shapes": [_labelme_spec(s) for s in ours.shapes],
            "image_path": "image.png",
            "image_height": HEIGHT,
            "image_width": WIDTH,
            "flags": dict(ours.flags),
            "other_data": dict(ours.extra),
        },
        {"op": "read", "path": str(folder / "theirs.json")},
    ]
    (folder / "requests.json").write_text(json.dumps(requests), encoding="utf-8")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run(
        [sys.executable, str(PROBE), str(folder / "requests.json"), str(folder / "results.json")],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    if proc.returncode != 0 and "No module named" in proc.stderr:
        pytest.skip(f"labelme is not importable: {proc.stderr.strip().splitlines()[-1]}")
    assert proc.returncode == 0, proc.stderr
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    for request, result in zip(requests, results, strict=True):
        assert result["ok"], f"labelme failed on {request['op']}: {result.get('trace')}"
    return {"folder": folder, "ours": ours, "read_ours": results[0], "read_theirs": results[3]}


def _assert_labelme_sees(seen: dict[str, Any], document: Document) -> None:
    assert seen["flags"] == dict(document.flags)
    assert seen["image_path"] == document.image_path
    assert seen["other_data"] == dict(document.extra)
    assert len(seen["shapes"]) == len(document.shapes)
    for got, want in zip(seen["shapes"], document.shapes, strict=True):
        assert got["label"] == want.label
        assert got["points"] == [list(p) for p in want.points]
        assert got["app_points"] == got["points"]  # the GUI keeps the points as they are
        assert got["shape_type"] == want.shape_type == got["app_shape_type"]
        assert got["group_id"] == want.group_id
        assert got["description"] == (want.description or "")
        assert got["flags"] == dict(want.flags)
        assert got["other_data"] == dict(want.extra)
        if want.mask is None:
            assert got["mask"] is None
        else:
            assert np.array_equal(np.asarray(got["mask"], dtype=bool), decode_mask(want))
            assert got["app_mask"] == got["mask"]


def test_every_shape_type_is_exercised() -> None:
    assert {s.shape_type for s in _shapes()} == {
        "polygon", "rectangle", "circle", "line", "linestrip", "point", "points", "mask",
        "oriented_rectangle",
    }


def test_labelme_reads_our_files_unchanged(probe: dict[str, Any]) -> None:
    _assert_labelme_sees(probe["read_ours"], probe["ours"])


def test_labelme_open_and_save_gives_back_our_document(probe: dict[str, Any]) -> None:
    resaved = load_document(probe["folder"] / "resaved.json", check_image=True)
    assert resaved.version == importlib.metadata.version("labelme")  # labelme stamps its own
    # labelme re-encodes masks with PIL: other PNG bytes, same pixels. Compare pixels.
    assert _same_pixels(dataclasses.replace(resaved, version=probe["ours"].version)) == _same_pixels(
        probe["ours"]
    )


def _same_pixels(document: Document) -> Document:
    """``document`` with every mask re-encoded by us, so that == compares mask pixels."""
    shapes = tuple(
        dataclasses.replace(s, mask=encode_mask(decode_mask(s))) if s.mask is not None else s
        for s in document.shapes
    )
    return dataclasses.replace(document, shapes=shapes)


def test_we_read_files_labelme_writes(probe: dict[str, Any]) -> None:
    theirs = load_document(probe["folder"] / "theirs.json", check_image=True)
    ours = probe["ours"]
    assert theirs.image_path == "image.png"
    assert (theirs.image_height, theirs.image_width) == (HEIGHT, WIDTH)
    assert theirs.flags == ours.flags and theirs.extra == ours.extra
    for got, want in zip(theirs.shapes, ours.shapes, strict=True):
        assert dataclasses.replace(got, mask=None) == dataclasses.replace(want, mask=None)
        if want.mask is not None:
            assert got.mask is not None and np.array_equal(decode_mask(got), decode_mask(want))
    assert len(theirs.shapes) == len(ours.shapes)
    # And labelme agrees with itself about what it wrote.
    _assert_labelme_sees(probe["read_theirs"], theirs)


def test_our_rewrite_of_a_labelme_file_keeps_its_json_value(probe: dict[str, Any]) -> None:
    """Load + save of a labelme-written file changes nothing but the order of unknown shape keys."""
    folder: Path = probe["folder"]
    save_document(load_document(folder / "theirs.json"), folder / "rewritten.json")
    rewritten = json.loads((folder / "rewritten.json").read_text(encoding="utf-8"))
    original = json.loads((folder / "theirs.json").read_text(encoding="utf-8"))
    assert rewritten == original
    assert list(rewritten) == list(original)  # top-level key order is labelme's
