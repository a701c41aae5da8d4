"""Reading and writing one image's annotations with the session's safety rules.

* A missing JSON is an empty document for the image (nothing is written until a save).
* A JSON that does not load is remembered as unreadable (the error text) and never saved over
  while it exists (the core writer refuses too); once it is moved away, saving is allowed.
* A JSON that changed on disk since it was read (another annotator, labelme) is not overwritten
  unless the caller says so.
* Any failure raises :class:`SaveError` naming the file and the reason; edits stay in memory.
* A save writes the image's real size over a wrong ``imageHeight``/``imageWidth`` (with a notice)
  and keeps an embedded ``imageData`` (dropping it would lose the image of a file that travels
  without it).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from PySide6.QtGui import QUndoStack

from inspector_app.commands import EditState
from inspector_app.core.annotations import (
    AnnotationError,
    Document,
    document_for_image,
    for_shown_image,
    load_document,
    save_document,
)

__all__ = ["ImageState", "SaveError", "file_mtime", "read_document", "write_document"]


class SaveError(Exception):
    """Saving failed; ``path`` and ``reason`` say where and why. Edits are still in memory."""

    def __init__(self, path: Path | None, reason: str) -> None:
        where = str(path) if path is not None else "(no file)"
        super().__init__(f"Could not save {where}: {reason}. Your edits are kept in memory.")
        self.path = path
        self.reason = reason


def file_mtime(path: Path) -> int | None:
    """Modification time in ns, None when the file is absent or unreadable."""
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


@dataclass(eq=False)
class ImageState:
    """Everything the session keeps per visited image (mutable, internal)."""

    image_path: Path
    json_path: Path
    size: tuple[int, int]
    document: Document
    state: EditState
    stack: QUndoStack
    unreadable: str | None = None
    mtime: int | None = None
    hidden: set[int] = field(default_factory=set)
    locked: set[int] = field(default_factory=set)


def read_document(image_path: Path, json_path: Path, size: tuple[int, int]) -> tuple[Document, str | None]:
    """(document, unreadable reason or None); an empty document when the JSON is absent or broken."""
    if json_path.exists():
        try:
            return load_document(json_path), None
        except (AnnotationError, OSError, UnicodeError) as exc:
            return document_for_image(image_path, json_path, (), size[0], size[1]), str(exc)
    return document_for_image(image_path, json_path, (), size[0], size[1]), None


def write_document(im: ImageState, overwrite_changed: bool) -> tuple[str, ...]:
    """Save ``im.document`` atomically to ``im.json_path`` under the rules of the module docstring.

    The image's real size replaces a wrong ``imageHeight``/``imageWidth`` and an embedded
    ``imageData`` is kept; returns the notices for the user (the corrected size). On success the
    file's new mtime is recorded, the unreadable mark cleared and the stack made clean.
    """
    path = im.json_path
    exists = path.exists()
    if im.unreadable is not None and exists:
        raise SaveError(
            path,
            f"the existing file could not be read ({im.unreadable}); it is not overwritten — "
            "repair or move it away, then save again",
        )
    if exists and not overwrite_changed and file_mtime(path) != im.mtime:
        # Written by someone else since we read it (or created since we found none).
        raise SaveError(path, "the file changed on disk since it was opened")
    # imagePath names the image the station showed with this file (paired by name, beside it),
    # not whatever the file said when read: that may be a path that no longer exists.
    document = for_shown_image(im.document, im.image_path, path, im.size if all(im.size) else None)
    try:
        notices = save_document(document, path, image_size=im.size)
    except (AnnotationError, OSError) as exc:
        raise SaveError(path, getattr(exc, "strerror", None) or str(exc)) from exc
    if (document.image_height, document.image_width) != im.size:
        document = replace(document, image_height=im.size[0], image_width=im.size[1])
    im.document = document
    im.unreadable = None
    im.mtime = file_mtime(path)
    im.stack.setClean()
    return notices
