"""Edit operations of :class:`~inspector_app.editing.session.AnnotationSession` (a mixin).

Each public method computes the next :class:`~inspector_app.commands.EditState` with the pure shape
operations of :mod:`inspector_app.commands` (or the raster rules of
:mod:`inspector_app.editing.raster`) and pushes it as ONE undoable command. Edits by a person drop
the prediction mark of the shapes they change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from inspector_app.commands import (
    EditState,
    insert_vertex,
    is_prediction,
    move_vertex,
    remove_vertices,
    touched,
    translate,
    with_points,
)
from inspector_app.core.annotations import Point, Shape
from inspector_app.core.classes import ClassTable
from inspector_app.editing import raster

__all__ = ["UNCHANGED", "ShapeEdits"]

#: Default of :meth:`ShapeEdits.set_shape_fields` arguments: keep the shape's value.
UNCHANGED: object = object()


class ShapeEdits:
    """The session's edits; the session supplies state, ids, labels and the undo push."""

    _selection: frozenset[int]
    _clipboard: tuple[Shape, ...]

    if TYPE_CHECKING:

        @property
        def state(self) -> EditState: ...
        @property
        def shape_ids(self) -> tuple[int, ...]: ...
        @property
        def class_table(self) -> ClassTable: ...
        @property
        def image_path(self) -> object: ...
        def shape(self, shape_id: int) -> Shape: ...
        def ensure_label(self, label: str) -> int: ...
        def _new_ids(self, n: int) -> list[int]: ...
        def _skip_ids(self) -> set[int]: ...
        def _push(self, text: str, after: EditState, selection: Iterable[int] | None = None) -> None: ...

    def _replace(self, text: str, changes: dict[int, Shape]) -> None:
        self._push(text, self.state.replaced(changes))

    def add_shapes(self, shapes: Sequence[Shape], text: str = "Add shape") -> list[int]:
        """Append shapes (labels joined to the class table); they become the selection."""
        if self.image_path is None or not shapes:
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

    def set_shape_fields(
        self,
        ids: Iterable[int],
        *,
        group_id: int | object | None = UNCHANGED,
        description: str | object | None = UNCHANGED,
        flags: Mapping[str, bool] | None = None,
        set_flags: Mapping[str, bool] | None = None,
    ) -> None:
        """Edit the labelme fields of shapes as ONE undoable step (a person's edit).

        ``group_id`` / ``description``: new values (None clears) unless left :data:`UNCHANGED`;
        ``flags`` replaces every shape's flags; ``set_flags`` sets just the named flags on each
        shape and keeps its others (a check box ticked for several shapes at once).
        """
        changes: dict[int, Shape] = {}
        for i in ids:
            shape = self.shape(i)
            fields: dict[str, object] = {}
            if group_id is not UNCHANGED:
                fields["group_id"] = group_id
            if description is not UNCHANGED:
                fields["description"] = description
            if flags is not None:
                fields["flags"] = dict(flags)
            if set_flags is not None:
                fields["flags"] = {**dict(fields.get("flags", shape.flags)), **dict(set_flags)}  # type: ignore[call-overload]
            new = touched(replace(shape, **fields)) if fields else shape  # type: ignore[arg-type]
            if new != shape:
                changes[i] = new
        if changes:
            self._replace("Edit shape" if len(changes) == 1 else f"Edit {len(changes)} shapes", changes)

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
        if self.image_path is None:
            return False
        painted = np.asarray(mask_layer) != 0
        skip = self._skip_ids()
        st = self.state
        if erase:
            label = None if class_index == 0 else self.class_table.by_index(class_index).label
            after = raster.erase(st, painted, label, skip, tolerance, self._new_ids, self.class_table)
        else:
            label = self.class_table.by_index(class_index).label
            after = raster.paint(st, painted, label, skip, tolerance, self._new_ids, self.class_table)
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
        if self.image_path is None:
            return []
        table = class_table or self.class_table
        shapes = raster.prediction_shapes(mask, table, classes, tolerance)
        for label in {s.label for s in shapes}:
            self.ensure_label(label)
        st = self.state
        if replace_unconfirmed:
            st = st.without(i for i, s in zip(st.ids, st.shapes, strict=True) if is_prediction(s))
        ids = self._new_ids(len(shapes))
        after = EditState(st.shapes + tuple(shapes), st.ids + tuple(ids))
        self._push("Accept prediction", after, ids)
        return ids
