"""The annotation session: the open image's LabelMe document, its undo history, selection, clipboard.

Views receive an :class:`AnnotationSession` and subscribe to its signals; every change to shapes is
one :class:`~inspector_app.commands.EditShapesCommand` on the image's own ``QUndoStack`` (unlimited;
all stacks live in :attr:`AnnotationSession.undo_group`, whose active stack is the open image's, so
the station builds its Undo/Redo actions once with ``undo_group.createUndoAction``).

Shapes are addressed by **shape id** (``int``), stable across edits and undo, parallel to
``document.shapes`` in :attr:`AnnotationSession.shape_ids`.

Signals: ``document_about_to_change()`` (before another image is opened: flush pending edits),
``document_changed()`` (another image opened), ``shapes_changed()`` (any edit, undo or redo),
``selection_changed()``, ``view_state_changed()`` (hidden/locked), ``dirty_changed(bool)``,
``class_table_changed()``, ``labels_added(list[str])`` (unknown labels met in a loaded file were
appended to the class table; show a notice).

Files: :meth:`open` reads the JSON beside the image (missing = empty document). A JSON that does
not load is marked :attr:`unreadable` (the error text) and is never saved over. :meth:`save` is
atomic; on failure it raises :class:`SaveError` naming the file and the reason and keeps every
edit in memory (the image stays dirty). The undo history of every image visited stays in memory;
reopening an image with unsaved edits restores them.

Brush, eraser and predictions: see :mod:`inspector_app.brushops` for the raster rules.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoGroup, QUndoStack

from inspector_app import brushops
from inspector_app.commands import (
    EditShapesCommand,
    EditState,
    insert_vertex,
    is_prediction,
    move_vertex,
    remove_vertices,
    touched,
    translate,
    with_points,
)
from inspector_app.core.annotations import (
    AnnotationError,
    Document,
    Point,
    Shape,
    document_for_image,
    load_document,
    save_document,
)
from inspector_app.core.classes import ClassTable
from inspector_app.qtconvert import protect_true_refcount

__all__ = ["AnnotationSession", "SaveError"]

protect_true_refcount()  # PySide6 6.12 emit() bug: see inspector_app.qtconvert


class SaveError(Exception):
    """Saving failed; ``path`` and ``reason`` say where and why. Edits are still in memory."""

    def __init__(self, path: Path | None, reason: str) -> None:
        where = str(path) if path is not None else "(no file)"
        super().__init__(f"Could not save {where}: {reason}. Your edits are kept in memory.")
        self.path = path
        self.reason = reason


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


@dataclass(eq=False)
class _Image:
    """Everything kept per visited image (internal, mutable)."""

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


class _Target:
    """Binds a command to the image it was made on (undo of another image never leaks here)."""

    def __init__(self, session: AnnotationSession, im: _Image) -> None:
        self._session = session
        self._im = im

    def _apply_state(self, state: EditState, selection: frozenset[int]) -> None:
        self._session._apply_state(self._im, state, selection)


class AnnotationSession(QObject):
    """Annotation editing model of the station (one open image at a time)."""

    document_about_to_change = Signal()
    document_changed = Signal()
    shapes_changed = Signal()
    selection_changed = Signal()
    view_state_changed = Signal()
    dirty_changed = Signal(bool)
    class_table_changed = Signal()
    labels_added = Signal(list)

    def __init__(self, class_table: ClassTable | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._table = class_table or ClassTable.from_labels([])
        self.undo_group = QUndoGroup(self)
        self._images: dict[Path, _Image] = {}
        self._cur: _Image | None = None
        self._selection: frozenset[int] = frozenset()
        self._clipboard: tuple[Shape, ...] = ()
        self._next_id = 1
        self._dirty = False
        self.undo_group.cleanChanged.connect(self._on_undo_group_clean_changed)

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
    ) -> None:
        """Make ``image_path`` the open image; its annotations come from ``json_path``.

        ``image_shape`` is the image array's shape (height, width[, channels]). An image visited
        before keeps its undo history; its file is re-read if it was clean and changed on disk.
        """
        self.document_about_to_change.emit()
        ipath, jpath = Path(image_path), Path(json_path)
        size = (int(image_shape[0]), int(image_shape[1]))
        im = self._images.get(ipath)
        if (
            im is not None
            and im.json_path == jpath
            and (not im.stack.isClean() or (im.mtime == _mtime(jpath) and im.unreadable is None))
        ):
            im.size = size
        else:
            im = self._load(ipath, jpath, size, im.stack if im else None)
            self._images[ipath] = im
        self._cur = im
        self._selection = frozenset()
        self.undo_group.setActiveStack(im.stack)
        self.document_changed.emit()
        self.shapes_changed.emit()
        self.selection_changed.emit()
        self.view_state_changed.emit()
        self._emit_dirty()
        labels_before = set(self._table.labels)
        self._table, added = self._table.with_labels(s.label for s in im.state.shapes)
        if added:
            self.class_table_changed.emit()
            self.labels_added.emit([a for a in added if a not in labels_before])

    def _load(self, ipath: Path, jpath: Path, size: tuple[int, int], stack: QUndoStack | None) -> _Image:
        unreadable: str | None = None
        document: Document | None = None
        if jpath.exists():
            try:
                document = load_document(jpath)
            except (AnnotationError, OSError, UnicodeError) as exc:
                unreadable = str(exc)
        if document is None:
            document = document_for_image(ipath, jpath, (), size[0], size[1])
        if stack is None:
            stack = QUndoStack(self)  # undo limit 0 = unlimited
            self.undo_group.addStack(stack)
        else:
            stack.clear()
        ids = tuple(self._new_ids(len(document.shapes)))
        return _Image(
            ipath, jpath, size, document, EditState(document.shapes, ids), stack, unreadable, _mtime(jpath)
        )

    def save(self, *, overwrite_changed: bool = False) -> None:
        """Write the open document atomically to its JSON; raise :class:`SaveError` on failure.

        Refused when the file was unreadable at open time and still exists, and when the file
        changed on disk since it was read (someone else saved it) unless ``overwrite_changed``.
        """
        im = self._cur
        if im is None:
            raise SaveError(None, "no image is open")
        self._save(im, overwrite_changed)

    def save_image(self, image_path: str | os.PathLike[str], *, overwrite_changed: bool = False) -> None:
        """Save a visited image's edits (e.g. the ones listed by :meth:`dirty_images`)."""
        im = self._images.get(Path(image_path))
        if im is None:
            raise SaveError(None, f"{image_path} was not opened in this session")
        self._save(im, overwrite_changed)

    def _save(self, im: _Image, overwrite_changed: bool) -> None:
        path = im.json_path
        exists = path.exists()
        if im.unreadable is not None and exists:
            raise SaveError(
                path,
                f"the existing file could not be read ({im.unreadable}); it is not "
                "overwritten — repair or move it away, then save again",
            )
        if exists and not overwrite_changed and im.mtime is not None and _mtime(path) != im.mtime:
            raise SaveError(path, "the file changed on disk since it was opened")
        try:
            save_document(im.document, path)
        except (AnnotationError, OSError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise SaveError(path, reason) from exc
        im.unreadable = None
        im.mtime = _mtime(path)
        im.stack.setClean()
        self._emit_dirty()

    # ---------------------------------------------------------------------------- state plumbing
    def _new_ids(self, n: int) -> list[int]:
        ids = list(range(self._next_id, self._next_id + n))
        self._next_id += n
        return ids

    def _apply_state(self, im: _Image, state: EditState, selection: frozenset[int]) -> None:
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

    def _replace(self, text: str, changes: dict[int, Shape]) -> None:
        self._push(text, self.state.replaced(changes))

    def _on_undo_group_clean_changed(self, _clean: bool) -> None:
        self._emit_dirty()

    def _emit_dirty(self) -> None:
        dirty = self.is_dirty
        if dirty != self._dirty:
            self._dirty = dirty
            self.dirty_changed.emit(dirty)

    # ---------------------------------------------------------------------------- selection / view
    def set_selection(self, ids: Iterable[int]) -> None:
        """Select these shapes (unknown and hidden ids are ignored)."""
        hidden = self._cur.hidden if self._cur else set()
        sel = frozenset(i for i in ids if i in set(self.shape_ids) and i not in hidden)
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

    # ---------------------------------------------------------------------------- edits
    def add_shapes(self, shapes: Sequence[Shape], text: str = "Add shape") -> list[int]:
        """Append shapes (labels joined to the class table); they become the selection."""
        if self._cur is None or not shapes:
            return []
        for s in shapes:
            self.ensure_label(s.label)
        ids = self._new_ids(len(shapes))
        st = self.state
        self._push(text, EditState(st.shapes + tuple(shapes), st.ids + tuple(ids)), ids)
        return ids

    def add_shape(self, shape: Shape) -> int:
        """Append one shape; returns its id (0 when no image is open)."""
        ids = self.add_shapes([shape])
        return ids[0] if ids else 0

    def remove_shapes(self, ids: Iterable[int]) -> None:
        """Delete shapes."""
        ids = set(ids) & set(self.shape_ids)
        if ids:
            self._push(
                "Delete shape" if len(ids) == 1 else f"Delete {len(ids)} shapes",
                self.state.without(ids),
                self._selection - ids,
            )

    def update_shape(self, shape_id: int, shape: Shape, text: str = "Edit shape") -> None:
        """Replace one shape as a person's edit (the prediction mark is dropped)."""
        self.ensure_label(shape.label)
        self._replace(text, {shape_id: touched(shape)})

    def set_points(self, shape_id: int, points: Sequence[Point], text: str = "Edit shape") -> None:
        """Replace a shape's points (e.g. a rectangle corner or circle drag)."""
        self._replace(text, {shape_id: with_points(self.shape(shape_id), points)})

    def move_shapes(self, ids: Iterable[int], dx: float, dy: float) -> None:
        """Translate shapes by (dx, dy)."""
        if dx == 0 and dy == 0:
            return
        self._replace("Move shape", {i: translate(self.shape(i), dx, dy) for i in ids})

    def move_vertex(self, shape_id: int, index: int, point: Point) -> None:
        """Move one vertex (stored point ``index``) to ``point``."""
        self._replace("Move vertex", {shape_id: move_vertex(self.shape(shape_id), index, point)})

    def insert_vertex(self, shape_id: int, index: int, point: Point) -> None:
        """Insert a vertex that becomes point ``index`` (on the edge from ``index - 1``)."""
        self._replace("Insert vertex", {shape_id: insert_vertex(self.shape(shape_id), index, point)})

    def remove_vertices(self, vertices: dict[int, Iterable[int]]) -> None:
        """Delete vertices ``{shape_id: indices}``; a shape left with too few points is deleted."""
        changes: dict[int, Shape] = {}
        gone: set[int] = set()
        for sid, idx in vertices.items():
            new = remove_vertices(self.shape(sid), idx)
            if new is None:
                gone.add(sid)
            else:
                changes[sid] = new
        self._push("Delete vertex", self.state.replaced(changes).without(gone), self._selection - gone)

    def set_label(self, ids: Iterable[int], label: str) -> None:
        """Relabel shapes (a new label is appended to the class table)."""
        self.ensure_label(label)
        changes = {i: touched(replace(self.shape(i), label=label)) for i in ids}
        self._replace("Change label", changes)

    def confirm_shapes(self, ids: Iterable[int] | None = None) -> None:
        """Drop the prediction mark of these shapes (all marked ones when None)."""
        st = self.state
        targets = st.ids if ids is None else ids
        changes = {i: touched(st.shape(i)) for i in targets if is_prediction(st.shape(i))}
        self._replace("Confirm prediction", changes)

    def duplicate(self, ids: Iterable[int], offset: tuple[float, float] = (10.0, 10.0)) -> list[int]:
        """Copies of shapes shifted by ``offset``; the copies become the selection."""
        order = [i for i in self.shape_ids if i in set(ids)]
        copies = [translate(self.shape(i), *offset) for i in order]
        return self.add_shapes(copies, "Duplicate shape")

    def copy(self, ids: Iterable[int]) -> int:
        """Put shapes on the session clipboard (kept across images); returns how many."""
        wanted = set(ids)
        self._clipboard = tuple(
            s for i, s in zip(self.shape_ids, self.state.shapes, strict=True) if i in wanted
        )
        return len(self._clipboard)

    @property
    def clipboard(self) -> tuple[Shape, ...]:
        """Shapes copied last."""
        return self._clipboard

    def paste(self) -> list[int]:
        """Add the clipboard's shapes at the same image coordinates (a person's edit)."""
        return self.add_shapes([touched(s) for s in self._clipboard], "Paste")

    # ---------------------------------------------------------------------------- raster edits
    def commit_brush(
        self, mask_layer: np.ndarray, class_index: int, erase: bool = False, tolerance: float = 0.7
    ) -> bool:
        """Turn painted pixels into polygon edits as one undoable step; False when nothing changed.

        Paint (``erase=False``): the painted pixels and every visible, unlocked closed shape of
        class ``class_index`` they touch are merged into polygons of that class. Erase: painted
        pixels are cut out of the visible, unlocked closed shapes of class ``class_index`` (of
        every class when 0); a shape cut into pieces becomes several polygons.
        """
        if self._cur is None:
            return False
        painted = np.asarray(mask_layer) != 0
        skip = self._cur.hidden | self._cur.locked
        st = self.state
        if erase:
            label = None if class_index == 0 else self._table.by_index(class_index).label
            after = brushops.erase(st, painted, label, skip, tolerance, self._new_ids, self._table)
        else:
            label = self._table.by_index(class_index).label
            after = brushops.paint(st, painted, label, skip, tolerance, self._new_ids, self._table)
        if after is None:
            return False
        new_ids = set(after.ids) - set(st.ids)
        self._push("Erase" if erase else "Brush", after, new_ids if not erase else None)
        return True

    def accept_prediction(
        self,
        mask: np.ndarray,
        classes: Iterable[int] | None = None,
        tolerance: float = 1.0,
        class_table: ClassTable | None = None,
        replace_unconfirmed: bool = True,
    ) -> list[int]:
        """Turn a predicted class mask into polygons marked as predictions, as ONE undoable edit.

        ``class_table`` is the model's table (default: the session's); its labels are joined to
        the session's. ``classes`` limits which class indices are taken. With
        ``replace_unconfirmed`` the shapes still marked as predictions are replaced.
        """
        if self._cur is None:
            return []
        table = class_table or self._table
        shapes = brushops.prediction_shapes(mask, table, classes, tolerance)
        for label in {s.label for s in shapes}:
            self.ensure_label(label)
        st = self.state
        if replace_unconfirmed:
            st = st.without(i for i, s in zip(st.ids, st.shapes, strict=True) if is_prediction(s))
        ids = self._new_ids(len(shapes))
        after = EditState(st.shapes + tuple(shapes), st.ids + tuple(ids))
        self._push("Accept prediction", after, ids)
        return ids
