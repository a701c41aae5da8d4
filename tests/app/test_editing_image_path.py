"""Bug 1 of issue 11: a save points ``imagePath`` at the image the station showed with the file.

The JSON beside ``134.jpg`` was written elsewhere and still says ``../images/134.jpg``, a path that
does not exist here; the station pairs it with the image beside it by name. The saved file must
name that image (relative to the JSON) so that labelme, which follows ``imagePath``, opens it.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from inspector_app.core.annotations import Shape, load_document
from inspector_app.core.classes import ClassTable
from inspector_app.editing import AnnotationSession

pytestmark = pytest.mark.gui

TABLE = ClassTable.from_labels(["dent"])
BOX = ((10.0, 10.0), (40.0, 10.0), (40.0, 30.0))


def moved_pair(folder: Path, image_path: str = "../images/134.jpg") -> tuple[Path, Path]:
    """``134.jpg`` and ``134.json`` side by side; the JSON still names its old image location."""
    folder.mkdir(parents=True, exist_ok=True)
    image, json_path = folder / "134.jpg", folder / "134.json"
    cv2.imwrite(str(image), np.full((60, 80, 3), 100, np.uint8))
    payload = {
        "version": "5.4.1",
        "flags": {},
        "shapes": [{"label": "dent", "points": [list(p) for p in BOX], "group_id": None,
                    "description": "", "shape_type": "polygon", "flags": {}, "mask": None}],
        "imagePath": image_path,
        "imageData": None,
        "imageHeight": 60,
        "imageWidth": 80,
    }
    json_path.write_text(json.dumps(payload), encoding="utf-8")
    return image, json_path


def test_save_points_image_path_at_the_shown_image(qtbot: QtBot, tmp_path: Path) -> None:
    image, json_path = moved_pair(tmp_path / "parts")
    assert not (json_path.parent / "../images/134.jpg").exists()
    session = AnnotationSession(TABLE)
    session.open(image, json_path, (60, 80, 3))
    session.add_shape(Shape("dent", ((50.0, 40.0), (70.0, 40.0), (60.0, 55.0))))
    session.save()
    saved = load_document(json_path)
    assert saved.image_path == "134.jpg"
    assert saved.image_file(json_path) == image
    assert (saved.image_height, saved.image_width) == (60, 80)
    assert len(saved.shapes) == 2


def test_save_keeps_a_correct_relative_image_path(qtbot: QtBot, tmp_path: Path) -> None:
    """A JSON kept in another folder than its image keeps a (correct) relative path."""
    image = tmp_path / "images" / "7.png"
    image.parent.mkdir()
    cv2.imwrite(str(image), np.zeros((20, 30, 3), np.uint8))
    json_path = tmp_path / "labels" / "7.json"
    json_path.parent.mkdir()
    session = AnnotationSession(TABLE)
    session.open(image, json_path, (20, 30, 3))
    session.add_shape(Shape("dent", BOX))
    session.save()
    assert load_document(json_path).image_path == "../images/7.png"
