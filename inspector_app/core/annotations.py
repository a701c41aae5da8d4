"""LabelMe documents: frozen dataclasses, a tolerant but validating reader and an atomic writer.

Reading accepts what labelme 5.x-7.x writes (every shape type, ``mask`` shapes with base64 PNGs,
group ids, descriptions, flags, embedded image data, Windows paths) and keeps keys it does not know
(``extra``) so that they are written back. Anything malformed raises :class:`AnnotationError` whose
message names the file and the field, e.g. ``12.json: shapes[3].points: a polygon needs at least 3
points``.

Writing is atomic (:mod:`inspector_app.core.fileio`: temp file, fsync, ``os.replace``), formatted
like labelme (indent 2, UTF-8, fixed key order) and refuses to overwrite an existing file that does
not load, so a file we cannot read is never destroyed by a save.
"""

from __future__ import annotations

import base64
import binascii
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

# atomic_write_bytes is also imported from here by older callers (demo, trainer.evaluate).
from inspector_app.core import jsonchunks
from inspector_app.core.fileio import atomic_write_bytes
from inspector_app.core.images import ImageReadError, image_size

#: Shape types labelme 5.x-7.x writes. Unknown types are kept and written back unchanged.
SHAPE_TYPES = (
    "polygon",
    "rectangle",
    "circle",
    "line",
    "linestrip",
    "point",
    "points",
    "mask",
    "oriented_rectangle",
)

#: Point count rules per shape type: (minimum, maximum or None for unbounded).
POINT_COUNTS: Mapping[str, tuple[int, int | None]] = {
    "polygon": (3, None),
    "rectangle": (2, 2),
    "circle": (2, 2),
    "line": (2, 2),
    "linestrip": (2, None),
    "point": (1, 1),
    "points": (1, None),
    "mask": (2, 2),
    "oriented_rectangle": (4, 4),
}

#: Top-level keys in the order labelme writes them; anything else goes to ``Document.extra``.
DOCUMENT_KEYS = ("version", "flags", "shapes", "imagePath", "imageData", "imageHeight", "imageWidth")
#: Per-shape keys in the order labelme writes them; anything else goes to ``Shape.extra``.
SHAPE_KEYS = ("label", "points", "group_id", "description", "shape_type", "flags", "mask")

Point = tuple[float, float]


class AnnotationError(ValueError):
    """A LabelMe file could not be read or written; the message names the file and the field."""


@dataclass(frozen=True)
class Shape:
    """One LabelMe shape.

    ``mask`` holds the raw base64 PNG string of a ``mask`` shape exactly as read (its two points are
    the bounding box corners); use :func:`decode_mask` / :func:`encode_mask` to convert.
    ``extra`` keeps keys we do not know so that they are written back unchanged.
    """

    label: str
    points: tuple[Point, ...]
    shape_type: str = "polygon"
    group_id: int | None = None
    description: str | None = ""
    flags: Mapping[str, bool] = field(default_factory=dict)
    mask: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Document:
    """One LabelMe JSON document (one image's annotations).

    ``image_path`` is relative POSIX (backslashes from Windows files are converted on read).
    ``image_data`` is the base64 image when embedded, else None (our default on write).
    """

    image_path: str
    shapes: tuple[Shape, ...] = ()
    image_height: int | None = None
    image_width: int | None = None
    version: str = "5.4.1"
    flags: Mapping[str, bool] = field(default_factory=dict)
    image_data: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def image_file(self, json_path: str | os.PathLike[str]) -> Path:
        """The image this document annotates: ``image_path`` resolved against the JSON's folder."""
        return Path(json_path).parent / self.image_path


# --------------------------------------------------------------------------------------- masks


def decode_mask(shape: Shape) -> npt.NDArray[np.bool_]:
    """Decode a ``mask`` shape's base64 PNG into a boolean array (height x width of its bbox).

    Any non-zero pixel is foreground (labelme writes 0/1 greyscale; 0/255, 1-bit, palette and
    colour PNGs are accepted too; with an alpha channel, transparent pixels are background).
    """
    if shape.mask is None:
        raise AnnotationError(f"mask: shape {shape.label!r} ({shape.shape_type}) has no mask data")
    try:
        raw = base64.b64decode(shape.mask, validate=False)
    except (binascii.Error, ValueError) as e:
        raise AnnotationError(f"mask: not valid base64 ({e})") from e
    try:
        image = cv2.imdecode(np.frombuffer(raw, dtype=np.uint8), cv2.IMREAD_UNCHANGED) if raw else None
    except cv2.error:
        image = None
    if image is None:
        raise AnnotationError("mask: not a decodable PNG image")
    if image.ndim == 2:
        return np.asarray(image != 0)
    foreground = np.any(image[:, :, :3] != 0, axis=2)
    if image.shape[2] == 4:
        foreground &= image[:, :, 3] != 0
    return np.asarray(foreground)


