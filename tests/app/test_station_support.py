"""Helpers shared by the station tests (no tests here): tiny image folders and real ONNX models.

Images are 64x48 RGB with a pure red patch and a pure green patch, so the ``rgb4`` test model of
``tests/onnx_factory`` predicts class 1 (red) and 2 (green) exactly there.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from tests import onnx_factory

H, W = 48, 64
RED_BOX = (5, 20, 5, 30)  # y0, y1, x0, x1
GREEN_BOX = (30, 40, 40, 60)


def make_image(path: Path, *, shift: int = 0) -> np.ndarray:
    """Write an RGB PNG with a red and a green patch (moved right by ``shift`` px); return it (RGB)."""
    rgb = np.full((H, W, 3), 40, np.uint8)
    y0, y1, x0, x1 = RED_BOX
    rgb[y0:y1, x0 + shift : x1 + shift] = (255, 0, 0)
    y0, y1, x0, x1 = GREEN_BOX
    rgb[y0:y1, x0:x1] = (0, 220, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return rgb


def make_folder(root: Path, count: int = 6) -> list[str]:
    """``count`` images ``img_0.png`` .. (natural order); returns their names."""
    names = []
    for i in range(count):
        name = f"img_{i}.png"
        make_image(root / name, shift=i % 4)
        names.append(name)
    return names


def write_labelme(path: Path, labels: list[str], image_name: str) -> None:
    """A minimal LabelMe JSON with one triangle per label."""
    shapes = [
        {"label": lab, "points": [[2, 2], [12, 2], [12, 12]], "group_id": None, "description": "",
         "shape_type": "polygon", "flags": {}, "mask": None}
        for lab in labels
    ]
    path.write_text(json.dumps({"version": "5.4.1", "flags": {}, "shapes": shapes, "imagePath": image_name,
                                "imageData": None, "imageHeight": H, "imageWidth": W}))


def make_model(path: Path, model_id: str = "rgb4-a", name: str = "RGB test model") -> Path:
    """The 4-class RGB ONNX model with an embedded card."""
    return onnx_factory.rgb4(path, model_id=model_id, name=name)


def expected_mask(rgb: np.ndarray) -> np.ndarray:
    """What ``rgb4`` predicts for an image of :func:`make_image` (identity normalisation)."""
    x = rgb.astype(np.float32) / 255.0
    logits = np.concatenate([np.full((*x.shape[:2], 1), 0.5, np.float32), x], axis=2)
    return logits.argmax(axis=2).astype(np.uint8)
