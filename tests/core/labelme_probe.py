"""Run labelme 6.x's own reader/writer on request; used by test_labelme_compat in a subprocess.

labelme imports PyQt5, which must never be loaded into the pytest process (the app uses PySide6),
so the compatibility tests start ``python labelme_probe.py requests.json results.json`` with
``QT_QPA_PLATFORM=offscreen``. ``requests.json`` is a list of operations; ``results.json``
receives one result object per operation (``{"ok": false, "error": ...}`` on failure):

- ``{"op": "read", "path": p}``: ``LabelFile(p)``, then the app's own conversion into its Qt
  ``Shape`` objects (which rejects unknown shape types) and back to dicts. Returns what labelme
  sees: flags, image_path, other_data and per shape label, points, shape_type, group_id,
  description, flags, other_data and the mask as a 0/1 nested list.
- ``{"op": "resave", "path": p, "out": q}``: read ``p`` as above and write ``q`` the way the
  labelme app saves (``_shape_to_dict`` + ``write_label_file``): "open in labelme, save".
- ``{"op": "write", "path": p, "shapes": [...], "image_path": ..., "image_height": ...,
  "image_width": ..., "flags": {...}, "other_data": {...}}``: ``LabelFile().save`` with shapes
  given as labelme shape dicts, except that ``mask`` is a 0/1 nested list that labelme encodes
  itself (``utils.img_arr_to_b64``), as its app does.
"""

from __future__ import annotations

import json
import sys
import traceback
from typing import Any

import numpy as np
from labelme import utils
from labelme._label_file import LabelFile, write_label_file
from labelme.app import _shape_to_dict, _shapes_from_dicts


def _read(path: str) -> tuple[LabelFile, list[dict[str, Any]]]:
    label_file = LabelFile(path)
    # The GUI's conversion: raises for shape types labelme cannot display or edit.
    app_shapes = _shapes_from_dicts(shape_dicts=label_file.shapes, label_flags=None)
    return label_file, [_shape_to_dict(s) for s in app_shapes]


def _mask_list(b64: str | None) -> list[list[int]] | None:
    if b64 is None:
        return None
    return utils.img_b64_to_arr(b64).astype(bool).astype(int).tolist()


def op_read(request: dict[str, Any]) -> dict[str, Any]:
    label_file, shape_dicts = _read(request["path"])
    shapes = []
    for raw, app in zip(label_file.shapes, shape_dicts, strict=True):
        shapes.append(
            {
                "label": raw["label"],
                "points": [[float(x), float(y)] for x, y in raw["points"]],
                "shape_type": raw["shape_type"],
                "group_id": raw["group_id"],
                "description": raw["description"],
                "flags": raw["flags"],
                "other_data": raw["other_data"],
                "mask": None if raw["mask"] is None else raw["mask"].astype(int).tolist(),
                # what the app would write back for this shape, as a cross-check
                "app_points": [[float(x), float(y)] for x, y in app["points"]],
                "app_shape_type": app["shape_type"],
                "app_mask": _mask_list(app["mask"]),
            }
        )
    return {
        "flags": label_file.flags,
        "image_path": label_file.image_path,
        "other_data": label_file.other_data,
        "shapes": shapes,
    }


def op_resave(request: dict[str, Any]) -> dict[str, Any]:
    label_file, shape_dicts = _read(request["path"])
    with open(request["path"], encoding="utf-8") as handle:
        raw = json.load(handle)
    write_label_file(
        request["out"],
        shapes=shape_dicts,
        image_path=label_file.image_path or "",
        image_height=raw.get("imageHeight"),
        image_width=raw.get("imageWidth"),
        image_data=None,
        other_data=label_file.other_data,
        flags=label_file.flags,
    )
    return {}


def op_write(request: dict[str, Any]) -> dict[str, Any]:
    shapes = []
    for spec in request["shapes"]:
        shape = dict(spec)
        if shape.get("mask") is not None:
            shape["mask"] = utils.img_arr_to_b64(np.asarray(shape["mask"], dtype=np.uint8))
        shapes.append(shape)
    LabelFile().save(
        request["path"],
        shapes=shapes,
        image_path=request["image_path"],
        image_height=request["image_height"],
        image_width=request["image_width"],
        image_data=None,
        other_data=request.get("other_data"),
        flags=request.get("flags"),
    )
    return {}


OPS = {"read": op_read, "resave": op_resave, "write": op_write}


def main(argv: list[str]) -> int:
    requests_path, results_path = argv[1], argv[2]
    with open(requests_path, encoding="utf-8") as handle:
        requests = json.load(handle)
    results = []
    for request in requests:
        try:
            results.append({"ok": True, **OPS[request["op"]](request)})
        except Exception as e:  # report per request; the test decides what a failure means
            error = f"{type(e).__name__}: {e}"
            results.append({"ok": False, "error": error, "trace": traceback.format_exc()})
    with open(results_path, "w", encoding="utf-8") as handle:
        json.dump(results, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