def encode_mask(mask: npt.ArrayLike) -> str:
    """Encode a 2-D mask (bool, or numbers where non-zero is foreground) as labelme does.

    The result is a base64 PNG of a uint8 image with values 0/1, the same as labelme's
    ``utils.img_arr_to_b64(mask.astype(np.uint8))``.
    """
    array = np.asarray(mask)
    if array.ndim != 2 or array.size == 0:
        raise AnnotationError(f"mask: expected a non-empty 2-D array, got shape {array.shape}")
    ok, buffer = cv2.imencode(".png", (array != 0).astype(np.uint8))
    if not ok:  # pragma: no cover - cv2 encodes any non-empty uint8 image
        raise AnnotationError("mask: PNG encoding failed")
    return base64.b64encode(buffer.tobytes()).decode("ascii")


def make_mask_shape(label: str, mask: npt.ArrayLike, x: int, y: int, **fields: Any) -> Shape:
    """A ``mask`` shape whose bbox top-left pixel is (x, y), with labelme's inclusive bbox points."""
    array = np.asarray(mask)
    if array.ndim != 2:
        raise AnnotationError(f"mask: expected a 2-D array, got shape {array.shape}")
    height, width = array.shape
    points = ((float(x), float(y)), (float(x + width - 1), float(y + height - 1)))
    return Shape(label=label, points=points, shape_type="mask", mask=encode_mask(array), **fields)


# ------------------------------------------------------------------------------------- reading


def _fail(source: str, where: str, message: str) -> AnnotationError:
    return AnnotationError(f"{source}: {where}: {message}" if where else f"{source}: {message}")


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _flags(value: object, source: str, where: str) -> dict[str, bool]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(source, where, f"expected an object of booleans, got {_type_name(value)}")
    for key, flag in value.items():
        if not isinstance(key, str):
            raise _fail(source, where, f"flag names must be strings, got {_type_name(key)}")
        if not isinstance(flag, bool):
            raise _fail(source, f"{where}[{key!r}]", f"expected a boolean, got {_type_name(flag)}")
    return dict(value)


def _optional_int(value: object, source: str, where: str, *, positive: bool = False) -> int | None:
    # bool is an int subclass in Python but never a valid id or size in a labelme file.
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise _fail(source, where, f"expected an integer or null, got {_type_name(value)}")
    if positive and value <= 0:
        raise _fail(source, where, f"expected a positive integer, got {value}")
    return value


def _points(value: object, source: str, where: str) -> tuple[Point, ...]:
    if not isinstance(value, list):
        raise _fail(source, where, f"expected a list of [x, y], got {_type_name(value)}")
    points: list[Point] = []
    for i, point in enumerate(value):
        if not isinstance(point, list) or len(point) != 2:
            raise _fail(source, f"{where}[{i}]", "expected a pair [x, y]")
        coords: list[float] = []
        for c in point:
            if isinstance(c, bool) or not isinstance(c, int | float):
                raise _fail(source, f"{where}[{i}]", f"coordinate is {_type_name(c)}, not a number")
            try:
                number = float(c)
            except OverflowError:  # a huge JSON integer
                number = math.inf
            if not math.isfinite(number):
                raise _fail(source, f"{where}[{i}]", f"coordinate {c!r} is not finite")
            coords.append(number)
        points.append((coords[0], coords[1]))
    return tuple(points)


def _check_point_count(shape_type: str, count: int, source: str, where: str) -> None:
    # Unknown shape types are carried through; like labelme we only insist on some points.
    low, high = POINT_COUNTS.get(shape_type, (1, None))
    article = "an" if shape_type[:1] in ("a", "e", "i", "o", "u") else "a"
    if high is None and count < low:
        plural = "point" if low == 1 else "points"
        raise _fail(source, where, f"{article} {shape_type} needs at least {low} {plural}, got {count}")
    if high is not None and not low <= count <= high:
        plural = "point" if low == 1 else "points"
        raise _fail(source, where, f"{article} {shape_type} needs exactly {low} {plural}, got {count}")


