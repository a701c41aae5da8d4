"""AnnotationSession: the QObject holding the open image, its undo stack, selection and view state.

The edit operations live in :mod:`inspector_app.editing.edits` (a mixin), the file rules in
:mod:`inspector_app.editing.files`; the package docstring lists the whole API.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoGroup, QUndoStack

from inspector_app.commands import EditImageFlagsCommand, EditShapesCommand, EditState
from inspector_app.core.annotations import Document, Shape
from inspector_app.core.classes import ClassTable
from inspector_app.editing.edits import ShapeEdits
from inspector_app.editing.files import (
    ImageState,
    SaveError,
    SaveResult,
    SaveTicket,
    document_read,
    file_mtime,
    finish_save,
    read_document,
    save_ticket,
    write_document,
)

__all__ = ["AnnotationSession"]


class _Target:
    """Binds a command to the image it was made on (undo of another image never leaks here).

    Weak references: the undo stack keeps its commands alive, so strong ones would close a cycle
    session -> image state -> stack -> command -> session. Such a cycle is freed only by Python's
    cycle collector, which clears the Python objects in arbitrary order while Qt still deletes
    the C++ stacks and emits from them: that crashed test runs. Without the cycle a session is
    freed by reference counting, children first.
    """

    def __init__(self, session: AnnotationSession, im: ImageState) -> None:
        self._session = weakref.ref(session)
        self._im = weakref.ref(im)

    def _apply_state(self, state: EditState, selection: frozenset[int]) -> None:
        session, im = self._session(), self._im()
        if session is not None and im is not None:
            session._apply_state(im, state, selection)

    def _apply_image_flags(self, flags: Mapping[str, bool]) -> None:
        session, im = self._session(), self._im()
        if session is not None and im is not None:
            session._apply_image_flags(im, flags)


class AnnotationSession(QObject, ShapeEdits):
    """Annotation editing model of the station (one open image at a time)."""

    document_about_to_change = Signal()
    document_changed = Signal()
    shapes_changed = Signal()
    selection_changed = Signal()
    view_state_changed = Signal()
    dirty_changed = Signal(bool)
    class_table_changed = Signal()
    labels_added = Signal(list)
    #: A save succeeded with something the user should read (e.g. a corrected image size).
    save_noticed = Signal(str)
    image_flags_changed = Signal()

    def __init__(self, class_table: ClassTable | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._table = class_table or ClassTable.from_labels([])
        self.undo_group = QUndoGroup(self)
        self._images: dict[Path, ImageState] = {}
        self._cur: ImageState | None = None
        self._selection: frozenset[int] = frozenset()
        self._clipboard: tuple[Shape, ...] = ()
        self._next_id = 1
        self._dirty = False

    # ---------------------------------------------------------------------------- properties
    @property
    def class_table(self) -> ClassTable:
        """The class table (grows when unknown labels are met or typed)."""
        return self._table

    @property
    def document(self) -> Document | None:
        """The open image's document as it is now (None before :meth:`open`)."""
        return self._cur.document if self._cur else None

    @property
    def shape_ids(self) -> tuple[int, ...]:
        """Ids parallel to ``document.shapes``."""
        return self._cur.state.ids if self._cur else ()

    @property
    def state(self) -> EditState:
        """Shapes and ids of the open image."""
        return self._cur.state if self._cur else EditState()

    @property
    def image_flags(self) -> dict[str, bool]:
        """The open image's own flags (LabelMe's top-level ``flags``); {} before :meth:`open`."""
        return dict(self._cur.document.flags) if self._cur else {}

    def set_image_flags(self, flags: Mapping[str, bool]) -> None:
        """Replace the open image's flags as ONE undoable edit (nothing when unchanged)."""
        im = self._cur
        if im is None or dict(flags) == dict(im.document.flags):
            return
        im.stack.push(EditImageFlagsCommand(_Target(self, im), im.document.flags, flags))

    def _apply_image_flags(self, im: ImageState, flags: Mapping[str, bool]) -> None:
        im.document = replace(im.document, flags=dict(flags))
        if im is self._cur:
            self.image_flags_changed.emit()

    @property
    def image_path(self) -> Path | None:
        """Image of the open document."""
        return self._cur.image_path if self._cur else None

    @property
    def json_path(self) -> Path | None:
        """Where the open document is saved."""
        return self._cur.json_path if self._cur else None

    @property
    def image_size(self) -> tuple[int, int]:
        """(height, width) of the open image; (0, 0) before :meth:`open`."""
        return self._cur.size if self._cur else (0, 0)

    @property
    def unreadable(self) -> str | None:
        """Why the open image's JSON could not be read (then it is never saved over), else None."""
        return self._cur.unreadable if self._cur else None

    @property
    def undo_stack(self) -> QUndoStack | None:
        """The open image's undo stack."""
        return self._cur.stack if self._cur else None

    @property
    def is_dirty(self) -> bool:
        """True when the open image has edits not saved yet."""
        return bool(self._cur and not self._cur.stack.isClean())

    @property
    def selection(self) -> frozenset[int]:
        """Ids of the selected shapes."""
        return self._selection

    def shape(self, shape_id: int) -> Shape:
        """The shape with this id (KeyError if absent)."""
        return self.state.shape(shape_id)

    def dirty_images(self) -> list[Path]:
        """Image paths (visited in this session) with unsaved edits."""
        return [im.image_path for im in self._images.values() if not im.stack.isClean()]

    # ---------------------------------------------------------------------------- class table
    def set_class_table(self, table: ClassTable) -> None:
        """Use ``table``; labels of the open document missing from it are appended."""
        labels = [s.label for s in self.state.shapes]
        self._table, added = table.with_labels(labels)
        self.class_table_changed.emit()
        if added:
            self.labels_added.emit(list(added))

    def ensure_label(self, label: str) -> int:
        """Class index of ``label``, appending it to the class table when new."""
        if label not in self._table:
            self._table, _ = self._table.with_labels([label])
            self.class_table_changed.emit()
        return self._table.index_of(label)

    # ---------------------------------------------------------------------------- files
    def open(
        self,
        image_path: str | os.PathLike[str],
        json_path: str | os.PathLike[str],
        image_shape: Sequence[int],
        *,
        preread: tuple[Document | None, str | None, int | None] | None = None,
    ) -> None:
        """Make ``image_path`` the open image; its annotations come from ``json_path``.

        ``image_shape`` is the image array's shape (height, width[, channels]). An image visited
        before keeps its undo history; its file is re-read if it was clean and changed on disk.
        ``preread`` is (document or None, unreadable reason or None, file mtime) as read off the
        GUI thread (the image loader); it is used when the file has not changed since, so a large
        JSON is never parsed here.
        """
        self.document_about_to_change.emit()
        ipath, jpath = Path(image_path), Path(json_path)
        size = (int(image_shape[0]), int(image_shape[1]))
        im = self._images.get(ipath)
        if (
            im is not None
            and im.json_path == jpath
            and (not im.stack.isClean() or (im.mtime == file_mtime(jpath) and im.unreadable is None))
        ):
            im.size = size
        else:
            im = self._load(ipath, jpath, size, im.stack if im else None, preread)
            self._images[ipath] = im
        self._cur = im
        self._selection = frozenset()
        self.undo_group.setActiveStack(im.stack)
        self.document_changed.emit()
        self.shapes_changed.emit()
        self.selection_changed.emit()
        self.view_state_changed.emit()
        self.image_flags_changed.emit()
        self._emit_dirty()
        labels_before = set(self._table.labels)
        self._table, added = self._table.with_labels(s.label for s in im.state.shapes)
        if added:
            self.class_table_changed.emit()
            self.labels_added.emit([a for a in added if a not in labels_before])

    def close(self) -> None:
        """Show no image: nothing left on the canvas to edit or to save by mistake.

        The images visited keep their documents and undo stacks (and unsaved edits, which
        :meth:`dirty_images` still reaches); :meth:`open` brings one back.
        """
        if self._cur is None:
            return
        self.document_about_to_change.emit()
        self._cur = None
        self._selection = frozenset()
        self.undo_group.setActiveStack(None)  # type: ignore[arg-type]  # Qt accepts nullptr
        self.document_changed.emit()
        self.shapes_changed.emit()
        self.selection_changed.emit()
        self.view_state_changed.emit()
        self._emit_dirty()

    def _load(
        self,
        ipath: Path,
        jpath: Path,
        size: tuple[int, int],
        stack: QUndoStack | None,
        preread: tuple[Document | None, str | None, int | None] | None = None,
    ) -> ImageState:
        mtime = file_mtime(jpath)
        if preread is not None and preread[2] == mtime:
            document, unreadable = document_read(ipath, jpath, size, preread[0], preread[1])
        else:  # not read ahead, or changed on disk since: read it now
            document, unreadable = read_document(ipath, jpath, size)
        if stack is None:
            stack = QUndoStack(self)  # undo limit 0 = unlimited
            # Each stack's own signal, not the group's: the group also emits while a collected
            # session's stacks are deleted (after Python's GC cleared its state), which crashed.
            stack.cleanChanged.connect(self._on_stack_clean_changed)
            self.undo_group.addStack(stack)
        else:
            stack.clear()
        ids = tuple(self._new_ids(len(document.shapes)))
        state = EditState(document.shapes, ids)
        return ImageState(ipath, jpath, size, document, state, stack, unreadable, mtime)

    def save(self, *, overwrite_changed: bool = False) -> tuple[str, ...]:
        """Write the open document atomically to its JSON; raise :class:`SaveError` on failure.

        Refused when the file was unreadable at open time and still exists, and when the file
        changed on disk since it was read (someone else saved it) unless ``overwrite_changed``.
        """
        im = self._cur
        if im is None:
            raise SaveError(None, "no image is open")
        return self._save(im, overwrite_changed)

    def begin_save(
        self, image_path: str | os.PathLike[str] | None = None, *, overwrite_changed: bool = False
    ) -> SaveTicket:
        """Snapshot a visited image (default: the open one) for a save written elsewhere.

        Hand the ticket to :func:`~inspector_app.editing.files.write_ticket` on a worker thread
        and its result to :meth:`finish_save`; the session stays the owner of the state.
        """
        im = self._cur if image_path is None else self._images.get(Path(image_path))
        if im is None:
            what = "no image is open" if image_path is None else f"{image_path} was not opened"
            raise SaveError(None, what)
        return save_ticket(im, overwrite_changed)

    def finish_save(self, ticket: SaveTicket, result: SaveResult) -> bool:
        """Book a save written by a worker; True when the image is now clean (no edits since).

        Emits ``save_noticed`` for each notice of the save.
        """
        im = self._images.get(ticket.image_path)
        clean = False
        if im is not None and im.json_path == ticket.json_path:
            clean = finish_save(im, ticket, result)
        self._emit_dirty()
        for text in result.notices:
            self.save_noticed.emit(text)
        return clean

    def _save(self, im: ImageState, overwrite_changed: bool) -> tuple[str, ...]:
        """Write ``im``; returns (and emits ``save_noticed`` for) what the user should be told."""
        notices = write_document(im, overwrite_changed)
        self._emit_dirty()
        for text in notices:
            self.save_noticed.emit(text)
        return notices

    # ---------------------------------------------------------------------------- state plumbing
    def _new_ids(self, n: int) -> list[int]:
        ids = list(range(self._next_id, self._next_id + n))
        self._next_id += n
        return ids

    def _apply_state(self, im: ImageState, state: EditState, selection: frozenset[int]) -> None:
        """Called by commands (redo/undo) of image ``im``; signals only when it is the open one."""
        im.state = state
        im.document = replace(im.document, shapes=state.shapes)
        if im is not self._cur:
            return
        self.shapes_changed.emit()
        valid = frozenset(selection) & frozenset(state.ids)
        if valid != self._selection:
            self._selection = valid
            self.selection_changed.emit()

    def _push(self, text: str, after: EditState, selection: Iterable[int] | None = None) -> None:
        im = self._cur
        if im is None or after == im.state:
            return
        sel_after = self._selection if selection is None else frozenset(selection)
        im.stack.push(EditShapesCommand(_Target(self, im), text, im.state, after, self._selection, sel_after))

    def _skip_ids(self) -> set[int]:
        """Shapes edits by area (brush, eraser) must not touch: hidden or locked."""
        return (self._cur.hidden | self._cur.locked) if self._cur else set()

    def _on_stack_clean_changed(self, _clean: bool) -> None:
        self._emit_dirty()  # reports the open image's state, whichever stack changed

    def _emit_dirty(self) -> None:
        dirty = self.is_dirty
        if dirty != self._dirty:
            self._dirty = dirty
            self.dirty_changed.emit(dirty)

    # ---------------------------------------------------------------------------- selection / view
    def set_selection(self, ids: Iterable[int]) -> None:
        """Select these shapes (unknown and hidden ids are ignored)."""
        allowed = set(self.shape_ids) - (self._cur.hidden if self._cur else set())
        sel = frozenset(i for i in ids if i in allowed)
        if sel != self._selection:
            self._selection = sel
            self.selection_changed.emit()

    def set_hidden(self, ids: Iterable[int], hidden: bool) -> None:
        """Hide or show shapes (view state: not saved, not undoable)."""
        if self._cur is None:
            return
        ids = set(ids)
        self._cur.hidden = self._cur.hidden | ids if hidden else self._cur.hidden - ids
        self.view_state_changed.emit()
        if hidden:
            self.set_selection(self._selection - ids)

    def set_locked(self, ids: Iterable[int], locked: bool) -> None:
        """Lock shapes against editing in the canvas (view state: not saved, not undoable)."""
        if self._cur is None:
            return
        ids = set(ids)
        self._cur.locked = self._cur.locked | ids if locked else self._cur.locked - ids
        self.view_state_changed.emit()

    def is_hidden(self, shape_id: int) -> bool:
        """True when the shape is hidden."""
        return bool(self._cur and shape_id in self._cur.hidden)

    def is_locked(self, shape_id: int) -> bool:
        """True when the shape is locked."""
        return bool(self._cur and shape_id in self._cur.locked)
