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
from inspector_app.core.jsonchunks import collector_paused

__all__ = [
    "ImageState",
    "SaveError",
    "SaveResult",
    "SaveTicket",
    "document_read",
    "file_mtime",
    "finish_save",
    "read_document",
    "save_ticket",
    "write_document",
    "write_ticket",
]


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


def document_read(
    image_path: Path, json_path: Path, size: tuple[int, int], document: Document | None, error: str | None
) -> tuple[Document, str | None]:
    """The session's (document, unreadable) from a read done elsewhere (None: no or broken file)."""
    if document is not None and error is None:
        return document, None
    return document_for_image(image_path, json_path, (), size[0], size[1]), error


def read_document(image_path: Path, json_path: Path, size: tuple[int, int]) -> tuple[Document, str | None]:
    """(document, unreadable reason or None); an empty document when the JSON is absent or broken."""
    if json_path.exists():
        try:
            return load_document(json_path), None
        except (AnnotationError, OSError, UnicodeError) as exc:
            return document_for_image(image_path, json_path, (), size[0], size[1]), str(exc)
    return document_for_image(image_path, json_path, (), size[0], size[1]), None


@dataclass(frozen=True)
class SaveTicket:
    """What one save writes, taken on the GUI thread (the worker only reads it)."""

    image_path: Path
    json_path: Path
    size: tuple[int, int]
    #: The session's document object at the moment of the save (identity tells later edits).
    source: Document
    #: The document to write (``imagePath`` pointing at the shown image).
    document: Document
    unreadable: str | None
    mtime: int | None
    overwrite_changed: bool


@dataclass(frozen=True)
class SaveResult:
    """What the worker wrote: the document as on disk, its new mtime, the user's notices."""

    document: Document
    mtime: int | None
    notices: tuple[str, ...]


def save_ticket(im: ImageState, overwrite_changed: bool) -> SaveTicket:
    """Snapshot ``im`` for a save (cheap: documents are immutable)."""
    # imagePath names the image the station showed with this file (paired by name, beside it),
    # not whatever the file said when read: that may be a path that no longer exists.
    document = for_shown_image(im.document, im.image_path, im.json_path, im.size if all(im.size) else None)
    return SaveTicket(
        im.image_path,
        im.json_path,
        im.size,
        im.document,
        document,
        im.unreadable,
        im.mtime,
        overwrite_changed,
    )


def write_ticket(ticket: SaveTicket) -> SaveResult:
    """Check and write one save (any thread) under the rules of the module docstring.

    Serialises the document and writes it atomically; raises :class:`SaveError`.
    """
    path = ticket.json_path
    exists = path.exists()
    if ticket.unreadable is not None and exists:
        raise SaveError(
            path,
            f"the existing file could not be read ({ticket.unreadable}); it is not overwritten — "
            "repair or move it away, then save again",
        )
    if exists and not ticket.overwrite_changed and file_mtime(path) != ticket.mtime:
        # Written by someone else since we read it (or created since we found none).
        raise SaveError(path, "the file changed on disk since it was opened")
    document = ticket.document
    try:
        with collector_paused():  # a large document: keep the GUI thread running meanwhile
            notices = save_document(document, path, image_size=ticket.size)
    except (AnnotationError, OSError) as exc:
        raise SaveError(path, getattr(exc, "strerror", None) or str(exc)) from exc
    if (document.image_height, document.image_width) != ticket.size:
        document = replace(document, image_height=ticket.size[0], image_width=ticket.size[1])
    return SaveResult(document, file_mtime(path), tuple(notices))


def finish_save(im: ImageState, ticket: SaveTicket, result: SaveResult) -> bool:
    """Book a finished save into ``im`` (GUI thread); True when ``im`` is now clean.

    Edits made while the save was in flight stay unsaved: the stack is marked clean only when the
    document is still the one that was written, else no state of the stack counts as saved.
    """
    im.unreadable = None
    im.mtime = result.mtime
    if im.document is ticket.source:
        im.document = result.document
        im.stack.setClean()
        return True
    im.stack.resetClean()
    return False


def write_document(im: ImageState, overwrite_changed: bool) -> tuple[str, ...]:
    """Save ``im.document`` atomically to ``im.json_path`` now, on the calling thread.

    The image's real size replaces a wrong ``imageHeight``/``imageWidth`` and an embedded
    ``imageData`` is kept; returns the notices for the user (the corrected size). On success the
    file's new mtime is recorded, the unreadable mark cleared and the stack made clean.
    """
    ticket = save_ticket(im, overwrite_changed)
    result = write_ticket(ticket)
    finish_save(im, ticket, result)
    return result.notices
