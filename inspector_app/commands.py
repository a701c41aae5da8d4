"""Undoable edits of an image's shapes, and the pure shape operations they are built from.

Every change to annotations is one :class:`EditShapesCommand` on the image's ``QUndoStack``. A
command holds two :class:`EditState` snapshots (before / after) and the selection to restore with
each. Snapshots are cheap: ``Shape`` objects are frozen and shared between snapshots, and a vertex
edit copies only the outer points tuple of the one shape it changes (the point tuples themselves
are shared), so unlimited undo costs a few pointers per shape per edit.

Shape ids: the session gives every shape of the open image a stable integer id (``EditState.ids``
runs parallel to ``EditState.shapes``) so that views and selections survive edits and undo.

Prediction mark: a shape produced by :meth:`AnnotationSession.accept_prediction` carries
``flags["prediction"] = True`` (written to the LabelMe file; labelme keeps shape flags). Any edit
made by a person (:func:`touched`) drops the key, as does confirming the shape.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from PySide6.QtGui import QUndoCommand

from inspector_app.core.annotations import Point, Shape

__all__ = [
    "CLOSED_TYPES",
    "PREDICTION_FLAG",
    "EditImageFlagsCommand",
    "EditShapesCommand",
    "EditState",
    "StateTarget",
    "insert_vertex",
    "is_prediction",
    "mark_prediction",
    "min_points",
    "move_vertex",
    "remove_vertices",
    "shape_bounds",
    "touched",
    "translate",
    "with_points",
]

#: Key of ``Shape.flags`` marking a shape that came from a model and was not yet checked.
PREDICTION_FLAG = "prediction"
#: Shape types that enclose an area (the brush and the eraser work on these).
CLOSED_TYPES = frozenset({"polygon", "rectangle", "circle", "mask", "oriented_rectangle"})
_MIN_POINTS = {"polygon": 3, "linestrip": 2, "points": 1}


@dataclass(frozen=True)
class EditState:
    """The shapes of one image and their ids (same length, same order = draw order)."""

    shapes: tuple[Shape, ...] = ()
    ids: tuple[int, ...] = ()

    def index_of(self, shape_id: int) -> int:
        """Position of ``shape_id``; KeyError when it is not in this state."""
        try:
            return self.ids.index(shape_id)
        except ValueError:
            raise KeyError(f"no shape with id {shape_id}") from None

    def shape(self, shape_id: int) -> Shape:
        """The shape with this id; KeyError when absent."""
        return self.shapes[self.index_of(shape_id)]

    def replaced(self, changes: dict[int, Shape]) -> EditState:
        """A state where the shapes with the given ids are replaced (ids and order kept)."""
        shapes = tuple(changes.get(i, s) for i, s in zip(self.ids, self.shapes, strict=True))
        return EditState(shapes, self.ids)

    def without(self, ids: Iterable[int]) -> EditState:
        """A state without the shapes whose ids are given."""
        gone = set(ids)
        keep = [(i, s) for i, s in zip(self.ids, self.shapes, strict=True) if i not in gone]
        return EditState(tuple(s for _, s in keep), tuple(i for i, _ in keep))


class StateTarget(Protocol):
    """What a command applies its snapshots to (the session)."""

    def _apply_state(self, state: EditState, selection: frozenset[int]) -> None: ...


class EditShapesCommand(QUndoCommand):
    """One undoable edit: switch the target between two snapshots (``redo`` is run by ``push``)."""

    def __init__(
        self,
        target: StateTarget,
        text: str,
        before: EditState,
        after: EditState,
        selection_before: frozenset[int],
        selection_after: frozenset[int],
    ) -> None:
        super().__init__(text)
        self._target = target
        self.before = before
        self.after = after
        self._selection_before = selection_before
        self._selection_after = selection_after

    def redo(self) -> None:
        """Apply the edit."""
        self._target._apply_state(self.after, self._selection_after)

    def undo(self) -> None:
        """Restore the state before the edit."""
        self._target._apply_state(self.before, self._selection_before)


class ImageFlagsTarget(Protocol):
    """What an image-flags command applies its values to (the session)."""

    def _apply_image_flags(self, flags: Mapping[str, bool]) -> None: ...


class EditImageFlagsCommand(QUndoCommand):
    """One undoable change of an image's own flags (LabelMe's top-level ``flags``)."""

    def __init__(
        self, target: ImageFlagsTarget, before: Mapping[str, bool], after: Mapping[str, bool]
    ) -> None:
        super().__init__("Change image flags")
        self._target = target
        self.before = dict(before)
        self.after = dict(after)

    def redo(self) -> None:
        """Apply the new flags."""
        self._target._apply_image_flags(self.after)

    def undo(self) -> None:
        """Restore the flags before the edit."""
        self._target._apply_image_flags(self.before)


# ------------------------------------------------------------------------ pure shape operations


def is_prediction(shape: Shape) -> bool:
    """True for a model-made shape nobody has confirmed or edited yet."""
    return bool(shape.flags.get(PREDICTION_FLAG, False))


def mark_prediction(shape: Shape) -> Shape:
    """``shape`` with the prediction mark set."""
    return replace(shape, flags={**shape.flags, PREDICTION_FLAG: True})


def touched(shape: Shape) -> Shape:
    """``shape`` as edited by a person: the prediction mark is dropped (same object if unmarked)."""
    if PREDICTION_FLAG not in shape.flags:
        return shape
    return replace(shape, flags={k: v for k, v in shape.flags.items() if k != PREDICTION_FLAG})


def min_points(shape_type: str) -> int:
    """Fewest points a shape of this type may have after deleting vertices."""
    return _MIN_POINTS.get(shape_type, 0)


def with_points(shape: Shape, points: Sequence[Point]) -> Shape:
    """``shape`` with new points (as plain float tuples), prediction mark dropped."""
    pts = tuple((float(x), float(y)) for x, y in points)
    return touched(replace(shape, points=pts))


def translate(shape: Shape, dx: float, dy: float) -> Shape:
    """``shape`` moved by (dx, dy); mask bitmaps move with their bounding box."""
    return with_points(shape, [(x + dx, y + dy) for x, y in shape.points])


def move_vertex(shape: Shape, index: int, point: Point) -> Shape:
    """``shape`` with vertex ``index`` at ``point``; other point tuples are shared, not copied."""
    pts = shape.points
    if not 0 <= index < len(pts):
        raise IndexError(f"vertex {index} out of range 0..{len(pts) - 1}")
    new = (float(point[0]), float(point[1]))
    return touched(replace(shape, points=(*pts[:index], new, *pts[index + 1 :])))


def insert_vertex(shape: Shape, index: int, point: Point) -> Shape:
    """``shape`` with a new vertex inserted so that it becomes vertex ``index``."""
    pts = shape.points
    if not 0 <= index <= len(pts):
        raise IndexError(f"insert position {index} out of range 0..{len(pts)}")
    new = (float(point[0]), float(point[1]))
    return touched(replace(shape, points=(*pts[:index], new, *pts[index:])))


def remove_vertices(shape: Shape, indices: Iterable[int]) -> Shape | None:
    """``shape`` without the given vertices, or None when too few would remain for its type.

    Only polygons, linestrips and ``points`` shapes have removable vertices; for other types
    (rectangle, circle, line, ...) removing a vertex removes the shape (None).
    """
    drop = set(indices)
    if not drop:
        return shape
    if shape.shape_type not in _MIN_POINTS:
        return None
    keep = tuple(p for i, p in enumerate(shape.points) if i not in drop)
    if len(keep) < _MIN_POINTS[shape.shape_type]:
        return None
    return touched(replace(shape, points=keep))


def shape_bounds(shape: Shape) -> tuple[float, float, float, float]:
    """Axis-aligned bounds ``(x0, y0, x1, y1)`` of what the shape covers (circles by radius)."""
    pts = shape.points
    if shape.shape_type == "circle" and len(pts) >= 2:
        (cx, cy), (px, py) = pts[0], pts[1]
        r = math.hypot(px - cx, py - cy)
        return (cx - r, cy - r, cx + r, cy + r)
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    if not xs:
        return (0.0, 0.0, 0.0, 0.0)
    if shape.shape_type == "mask":
        # labelme's mask bbox points are inclusive pixel indices.
        return (min(xs), min(ys), max(xs) + 1, max(ys) + 1)
    return (min(xs), min(ys), max(xs), max(ys))