def _shape_from_dict(obj: object, source: str, where: str) -> Shape:
    if not isinstance(obj, dict):
        raise _fail(source, where, f"expected an object, got {_type_name(obj)}")
    if not isinstance(obj.get("label"), str):
        raise _fail(source, f"{where}.label", f"expected a string, got {_type_name(obj.get('label'))}")
    if "points" not in obj:
        raise _fail(source, f"{where}.points", "missing")
    points = _points(obj["points"], source, f"{where}.points")
    shape_type = obj.get("shape_type")
    if shape_type is None:  # labelme < 3 wrote no shape_type: those shapes are polygons
        shape_type = "polygon"
    if not isinstance(shape_type, str):
        raise _fail(source, f"{where}.shape_type", f"expected a string, got {_type_name(shape_type)}")
    _check_point_count(shape_type, len(points), source, f"{where}.points")
    description = obj.get("description", "")
    if description is not None and not isinstance(description, str):
        raise _fail(source, f"{where}.description", f"expected a string, got {_type_name(description)}")
    mask = obj.get("mask")
    if mask is not None and not isinstance(mask, str):
        raise _fail(source, f"{where}.mask", f"expected a base64 PNG string, got {_type_name(mask)}")
    if shape_type == "mask" and mask is None:
        raise _fail(source, f"{where}.mask", "a mask shape needs its base64 PNG")
    return Shape(
        label=obj["label"],
        points=points,
        shape_type=shape_type,
        group_id=_optional_int(obj.get("group_id"), source, f"{where}.group_id"),
        description=description,
        flags=_flags(obj.get("flags"), source, f"{where}.flags"),
        mask=mask,
        extra={k: v for k, v in obj.items() if k not in SHAPE_KEYS},
    )


def document_from_dict(obj: object, source: str = "<document>") -> Document:
    """Validate a parsed LabelMe JSON value and build a :class:`Document` (``source`` names it)."""
    if not isinstance(obj, dict):
        raise _fail(source, "", f"expected a JSON object at top level, got {_type_name(obj)}")
    if "shapes" not in obj:
        raise _fail(source, "shapes", "missing")
    shapes = obj["shapes"]
    if not isinstance(shapes, list):
        raise _fail(source, "shapes", f"expected a list, got {_type_name(shapes)}")
    image_path = obj.get("imagePath")
    if not isinstance(image_path, str):
        raise _fail(source, "imagePath", f"expected a string, got {_type_name(image_path)}")
    image_data = obj.get("imageData")
    if image_data is not None and not isinstance(image_data, str):
        raise _fail(source, "imageData", f"expected a base64 string or null, got {_type_name(image_data)}")
    version = obj.get("version", Document.version)
    if not isinstance(version, str):
        raise _fail(source, "version", f"expected a string, got {_type_name(version)}")
    return Document(
        # Windows labelme writes "..\\images\\1.jpg"; a backslash is never meant literally here.
        image_path=image_path.replace("\\", "/"),
        shapes=tuple(_shape_from_dict(s, source, f"shapes[{i}]") for i, s in enumerate(shapes)),
        image_height=_optional_int(obj.get("imageHeight"), source, "imageHeight", positive=True),
        image_width=_optional_int(obj.get("imageWidth"), source, "imageWidth", positive=True),
        version=version,
        flags=_flags(obj.get("flags"), source, "flags"),
        image_data=image_data,
        extra={k: v for k, v in obj.items() if k not in DOCUMENT_KEYS},
    )


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


def parse_document(data: bytes | str, source: str = "<document>") -> Document:
    """Parse LabelMe JSON text or UTF-8 bytes (a BOM is tolerated) into a :class:`Document`."""
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
        obj = jsonchunks.loads(text, parse_constant=_reject_constant)
    except UnicodeDecodeError as e:
        raise _fail(source, "", f"not UTF-8 text ({e.reason} at byte {e.start})") from e
    except (ValueError, RecursionError) as e:  # JSONDecodeError is a ValueError
        raise _fail(source, "", f"not valid JSON ({e})") from e
    return document_from_dict(obj, source)


