"""Saving keeps what the file had and corrects what it got wrong: a wrong imageHeight/imageWidth is
replaced by the image's real size (with a notice), an embedded imageData is kept."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from inspector_app.core.annotations import Document, Shape, load_document, save_document


def _document(**changes: object) -> Document:
    fields: dict[str, object] = {
        "image_path": "a.png",
        "shapes": (Shape(label="scratch", points=((1.0, 1.0), (5.0, 1.0), (5.0, 5.0))),),
        "image_height": 480,
        "image_width": 640,
    }
    fields.update(changes)
    return Document(**fields)  # type: ignore[arg-type]


def test_wrong_image_size_is_corrected_with_a_notice(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    notices = save_document(_document(image_height=10, image_width=20), target, image_size=(480, 640))
    saved = json.loads(target.read_text(encoding="utf-8"))
    assert (saved["imageHeight"], saved["imageWidth"]) == (480, 640)
    assert len(notices) == 1 and "a.json" in notices[0] and "10x20" in notices[0] and "480x640" in notices[0]
    assert save_document(_document(), target, image_size=(480, 640)) == ()  # right size: nothing to say


def test_embedded_image_data_is_kept_unless_dropped_on_purpose(tmp_path: Path) -> None:
    data = base64.b64encode(b"\x89PNG pretend image bytes").decode("ascii")
    target = tmp_path / "a.json"
    target.write_text(json.dumps({"version": "5.5.0", "flags": {}, "shapes": [], "imagePath": "a.png",
                                  "imageData": data, "imageHeight": 480, "imageWidth": 640}))  # fmt: skip
    document = load_document(target)
    save_document(document, target)  # no image file beside it: the embedded copy is all there is
    assert load_document(target).image_data == data
    save_document(document, target, embed_image=False)  # the user's choice
    assert load_document(target).image_data is None
