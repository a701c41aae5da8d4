"""LabelMe documents: frozen dataclasses, a tolerant reader and an atomic writer.

(Data model written first; reader/writer being filled in.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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
