"""Files the station's annotation session saves open in labelme 6.3.1 with identical shapes.

The edits go through the real session (undo stack, accept-prediction, vertex edit, relabel) and
the real atomic save; labelme then reads the file in a subprocess (it imports PyQt5, which must
never be loaded into this process) with its own ``LabelFile`` and GUI shape conversion.
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
from pytestqt.qtbot import QtBot

from inspector_app.core.annotations import Shape, load_document
from inspector_app.core.classes import ClassTable
from inspector_app.editing import AnnotationSession

pytestmark = pytest.mark.gui

PROBE = Path(__file__).resolve().parents[1] / "core" / "labelme_probe.py"
TABLE = ClassTable.from_labels(["dent", "scratch"])  # 1 dent, 2 scratch


def _labelme_read(path: Path, work: Path) -> dict[str, object]:
    requests, results = work / "requests.json", work / "results.json"
    requests.write_text(json.dumps([{"op": "read", "path": str(path)}]), encoding="utf-8")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, str(PROBE), str(requests), str(results)],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (result,) = json.loads(results.read_text(encoding="utf-8"))
    assert result["ok"], result.get("trace")
    return result


def test_session_edits_saved_and_read_by_labelme(qtbot: QtBot, tmp_path: Path) -> None:
    if importlib.util.find_spec("labelme") is None or importlib.util.find_spec("PyQt5") is None:
        pytest.skip("labelme (with PyQt5) is not installed")
    image_path, json_path = tmp_path / "part.png", tmp_path / "part.json"
    cv2.imwrite(str(image_path), np.full((120, 160, 3), 90, np.uint8))
    session = AnnotationSession(TABLE)
    session.open(image_path, json_path, (120, 160, 3))

    drawn = session.add_shape(Shape("dent", ((10.0, 10.0), (50.0, 12.0), (45.0, 40.0), (12.0, 35.0))))
    session.add_shape(Shape("scratch", ((60.0, 100.0), (150.0, 90.0)), shape_type="linestrip"))
    session.add_shape(Shape("dent", ((100.0, 20.0), (130.0, 50.0)), shape_type="rectangle"))
    mask = np.zeros((120, 160), np.uint8)
    mask[70:90, 20:50] = 2  # a predicted scratch region, accepted as a polygon
    accepted = session.accept_prediction(mask)
    assert accepted
    session.move_vertex(drawn, 2, (47.5, 42.25))
    session.set_label([drawn], "scratch")
    session.save()
    assert not session.is_dirty

    ours = load_document(json_path)
    seen = _labelme_read(json_path, tmp_path)
    assert seen["image_path"] == "part.png"
    theirs = seen["shapes"]
    assert isinstance(theirs, list)
    assert len(theirs) == len(ours.shapes) == 4
    for shape, other in zip(ours.shapes, theirs, strict=True):
        assert other["label"] == shape.label
        assert other["shape_type"] == shape.shape_type
        assert other["points"] == [[x, y] for x, y in shape.points]
        assert other["app_points"] == [[x, y] for x, y in shape.points]
        assert other["group_id"] == shape.group_id
        assert other["flags"] == dict(shape.flags)
    # The edits really are in the file labelme read: the moved vertex and the new label ...
    assert theirs[0]["label"] == "scratch" and theirs[0]["points"][2] == [47.5, 42.25]
    # ... and the accepted prediction, still marked as one.
    assert theirs[3]["flags"].get("prediction") is True


def test_file_saved_after_its_image_moved_opens_in_labelme(qtbot: QtBot, tmp_path: Path) -> None:
    """Issue 11, bug 1: the JSON names ``../images/134.jpg`` (no longer there); the station shows
    the ``134.jpg`` beside it. After a save labelme finds the image and reads the edited shapes."""
    if importlib.util.find_spec("labelme") is None or importlib.util.find_spec("PyQt5") is None:
        pytest.skip("labelme (with PyQt5) is not installed")
    folder = tmp_path / "moved"
    folder.mkdir()
    image_path, json_path = folder / "134.jpg", folder / "134.json"
    cv2.imwrite(str(image_path), np.full((60, 80, 3), 120, np.uint8))
    json_path.write_text(
        json.dumps(
            {
                "version": "5.4.1", "flags": {}, "imagePath": "../images/134.jpg", "imageData": None,
                "imageHeight": 60, "imageWidth": 80,
                "shapes": [{"label": "dent", "points": [[5, 5], [30, 5], [20, 25]], "group_id": None,
                            "description": "", "shape_type": "polygon", "flags": {}, "mask": None}],
            }
        ),
        encoding="utf-8",
    )
    session = AnnotationSession(TABLE)
    session.open(image_path, json_path, (60, 80, 3))
    session.add_shape(Shape("scratch", ((40.0, 40.0), (70.0, 50.0)), shape_type="line"))
    session.save()

    seen = _labelme_read(json_path, tmp_path)
    assert seen["image_path"] == "134.jpg"
    assert (json_path.parent / str(seen["image_path"])).is_file()
    theirs = seen["shapes"]
    assert isinstance(theirs, list)
    assert [s["label"] for s in theirs] == ["dent", "scratch"]
    assert theirs[1]["points"] == [[40.0, 40.0], [70.0, 50.0]]


def test_group_description_and_flags_edited_in_the_shape_list_reach_labelme(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """Issue 11 (labelme parity): the fields the shape list edits are the ones labelme reads."""
    if importlib.util.find_spec("labelme") is None or importlib.util.find_spec("PyQt5") is None:
        pytest.skip("labelme (with PyQt5) is not installed")
    from inspector_app.docks.shape_list import ShapeListPanel

    image_path, json_path = tmp_path / "p.png", tmp_path / "p.json"
    cv2.imwrite(str(image_path), np.full((50, 60, 3), 90, np.uint8))
    session = AnnotationSession(TABLE)
    session.open(image_path, json_path, (50, 60, 3))
    panel = ShapeListPanel(session)
    qtbot.addWidget(panel)
    first = session.add_shape(Shape("dent", ((5.0, 5.0), (25.0, 5.0), (15.0, 20.0))))
    second = session.add_shape(Shape("scratch", ((30.0, 30.0), (55.0, 45.0)), shape_type="line"))
    session.set_shape_fields([first, second], group_id=3)
    session.set_shape_fields([first], description="under the clamp", set_flags={"occluded": True})
    session.set_image_flags({"blurry": True, "needs_second_look": False})
    session.save()
    seen = _labelme_read(json_path, tmp_path)
    assert seen["flags"] == {"blurry": True, "needs_second_look": False}
    theirs = seen["shapes"]
    assert isinstance(theirs, list)
    assert [s["group_id"] for s in theirs] == [3, 3]
    assert theirs[0]["description"] == "under the clamp"
    assert theirs[0]["flags"] == {"occluded": True}
    assert panel.row_texts() == [("dent", "polygon", "3"), ("scratch", "line", "3")]
