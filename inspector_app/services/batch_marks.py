"""Markers that say "written by ``defect-inspector predict``, with model X" inside each output file.

Batch prediction must never overwrite a file it did not write (a hand-made LabelMe file, an input
image, someone's own mask) and must tell its own outputs of this model ("already done") from those
of another model (redone). Each output therefore carries the same small JSON marker,
``{"source": "prediction", "model_id": ...}``:

* LabelMe JSON: the top-level key :data:`~inspector_app.services.file_entries.PREDICTION_KEY`;
* PNG masks: a ``tEXt`` chunk with that keyword, placed right after ``IHDR`` (readers ignore it);
* JPEG overlays: a comment (``COM``) segment right after the start-of-image marker.

:func:`read_marker` finds it by reading only the first few kilobytes of a PNG or JPEG.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from inspector_app.core.annotations import AnnotationError, load_document
from inspector_app.services.file_entries import PREDICTION_KEY

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_HEAD_BYTES = 4096


def marker(model_id: str, created: str = "") -> dict[str, str]:
    """The marker's content."""
    out = {"source": "prediction", "model_id": model_id}
    if created:
        out["created"] = created
    return out


def _text(model_id: str) -> bytes:
    return json.dumps(marker(model_id), sort_keys=True).encode("ascii")


def mark_png(data: bytes, model_id: str) -> bytes:
    """``data`` (an encoded PNG) with the marker as a ``tEXt`` chunk after ``IHDR``."""
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError("not a PNG")
    ihdr_end = 8 + 8 + struct.unpack(">I", data[8:12])[0] + 4
    body = b"tEXt" + PREDICTION_KEY.encode("ascii") + b"\0" + _text(model_id)
    chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    return data[:ihdr_end] + chunk + data[ihdr_end:]


def mark_jpeg(data: bytes, model_id: str) -> bytes:
    """``data`` (an encoded JPEG) with the marker as a ``COM`` segment after SOI."""
    if not data.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG")
    text = PREDICTION_KEY.encode("ascii") + b"\0" + _text(model_id)
    return data[:2] + b"\xff\xfe" + struct.pack(">H", len(text) + 2) + text + data[2:]


def _parse(text: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) and value.get("source") == "prediction" else None


def _png_marker(head: bytes) -> dict[str, Any] | None:
    pos = 8
    while pos + 8 <= len(head):
        length = struct.unpack(">I", head[pos : pos + 4])[0]
        kind = head[pos + 4 : pos + 8]
        if kind in (b"IDAT", b"IEND"):
            return None
        body = head[pos + 8 : pos + 8 + length]
        if kind == b"tEXt" and body.startswith(PREDICTION_KEY.encode("ascii") + b"\0"):
            return _parse(body[len(PREDICTION_KEY) + 1 :])
        pos += 12 + length
    return None


def _jpeg_marker(head: bytes) -> dict[str, Any] | None:
    pos = 2
    while pos + 4 <= len(head) and head[pos] == 0xFF:
        kind = head[pos + 1]
        length = struct.unpack(">H", head[pos + 2 : pos + 4])[0]
        if kind == 0xDA:  # start of scan: no header segments after it
            return None
        body = head[pos + 4 : pos + 2 + length]
        if kind == 0xFE and body.startswith(PREDICTION_KEY.encode("ascii") + b"\0"):
            return _parse(body[len(PREDICTION_KEY) + 1 :])
        pos += 2 + length
    return None


def read_marker(path: Path) -> dict[str, Any] | None:
    """The marker of a PNG, JPEG or LabelMe JSON file, None when it has none (or is unreadable).

    Raises OSError only when the file cannot be opened for a reason other than not existing.
    """
    if path.suffix.lower() == ".json":
        try:
            document = load_document(path)
        except AnnotationError:
            return None
        value = document.extra.get(PREDICTION_KEY)
        if isinstance(value, Mapping) and value.get("source") == "prediction":
            return dict(value)
        return None
    with open(path, "rb") as fh:
        head = fh.read(_HEAD_BYTES)
    if head.startswith(_PNG_SIGNATURE):
        return _png_marker(head)
    if head.startswith(b"\xff\xd8"):
        return _jpeg_marker(head)
    return None
