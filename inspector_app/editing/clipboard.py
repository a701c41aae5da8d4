"""Copy and paste shapes through the system clipboard as labelme-shaped JSON.

Copying puts the shapes on the session's own clipboard (kept across images) and on the system
clipboard twice: under :data:`MIME_TYPE` and as plain text ``{"shapes": [...]}``, each shape the
object labelme writes. Pasting reads our MIME type, else the text: a whole LabelMe file, a
``{"shapes": [...]}`` object, a list of shapes or one shape dict, validated with the LabelMe
reader's rules. Shapes copied in another station or from a LabelMe file in a text editor paste
at their own coordinates; text that is not shapes leaves the image unchanged (the session's own
clipboard is used when the system clipboard holds nothing of ours).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from PySide6.QtCore import QMimeData
from PySide6.QtGui import QClipboard, QGuiApplication

from inspector_app.commands import touched
from inspector_app.core.annotations import (
    AnnotationError,
    Document,
    Shape,
    document_from_dict,
    document_to_dict,
)
from inspector_app.editing.session import AnnotationSession

__all__ = ["MIME_TYPE", "copy_to_clipboard", "paste_from_clipboard", "shapes_from_text", "shapes_to_text"]

MIME_TYPE = "application/x-labelme-shapes+json"


def shapes_to_text(shapes: Iterable[Shape]) -> str:
    """``{"shapes": [...]}`` with each shape as labelme writes it (indented JSON)."""
    payload = document_to_dict(Document(image_path="", shapes=tuple(shapes)), "clipboard")
    return json.dumps({"shapes": payload["shapes"]}, ensure_ascii=False, indent=2)


def shapes_from_text(text: str) -> tuple[Shape, ...]:
    """Shapes in ``text`` (see the module docstring); AnnotationError naming the problem."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise AnnotationError(f"clipboard: not JSON ({exc})") from exc
    if isinstance(value, dict) and "shapes" in value:
        shapes = value["shapes"]
    elif isinstance(value, dict) and "points" in value:
        shapes = [value]
    else:
        shapes = value
    if not isinstance(shapes, list):
        raise AnnotationError("clipboard: expected LabelMe shapes")
    return document_from_dict({"shapes": shapes, "imagePath": ""}, "clipboard").shapes


def copy_to_clipboard(
    session: AnnotationSession, ids: Iterable[int], clipboard: QClipboard | None = None
) -> int:
    """Copy shapes to the session's and the system clipboard; returns how many."""
    n = session.copy(ids)
    if n:
        text = shapes_to_text(session.clipboard)
        data = QMimeData()
        data.setData(MIME_TYPE, text.encode("utf-8"))
        data.setText(text)
        (clipboard or QGuiApplication.clipboard()).setMimeData(data)
    return n


def paste_from_clipboard(session: AnnotationSession, clipboard: QClipboard | None = None) -> list[int]:
    """Paste the system clipboard's shapes (our MIME type, else LabelMe JSON text) as ONE
    undoable edit; the session's own clipboard when the system one holds no shapes. Returns the
    new ids ([] when there was nothing to paste)."""
    data = (clipboard or QGuiApplication.clipboard()).mimeData()
    text = ""
    if data is not None and data.hasFormat(MIME_TYPE):
        text = bytes(data.data(MIME_TYPE).data()).decode("utf-8", errors="replace")
    elif data is not None and data.hasText():
        text = data.text()
    if text.strip():
        try:
            shapes = shapes_from_text(text)
        except AnnotationError:
            shapes = ()
        if shapes:
            return session.add_shapes([touched(s) for s in shapes], "Paste")
    return session.paste()