def load_document(path: str | os.PathLike[str], *, check_image: bool = False) -> Document:
    """Read and validate a LabelMe JSON file.

    With ``check_image`` the declared imageHeight/imageWidth are compared with the image file
    (see :func:`check_image_size`). Raises :class:`AnnotationError` for anything malformed,
    including an unreadable file.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise AnnotationError(f"{os.fspath(path)}: cannot read ({e.strerror or e})") from e
    document = parse_document(data, os.fspath(path))
    if check_image:
        check_image_size(document, path)
    return document


def check_image_size(document: Document, json_path: str | os.PathLike[str]) -> None:
    """Compare the declared imageHeight/imageWidth with the image beside the JSON.

    A missing or undecodable image is not an error (annotations can travel without images).
    """
    if document.image_height is None and document.image_width is None:
        return
    image_file = document.image_file(json_path)
    if not image_file.is_file():
        return
    try:
        size = image_size(image_file)  # header only where possible; EXIF orientation as labelme
    except (ImageReadError, OSError, ValueError):
        return  # an undecodable image is the image reader's problem, not the annotation's
    source = os.fspath(json_path)
    for name, declared, actual in (
        ("imageHeight", document.image_height, size[0]),
        ("imageWidth", document.image_width, size[1]),
    ):
        if declared is not None and declared != actual:
            raise _fail(source, name, f"declares {declared} but {image_file.name} has {actual}")


# ------------------------------------------------------------------------------------- writing


def _number(value: Any) -> Any:
    # numpy scalars and ints become plain floats; anything else is left for validation to name.
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        return value
    return float(value)


def _integer(value: Any) -> Any:
    return int(value) if isinstance(value, np.integer) else value


def _point_list(point: Any) -> Any:
    if isinstance(point, str) or not isinstance(point, Sequence | np.ndarray):
        return point
    return [_number(c) for c in point]


def _shape_to_dict(shape: Shape, source: str, where: str) -> dict[str, Any]:
    points = shape.points
    as_list = points if isinstance(points, Sequence | np.ndarray) and not isinstance(points, str) else None
    out: dict[str, Any] = {
        "label": shape.label,
        "points": [_point_list(p) for p in as_list] if as_list is not None else points,
        "group_id": _integer(shape.group_id),
        "description": shape.description,
        "shape_type": shape.shape_type,
        "flags": dict(shape.flags) if isinstance(shape.flags, Mapping) else shape.flags,
        "mask": shape.mask,
    }
    for key, value in shape.extra.items():
        if key in out:
            raise _fail(source, f"{where}.extra", f"must not hold the reserved key {key!r}")
        out[key] = value
    return out


def document_to_dict(document: Document, source: str = "<document>") -> dict[str, Any]:
    """The JSON object labelme would write for ``document``, keys in labelme's order.

    Not validated (see :func:`dump_document`); ``source`` names the file in error messages.
    """
    out: dict[str, Any] = {
        "version": document.version,
        "flags": dict(document.flags) if isinstance(document.flags, Mapping) else document.flags,
        "shapes": [_shape_to_dict(s, source, f"shapes[{i}]") for i, s in enumerate(document.shapes)],
        "imagePath": document.image_path,
        "imageData": document.image_data,
        "imageHeight": _integer(document.image_height),
        "imageWidth": _integer(document.image_width),
    }
    for key, value in document.extra.items():
        if key in out:
            raise _fail(source, "extra", f"must not hold the reserved key {key!r}")
        out[key] = value
    return out


def dump_document(document: Document, source: str = "<document>") -> str:
    """Validate ``document`` and serialise it exactly as :func:`save_document` writes it."""
    try:
        payload = document_to_dict(document, source)
    except (AttributeError, TypeError) as e:  # e.g. extra or flags that are not mappings
        raise _fail(source, "", f"malformed Document ({e})") from e
    # Validate what we are about to write with the reader's rules: we never write a file that we
    # (or labelme) could not read back. Errors name the destination file and the field.
    document_from_dict(payload, source)
    try:
        return jsonchunks.dumps(payload, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as e:
        raise _fail(source, "extra", f"not serialisable as JSON ({e})") from e


def _relative_posix(target: str | os.PathLike[str], folder: str | os.PathLike[str]) -> str:
    try:
        relative = os.path.relpath(os.path.abspath(target), os.path.abspath(folder))
    except ValueError:  # Windows: different drives, no relative path exists
        relative = os.path.abspath(target)
    return relative.replace(os.sep, "/")


def relative_image_path(image_file: str | os.PathLike[str], json_path: str | os.PathLike[str]) -> str:
    """``imagePath`` of a JSON at ``json_path`` annotating ``image_file`` (relative POSIX, as labelme)."""
    return _relative_posix(image_file, Path(json_path).parent)


def for_shown_image(
    document: Document,
    image_file: str | os.PathLike[str],
    json_path: str | os.PathLike[str],
    size: tuple[int, int] | None = None,
) -> Document:
    """``document`` pointing at the image actually shown with it (``imagePath`` relative to the
    JSON, and ``(height, width)`` when given); the same object when nothing differs.

    A file copied or moved away from its image (``../images/134.jpg`` no longer exists) but paired
    with the image beside it by name must be saved pointing at that image, else labelme cannot open it.
    """
    image_path = relative_image_path(image_file, json_path)
    height, width = size if size is not None else (document.image_height, document.image_width)
    if (document.image_path, document.image_height, document.image_width) == (image_path, height, width):
        return document
    return Document(
        image_path=image_path,
        shapes=document.shapes,
        image_height=height,
        image_width=width,
        version=document.version,
        flags=document.flags,
        # Embedded pixels of another image would contradict imagePath: drop them.
        image_data=document.image_data if document.image_path == image_path else None,
        extra=document.extra,
    )


def save_document(
    document: Document,
    path: str | os.PathLike[str],
    *,
    embed_image: bool | None = None,
    overwrite_unreadable: bool = False,
    image_size: tuple[int, int] | None = None,
) -> tuple[str, ...]:
    """Validate and atomically write ``document`` as LabelMe JSON to ``path``; returns notices.

    ``imageData``: ``None`` (default) keeps what the document has — a file that embedded its image
    keeps it, one without stays without; ``True`` embeds the image file's bytes (base64; falls back
    to ``document.image_data`` when the file is missing); ``False`` drops it (the user's choice).
    ``image_size`` (height, width), the image's real size: a document declaring another
    ``imageHeight``/``imageWidth`` is written with the real one, and a notice says so. An absolute
    ``image_path`` is written relative to the JSON's folder. If ``path`` exists but does not load
    (:func:`load_document` fails), the save is refused unless ``overwrite_unreadable`` is true:
    a file we cannot read is never destroyed silently. Raises :class:`AnnotationError`.
    """
    source = os.fspath(path)
    target = Path(path)
    notices: list[str] = []
    image_path = document.image_path.replace("\\", "/")
    if os.path.isabs(image_path):
        image_path = _relative_posix(image_path, target.parent)
    image_data = document.image_data if embed_image is None else None
    if embed_image:
        image_file = target.parent / image_path
        try:
            image_data = base64.b64encode(image_file.read_bytes()).decode("ascii")
        except OSError as e:
            if document.image_data is None:
                raise _fail(source, "imageData", f"cannot embed {image_file} ({e.strerror or e})") from e
            image_data = document.image_data
    height, width = document.image_height, document.image_width
    if image_size is not None and (height, width) != (int(image_size[0]), int(image_size[1])):
        if height is not None or width is not None:
            notices.append(
                f"{source}: imageHeight/imageWidth said {height}x{width} but the image is "
                f"{int(image_size[0])}x{int(image_size[1])}; corrected"
            )
        height, width = int(image_size[0]), int(image_size[1])
    text = dump_document(
        Document(
            image_path=image_path,
            shapes=document.shapes,
            image_height=height,
            image_width=width,
            version=document.version,
            flags=document.flags,
            image_data=image_data,
            extra=document.extra,
        ),
        source,
    )
    if not overwrite_unreadable and (target.exists() or target.is_symlink()):
        try:
            load_document(target)
        except AnnotationError as e:
            raise AnnotationError(
                f"{source}: refusing to overwrite a file that does not load ({e}); "
                "pass overwrite_unreadable=True to replace it"
            ) from e
    try:
        atomic_write_bytes(target, text.encode("utf-8"))
    except OSError as e:
        raise AnnotationError(f"{source}: cannot write ({e.strerror or e})") from e
    return tuple(notices)


def document_for_image(
    image_path: str | os.PathLike[str],
    json_path: str | os.PathLike[str],
    shapes: Sequence[Shape] = (),
    height: int | None = None,
    width: int | None = None,
    **fields: Any,
) -> Document:
    """A new document for ``image_path`` to be saved at ``json_path`` (imagePath relative POSIX)."""
    return Document(
        image_path=_relative_posix(image_path, Path(json_path).parent),
        shapes=tuple(shapes),
        image_height=height,
        image_width=width,
        **fields,
    )
