"""Tiny on-disk datasets for trainer tests: real PNG images with real LabelMe JSON (or mask PNGs).

``make_dataset(root, ...)`` draws ``n`` small grey-textured images, each with a few defects of the
classes ``scratch`` (a 3 px linestrip), ``stain`` (a filled polygon) and ``pit`` (a small circle,
the rare class), saves the images and writes a LabelMe JSON per image with
:func:`inspector_app.core.annotations.save_document` - the same writer the app uses - in one of the
layouts the trainer reads (JSON beside the images, ``images/`` + ``labelme/`` with
``../images/<n>.png`` image paths as in the aluminium set, or ``images/`` + ``masks/``).
Everything is deterministic for a given seed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from inspector_app.core.annotations import Shape, document_for_image, save_document
from inspector_app.core.classes import ClassTable
from inspector_app.core.masks import rasterize

LABELS = ("scratch", "stain", "pit")
CLASSES_YAML = {
    "classes": [
        {"index": 0, "label": "_background_", "name": "background", "color": "#000000"},
        {"index": 1, "label": "scratch", "name": "scratch", "color": "#e6194b", "line_width": 3},
        {"index": 2, "label": "stain", "name": "stain", "color": "#3cb44b"},
        {"index": 3, "label": "pit", "name": "pit", "color": "#4363d8"},
    ]
}


def _shapes(rng: np.random.Generator, height: int, width: int, labels: Sequence[str]) -> list[Shape]:
    shapes = []
    for label in labels:
        if label == "scratch":
            x0, y0 = rng.uniform(4, width / 2), rng.uniform(4, height - 4)
            points = ((x0, y0), (x0 + width / 4, y0 + rng.uniform(-6, 6)), (x0 + width / 2 - 4, y0))
            shapes.append(Shape(label, points, "linestrip"))
        elif label == "pit":
            cx, cy = rng.uniform(6, width - 6), rng.uniform(6, height - 6)
            shapes.append(Shape(label, ((cx, cy), (cx + 2.5, cy)), "circle"))
        else:
            cx, cy = rng.uniform(12, width - 12), rng.uniform(12, height - 12)
            angles = np.sort(rng.uniform(0, 2 * np.pi, 6))
            radius = rng.uniform(5, 10)
            points = tuple((float(cx + radius * np.cos(a)), float(cy + radius * np.sin(a))) for a in angles)
            shapes.append(Shape(label, points, "polygon"))
    return shapes


def make_dataset(
    root: Path,
    *,
    n: int = 6,
    size: tuple[int, int] = (64, 96),
    layout: str = "beside",
    classes_yaml: bool = True,
    split: tuple[int, int] | None = None,
    seed: int = 0,
    labels_of: Callable[[int], Sequence[str]] | None = None,
    rgb: bool = False,
) -> Path:
    """Write a dataset into ``root`` and return it (see the module docstring).

    ``layout``: ``beside`` | ``labelme`` | ``masks``. ``split=(train, val)`` also writes
    ``train.txt``/``test.txt`` with the first ``train`` stems and the next ``val`` ones.
    ``labels_of(i)`` gives the labels of image ``i`` (default: a rotating mix, ``pit`` rare).
    """
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    image_dir = root if layout == "beside" else root / "images"
    image_dir.mkdir(exist_ok=True)
    table = ClassTable.from_dict(CLASSES_YAML)
    if classes_yaml:
        (root / "classes.yaml").write_text(yaml.safe_dump(CLASSES_YAML, sort_keys=False), encoding="utf-8")
    height, width = size
    stems = []
    for i in range(n):
        stem = f"img_{i:03d}"
        stems.append(stem)
        labels = labels_of(i) if labels_of else (["scratch", "stain"] if i % 3 else ["stain", "pit"])
        shapes = _shapes(rng, height, width, labels)
        base = rng.normal(90, 12, size=(height, width)).clip(0, 255)
        image_path = image_dir / f"{stem}.png"
        json_dir = root / "labelme" if layout == "labelme" else image_dir
        json_dir.mkdir(exist_ok=True)
        json_path = json_dir / f"{stem}.json"
        document = document_for_image(image_path, json_path, shapes, height, width)
        # Labels outside the table (tests of unknown labels) are drawn after the known classes.
        mask = rasterize(document, table.with_labels(labels)[0], (height, width))
        # Defects are visible: scratches dark, stains bright, pits very dark, others mid-grey.
        base[mask > 3] = 130
        base[mask == 1] = 40
        base[mask == 2] = 170
        base[mask == 3] = 10
        image = base.astype(np.uint8)
        if rgb:
            image = np.stack([image, image, (image * 0.8).astype(np.uint8)], axis=2)
        cv2.imwrite(str(image_path), image)
        if layout == "masks":
            (root / "masks").mkdir(exist_ok=True)
            cv2.imwrite(str(root / "masks" / f"{stem}.png"), mask)
        else:
            save_document(document, json_path)
    if split is not None:
        train, val = split
        (root / "train.txt").write_text("\n".join(stems[:train]) + "\n", encoding="utf-8")
        (root / "test.txt").write_text("\n".join(stems[train : train + val]) + "\n", encoding="utf-8")
    return root


@pytest.fixture
def dataset_maker(tmp_path: Path) -> Callable[..., Path]:
    """``dataset_maker(name="data", **options)`` -> a fresh dataset folder under tmp_path."""

    def make(name: str = "data", **options: object) -> Path:
        return make_dataset(tmp_path / name, **options)  # type: ignore[arg-type]

    return make


@pytest.fixture
def tiny_dataset(dataset_maker: Callable[..., Path]) -> Path:
    """Six 64x96 images with LabelMe JSON beside them and a classes.yaml."""
    return dataset_maker()
