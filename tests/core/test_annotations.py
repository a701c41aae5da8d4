"""LabelMe documents: reading, validation messages, writing format, masks, atomic saves."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import os
import re
import stat
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector_app.core import annotations
from inspector_app.core.annotations import (
    AnnotationError,
    Document,
    Shape,
    check_image_size,
    decode_mask,
    document_for_image,
    encode_mask,
    load_document,
    make_mask_shape,
    parse_document,
    save_document,
)

SQUARE = [[1, 1], [5, 1], [5, 5]]


def _doc_json(shapes: list[object], **top: object) -> str:
    return json.dumps({"version": "5.4.1", "flags": {}, "shapes": shapes, "imagePath": "a.png",
                       "imageData": None, "imageHeight": 48, "imageWidth": 64, **top})


def _shape(shape_type: str, points: object, **fields: object) -> dict[str, object]:
    return {"label": "x", "points": points, "group_id": None, "description": "",
            "shape_type": shape_type, "flags": {}, "mask": None, **fields}


def _temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def _full_document() -> Document:
    mask = np.zeros((4, 5), bool)
    mask[1:3, 1:4] = True
    return Document(
        image_path="images/a.png",
        shapes=(
            Shape("zang_wu", ((1.0, 2.0), (10.5, 2.0), (5.0, 9.25)), group_id=2, description="ü",
                  flags={"ok": True}, extra={"score": 0.5}),
            Shape("ca_shang", ((0.0, 0.0), (3.0, 4.0), (8.0, 1.0)), "linestrip", description=None),
            make_mask_shape("zhen_kong", mask, 20, 30),
        ),
        image_height=48,
        image_width=64,
        flags={"ng": False},
        extra={"custom": [1, {"k": "v"}]},
    )


# ----------------------------------------------------------------------------------- reading


def test_reads_every_optional_field_and_keeps_unknown_keys() -> None:
    text = _doc_json(
        [_shape("polygon", SQUARE, group_id=4, description="d", flags={"f": True}, other=[1, 2])],
        flags={"ng": True}, lineColor=[0, 255, 0, 128],
    )
    doc = parse_document(text)
    assert doc.flags == {"ng": True}
    assert doc.extra == {"lineColor": [0, 255, 0, 128]}
    (shape,) = doc.shapes
    assert shape == Shape("x", ((1.0, 1.0), (5.0, 1.0), (5.0, 5.0)), "polygon", 4, "d", {"f": True},
                          None, {"other": [1, 2]})


def test_reads_old_labelme_files_without_optional_keys() -> None:
    # labelme 3/4 wrote neither description nor mask, sometimes no group_id or shape_type.
    doc = parse_document(json.dumps({"shapes": [{"label": "x", "points": SQUARE,
                                                 "line_color": None}], "imagePath": "a.jpg"}))
    assert doc.shapes[0] == Shape("x", ((1.0, 1.0), (5.0, 1.0), (5.0, 5.0)), extra={"line_color": None})
    assert doc.image_height is None and doc.image_data is None and doc.flags == {}


def test_windows_image_path_and_byte_order_mark_are_accepted() -> None:
    doc = parse_document(b"\xef\xbb\xbf" + _doc_json([], imagePath="..\\images\\12.jpg").encode())
    assert doc.image_path == "../images/12.jpg"
    assert doc.image_file("/data/labelme/12.json") == Path("/data/labelme/../images/12.jpg")


def test_null_description_is_kept_and_unknown_shape_types_are_carried() -> None:
    doc = parse_document(_doc_json([_shape("linestrip", SQUARE, description=None),
                                    _shape("cuboid", [[1, 2]])]))
    assert doc.shapes[0].description is None
    assert doc.shapes[1].shape_type == "cuboid"


MIN_POINTS = {"polygon": 3, "rectangle": 2, "circle": 2, "line": 2, "linestrip": 2, "point": 1,
              "points": 1, "mask": 2, "oriented_rectangle": 4}


@pytest.mark.parametrize("shape_type", sorted(MIN_POINTS))
def test_point_counts_are_checked_per_shape_type(shape_type: str) -> None:
    needed = MIN_POINTS[shape_type]
    mask = encode_mask(np.ones((2, 2), bool)) if shape_type == "mask" else None
    ok = [[float(i), float(i)] for i in range(needed)]
    parse_document(_doc_json([_shape(shape_type, ok, mask=mask)]))
    with pytest.raises(AnnotationError, match=rf"^12\.json: shapes\[1\]\.points: an? {shape_type} needs"):
        parse_document(_doc_json([_shape("point", [[0, 0]]), _shape(shape_type, ok[:-1], mask=mask)]),
                       "12.json")
    if shape_type not in ("polygon", "linestrip", "points"):
        with pytest.raises(AnnotationError, match="needs exactly"):
            parse_document(_doc_json([_shape(shape_type, [*ok, [9.0, 9.0]], mask=mask)]))


def test_polygon_message_is_exactly_as_documented() -> None:
    with pytest.raises(AnnotationError) as info:
        parse_document(_doc_json([_shape("polygon", [[0, 0], [1, 1]])]), "12.json")
    assert str(info.value) == "12.json: shapes[0].points: a polygon needs at least 3 points, got 2"


BAD = {
    "not an object": ("[1, 2]", r"^f\.json: expected a JSON object"),
    "empty file": ("", r"^f\.json: not valid JSON"),
    "truncated": (_doc_json([])[:-5], "not valid JSON"),
    "NaN token": (_doc_json([_shape("point", [[0, 0]])]).replace("0]", "NaN]"), "NaN is not valid JSON"),
    "huge coordinate": (_doc_json([_shape("point", [[0, 1e999]])]).replace("Infinity", "1e999"),
                        r"shapes\[0\]\.points\[0\]: coordinate .* is not finite"),
    "huge integer": (_doc_json([_shape("point", [[0, 0]])]).replace("[0, 0]", "[0, " + "9" * 400 + "]"),
                     "not finite"),
    "string coordinate": (_doc_json([_shape("point", [["1", 0]])]), r"points\[0\]: coordinate is str"),
    "bool coordinate": (_doc_json([_shape("point", [[True, 0]])]), "coordinate is bool"),
    "triple": (_doc_json([_shape("point", [[1, 2, 3]])]), r"points\[0\]: expected a pair"),
    "points not list": (_doc_json([_shape("point", "1,2")]), r"shapes\[0\]\.points: expected a list"),
    "no points": (_doc_json([{"label": "x"}]), r"shapes\[0\]\.points: missing"),
    "no shapes": (json.dumps({"imagePath": "a.png"}), r"^f\.json: shapes: missing"),
    "shapes not list": (_doc_json({}), r"shapes: expected a list, got dict"),  # type: ignore[arg-type]
    "shape not object": (_doc_json([3]), r"shapes\[0\]: expected an object, got int"),
    "label missing": (_doc_json([{"points": SQUARE}]), r"shapes\[0\]\.label: expected a string, got null"),
    "label number": (_doc_json([_shape("polygon", SQUARE, label=3)]), r"\.label: expected a string"),
    "shape_type number": (_doc_json([_shape(3, SQUARE)]), r"\.shape_type: expected a string"),  # type: ignore[arg-type]
    "group_id string": (_doc_json([_shape("polygon", SQUARE, group_id="1")]), r"\.group_id: expected an int"),
    "group_id bool": (_doc_json([_shape("polygon", SQUARE, group_id=True)]), r"\.group_id: expected an int"),
    "group_id float": (_doc_json([_shape("polygon", SQUARE, group_id=1.5)]), r"\.group_id: expected an int"),
    "flag not bool": (_doc_json([_shape("polygon", SQUARE, flags={"a": 1})]), r"\.flags\['a'\]: expected a"),
    "flags list": (_doc_json([], flags=[]), r"^f\.json: flags: expected an object"),
    "description number": (_doc_json([_shape("polygon", SQUARE, description=5)]), r"\.description: expected"),
    "mask number": (_doc_json([_shape("mask", [[0, 0], [1, 1]], mask=5)]), r"\.mask: expected a base64"),
    "mask missing": (_doc_json([_shape("mask", [[0, 0], [1, 1]])]), r"\.mask: a mask shape needs"),
    "imagePath missing": (json.dumps({"shapes": []}), r"^f\.json: imagePath: expected a string, got null"),
    "imagePath number": (_doc_json([], imagePath=7), r"imagePath: expected a string"),
    "imageData number": (_doc_json([], imageData=7), r"imageData: expected a base64"),
    "height string": (_doc_json([], imageHeight="480"), r"imageHeight: expected an integer"),
    "height zero": (_doc_json([], imageHeight=0), r"imageHeight: expected a positive integer"),
    "width float": (_doc_json([], imageWidth=640.0), r"imageWidth: expected an integer"),
    "version number": (_doc_json([], version=5), r"version: expected a string"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_malformed_files_raise_annotation_error_naming_file_and_field(case: str, tmp_path: Path) -> None:
    text, pattern = BAD[case]
    path = tmp_path / "f.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AnnotationError) as info:
        load_document(path)
    assert str(info.value).startswith(f"{path}: ")  # the message names the file as given
    assert re.search(pattern.replace(r"^f\.json", "^" + re.escape(str(path))), str(info.value))
    with pytest.raises(AnnotationError, match=pattern):
        parse_document(text, "f.json")


def test_bad_utf8_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(AnnotationError, match=r"^x\.json: not UTF-8 text"):
        parse_document(b'{"shapes": [], "imagePath": "\xff"}', "x.json")
    with pytest.raises(AnnotationError, match="cannot read"):
        load_document(tmp_path / "missing.json")
    with pytest.raises(AnnotationError, match="cannot read"):
        load_document(tmp_path)  # a folder


def test_deep_nesting_is_an_annotation_error() -> None:
    with pytest.raises(AnnotationError, match="not valid JSON"):
        parse_document("[" * 100_000 + "]" * 100_000)


# ---------------------------------------------------------------------------------- image size


def test_check_image_size(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((48, 64), np.uint8))
    good = Document("a.png", image_height=48, image_width=64)
    check_image_size(good, tmp_path / "a.json")
    check_image_size(dataclasses.replace(good, image_path="gone.png", image_height=1), tmp_path / "a.json")
    with pytest.raises(AnnotationError, match=r"a\.json: imageWidth: declares 640 but a\.png has 64"):
        check_image_size(dataclasses.replace(good, image_width=640), tmp_path / "a.json")
    (tmp_path / "a.json").write_text(_doc_json([], imageHeight=480), encoding="utf-8")
    assert load_document(tmp_path / "a.json").image_height == 480  # no check by default
    with pytest.raises(AnnotationError, match=r"imageHeight: declares 480 but a\.png has 48"):
        load_document(tmp_path / "a.json", check_image=True)


# ----------------------------------------------------------------------------------- writing


def test_save_load_round_trip_and_labelme_format(tmp_path: Path) -> None:
    doc = _full_document()
    save_document(doc, tmp_path / "a.json")
    assert load_document(tmp_path / "a.json") == doc
    text = (tmp_path / "a.json").read_text(encoding="utf-8")
    obj = json.loads(text)
    assert text == json.dumps(obj, indent=2, ensure_ascii=False)  # labelme's json.dump settings
    assert "\"ü\"" in text
    assert list(obj) == ["version", "flags", "shapes", "imagePath", "imageData", "imageHeight",
                         "imageWidth", "custom"]
    assert list(obj["shapes"][0]) == ["label", "points", "group_id", "description", "shape_type",
                                      "flags", "mask", "score"]
    assert obj["imageData"] is None
    assert obj["shapes"][1]["description"] is None
    assert all(isinstance(c, float) for s in obj["shapes"] for p in s["points"] for c in p)


def test_points_of_any_numeric_type_are_written_as_floats(tmp_path: Path) -> None:
    shape = Shape("x", ((np.int64(1), np.float32(2.5)), (3, 4), (5.0, 6)))  # type: ignore[arg-type]
    save_document(Document("a.png", (shape,)), tmp_path / "a.json")
    assert json.loads((tmp_path / "a.json").read_text())["shapes"][0]["points"] == [[1.0, 2.5], [3.0, 4.0],
                                                                                    [5.0, 6.0]]


def test_embed_image_and_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "a.png"), np.zeros((48, 64), np.uint8))
    doc = document_for_image(tmp_path / "images" / "a.png", tmp_path / "labels" / "a.json", (), 48, 64)
    assert doc.image_path == "../images/a.png"
    image = tmp_path / "images" / "a.png"
    assert doc.image_file(tmp_path / "labels" / "a.json").resolve() == image.resolve()
    save_document(doc, tmp_path / "labels" / "a.json", embed_image=True)
    loaded = load_document(tmp_path / "labels" / "a.json", check_image=True)
    assert loaded.image_data is not None
    assert base64.b64decode(loaded.image_data) == (tmp_path / "images" / "a.png").read_bytes()
    # An absolute image path is written relative to the JSON's folder.
    save_document(dataclasses.replace(doc, image_path=str(tmp_path / "images" / "a.png")),
                  tmp_path / "labels" / "b.json")
    assert load_document(tmp_path / "labels" / "b.json").image_path == "../images/a.png"
    # Embedding needs the image or data already in the document.
    with pytest.raises(AnnotationError, match=r"c\.json: imageData: cannot embed"):
        save_document(dataclasses.replace(doc, image_path="gone.png"), tmp_path / "labels" / "c.json",
                      embed_image=True)
    save_document(dataclasses.replace(doc, image_path="gone.png", image_data="AAAA"),
                  tmp_path / "labels" / "c.json", embed_image=True)
    assert load_document(tmp_path / "labels" / "c.json").image_data == "AAAA"


def test_invalid_documents_are_not_written(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    cases = [
        (Document("a.png", (Shape("x", ((0.0, 0.0), (1.0, 1.0))),)), r"shapes\[0\]\.points: a polygon needs"),
        (Document("a.png", (Shape("x", ((0.0, float("nan")),), "point"),)), r"points\[0\]: coordinate nan"),
        (Document("a.png", extra={"version": "9"}), r"a\.json: extra: must not hold the reserved key 'v"),
        (Document("a.png", (Shape("x", ((0.0, 0.0),), "point", extra={"mask": 1}),)),
         r"a\.json: shapes\[0\]\.extra: must not hold the reserved key 'mask'"),
        (Document("a.png", (Shape("x", (), "cuboid"),)), r"shapes\[0\]\.points: a cuboid needs at least 1 "),
        (Document("a.png", extra={"v": float("inf")}), "extra: not serialisable"),
        (Document("a.png", extra={"v": object()}), "extra: not serialisable"),
        (Document("a.png", image_height=0), "imageHeight: expected a positive integer"),
    ]
    for doc, pattern in cases:
        with pytest.raises(AnnotationError, match=pattern):
            save_document(doc, target)
        assert not target.exists()
        assert _temp_files(tmp_path) == []


# ------------------------------------------------------------------------- atomicity and guard


@pytest.mark.parametrize("failing", ["replace", "fsync", "write"])
def test_failed_write_keeps_previous_file_and_leaves_no_temp(
    failing: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "a.json"
    save_document(_full_document(), target)
    before = target.read_bytes()

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    if failing == "write":
        real_fdopen = os.fdopen

        class FailingFile:
            def __init__(self, handle: object) -> None:
                self.handle = handle

            def __enter__(self) -> FailingFile:
                return self

            def __exit__(self, *exc: object) -> None:
                self.handle.close()  # type: ignore[attr-defined]

            def write(self, data: bytes) -> int:
                self.handle.write(data[: len(data) // 2])  # type: ignore[attr-defined]
                self.handle.flush()  # type: ignore[attr-defined]
                raise OSError(28, "No space left on device")

        monkeypatch.setattr(annotations.os, "fdopen", lambda fd, mode: FailingFile(real_fdopen(fd, mode)))
    else:
        monkeypatch.setattr(annotations.os, failing, boom)
    changed = dataclasses.replace(_full_document(), flags={"ng": True})
    with pytest.raises(AnnotationError, match=r"a\.json: cannot write \(No space left on device\)"):
        save_document(changed, target)
    monkeypatch.undo()
    assert target.read_bytes() == before
    assert _temp_files(tmp_path) == []
    save_document(changed, target)
    assert load_document(target) == changed


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions, not root")
def test_read_only_folder_keeps_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    save_document(_full_document(), target)
    before = target.read_bytes()
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(AnnotationError, match="cannot write"):
            save_document(Document("b.png"), target)
    finally:
        tmp_path.chmod(0o755)
    assert target.read_bytes() == before
    assert _temp_files(tmp_path) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_existing_permissions_are_kept(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    save_document(Document("a.png"), target)
    target.chmod(0o640)
    save_document(Document("b.png"), target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


@pytest.mark.parametrize("content", [b'{"shapes": [', b"\xff\xfe junk", b'{"shapes": 3, "imagePath": "a"}'])
def test_a_file_that_does_not_load_is_never_overwritten(content: bytes, tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    target.write_bytes(content)
    with pytest.raises(AnnotationError, match=r"a\.json: refusing to overwrite a file that does not load"):
        save_document(_full_document(), target)
    assert target.read_bytes() == content
    assert _temp_files(tmp_path) == []
    save_document(_full_document(), target, overwrite_unreadable=True)
    assert load_document(target) == _full_document()


# -------------------------------------------------------------------------------------- masks


def test_mask_round_trip_and_bbox(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for shape in [(1, 1), (7, 3), (40, 65)]:
        mask = rng.random(shape) > 0.5
        assert np.array_equal(decode_mask(Shape("m", ((0.0, 0.0), (1.0, 1.0)), "mask",
                                                mask=encode_mask(mask))), mask)
    shape = make_mask_shape("m", np.ones((3, 5), bool), 10, 20, group_id=1)
    assert shape.points == ((10.0, 20.0), (14.0, 22.0)) and shape.group_id == 1
    # labelme encodes 0/1 greyscale; values are bytes 0 and 1 in the PNG.
    png = cv2.imdecode(np.frombuffer(base64.b64decode(shape.mask or ""), np.uint8), cv2.IMREAD_UNCHANGED)
    assert png.dtype == np.uint8 and set(np.unique(png)) == {1}


def test_decode_accepts_other_png_flavours() -> None:
    mask = np.zeros((4, 6), bool)
    mask[1:3, 2:5] = True
    grey255 = (mask * 255).astype(np.uint8)
    rgba = np.zeros((4, 6, 4), np.uint8)
    rgba[mask] = (255, 255, 255, 255)
    rgba[~mask] = (255, 255, 255, 0)  # white but transparent: background
    for image in (grey255, np.dstack([grey255] * 3), rgba, grey255.astype(np.uint16) * 257):
        data = base64.b64encode(cv2.imencode(".png", image)[1].tobytes()).decode()
        assert np.array_equal(decode_mask(Shape("m", ((0.0, 0.0), (5.0, 3.0)), "mask", mask=data)), mask)


@pytest.mark.parametrize("data", [None, "", "!!!", "aGVsbG8=", "ü"])
def test_bad_masks_raise_annotation_error(data: str | None) -> None:
    with pytest.raises(AnnotationError, match="mask"):
        decode_mask(Shape("m", ((0.0, 0.0), (1.0, 1.0)), "mask", mask=data))


def test_encode_rejects_non_2d() -> None:
    for bad in (np.zeros((2, 2, 3)), np.zeros(4), np.zeros((0, 3))):
        with pytest.raises(AnnotationError):
            encode_mask(bad)


@pytest.mark.parametrize("mode", ["1", "L", "P", "LA", "RGB"])
def test_decode_masks_written_by_pil_in_any_mode(mode: str) -> None:
    """labelme encodes masks with PIL; older tools wrote other modes (1-bit, palette, ...)."""
    image_module = pytest.importorskip("PIL.Image")
    mask = np.zeros((5, 7), bool)
    mask[1:4, 2:6] = True
    mask[0, 0] = True
    image = image_module.fromarray((mask * 255).astype(np.uint8)).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    data = base64.b64encode(buffer.getvalue()).decode()
    assert np.array_equal(decode_mask(Shape("m", ((0.0, 0.0), (6.0, 4.0)), "mask", mask=data)), mask)
