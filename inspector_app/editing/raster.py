"""Raster edits of shapes: brush strokes, eraser strokes and accepted predictions -> polygons.

Qt-free helpers of the annotation session (:mod:`inspector_app.editing`); each returns a new
:class:`~inspector_app.commands.EditState` (or None when nothing changes) that the session pushes as
one undoable command. Rules:

* **Paint**: the painted pixels plus every closed shape (polygon, rectangle, circle, mask,
  oriented_rectangle) of the painted class that they overlap or touch (8-neighbourhood) are
  rasterised, merged, and traced back into polygons with ``core.masks.mask_to_shapes``. The merged
  shapes are replaced in place (draw order kept); untouched shapes are left as they are.
* **Erase**: the painted pixels are cut out of every closed shape of the given class (any class
  when None) that they overlap; each such shape is replaced by the polygons of what is left
  (none when nothing is left), keeping its label, group id and description.
* Hidden and locked shapes (``skip`` ids) are never changed. Open shapes are never changed.
* Work happens in the bounding box of the stroke and the shapes involved only, so a stroke on
  an 8000x6000 image costs what its neighbourhood costs.
* Every shape produced here counts as a person's edit (no prediction mark), except
  :func:`prediction_shapes`, whose shapes carry the mark.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable
from dataclasses import replace

import cv2
import numpy as np
import numpy.typing as npt

from inspector_app.commands import CLOSED_TYPES, EditState, mark_prediction, shape_bounds, touched
from inspector_app.core.annotations import Shape
from inspector_app.core.classes import ClassTable
from inspector_app.core.masks import rasterize_shapes
from inspector_app.core.polygons import mask_to_shapes

__all__ = ["erase", "paint", "prediction_shapes"]

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive ends), image pixels
BoolMask = npt.NDArray[np.bool_]
NewIds = Callable[[int], list[int]]


def _mask_box(mask: BoolMask) -> Box | None:
    """Bounding box of the True pixels, or None when there are none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)


def _shape_box(shape: Shape, height: int, width: int, margin: int = 1) -> Box:
    x0, y0, x1, y1 = shape_bounds(shape)
    return (
        max(0, math.floor(x0) - margin),
        max(0, math.floor(y0) - margin),
        min(width, math.ceil(x1) + margin + 1),
        min(height, math.ceil(y1) + margin + 1),
    )


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _union(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _shift(shape: Shape, dx: float, dy: float) -> Shape:
    """Raw translation (no prediction bookkeeping): for moving shapes in and out of a crop."""
    return replace(shape, points=tuple((x + dx, y + dy) for x, y in shape.points))


def _raster(shape: Shape, box: Box, table: ClassTable) -> BoolMask:
    """Pixels of ``box`` covered by ``shape`` under the class table's drawing rules."""
    x0, y0, x1, y1 = box
    local = _shift(shape, -x0, -y0)
    return rasterize_shapes([local], table, (y1 - y0, x1 - x0)) > 0


def _polygons(
    region: BoolMask, like: Shape, origin: tuple[int, int], tolerance: float, table: ClassTable
) -> list[Shape]:
    """Polygons tracing ``region`` (crop at ``origin``), labelled and attributed like ``like``.

    Traced with the real class table, so a polyline class' regions get ``draw_as: fill``.
    """
    if not region.any():
        return []
    index = table.index_of(like.label)
    traced = mask_to_shapes(
        region.astype(np.uint8) * np.uint8(index), table, tolerance=tolerance, classes=[index]
    )
    flags = dict(touched(like).flags)
    return [
        replace(
            _shift(s, origin[0], origin[1]), group_id=like.group_id, description=like.description, flags=flags
        )
        for s in traced
    ]


def _candidates(
    state: EditState, labels: Collection[str] | None, skip: Collection[int], box: Box, height: int, width: int
) -> list[tuple[int, Shape, Box]]:
    out = []
    for sid, shape in zip(state.ids, state.shapes, strict=True):
        if sid in skip or shape.shape_type not in CLOSED_TYPES:
            continue
        if labels is not None and shape.label not in labels:
            continue
        sbox = _shape_box(shape, height, width)
        if sbox[0] < sbox[2] and sbox[1] < sbox[3] and _overlap(sbox, box):
            out.append((sid, shape, sbox))
    return out


def _rebuild(state: EditState, replaced: dict[int, list[Shape]], new_ids: NewIds) -> EditState:
    """``state`` with each id in ``replaced`` swapped for its list of shapes (in place)."""
    shapes: list[Shape] = []
    ids: list[int] = []
    for sid, shape in zip(state.ids, state.shapes, strict=True):
        if sid in replaced:
            pieces = replaced[sid]
            shapes.extend(pieces)
            ids.extend(new_ids(len(pieces)))
        else:
            shapes.append(shape)
            ids.append(sid)
    return EditState(tuple(shapes), tuple(ids))


def paint(
    state: EditState,
    painted: BoolMask,
    label: str,
    skip: Collection[int],
    tolerance: float,
    new_ids: NewIds,
    table: ClassTable,
) -> EditState | None:
    """Merge painted pixels into the shapes of ``label`` they touch (see the module docstring)."""
    height, width = painted.shape
    stroke = _mask_box(painted)
    if stroke is None:
        return None
    grown_box = (
        max(0, stroke[0] - 1),
        max(0, stroke[1] - 1),
        min(width, stroke[2] + 1),
        min(height, stroke[3] + 1),
    )
    cands = _candidates(state, [label], skip, grown_box, height, width)
    box = grown_box
    for _, _, sbox in cands:
        box = _union(box, sbox)
    x0, y0, x1, y1 = box
    merged = painted[y0:y1, x0:x1].copy()
    touching = cv2.dilate(merged.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    merge_ids: list[int] = []
    for sid, shape, _ in cands:
        covered = _raster(shape, box, table)
        if (covered & touching).any():
            merged |= covered
            merge_ids.append(sid)
    like = state.shape(merge_ids[0]) if merge_ids else Shape(label=label, points=())
    pieces = _polygons(merged, like, (x0, y0), tolerance, table)
    if not pieces:
        return None
    if not merge_ids:
        return EditState(state.shapes + tuple(pieces), state.ids + tuple(new_ids(len(pieces))))
    replaced: dict[int, list[Shape]] = {sid: [] for sid in merge_ids}
    replaced[merge_ids[0]] = pieces
    return _rebuild(state, replaced, new_ids)


def erase(
    state: EditState,
    painted: BoolMask,
    label: str | None,
    skip: Collection[int],
    tolerance: float,
    new_ids: NewIds,
    table: ClassTable,
) -> EditState | None:
    """Cut painted pixels out of closed shapes (of ``label``, or all when None)."""
    height, width = painted.shape
    stroke = _mask_box(painted)
    if stroke is None:
        return None
    labels = None if label is None else [label]
    replaced: dict[int, list[Shape]] = {}
    for sid, shape, box in _candidates(state, labels, skip, stroke, height, width):
        x0, y0, x1, y1 = box
        covered = _raster(shape, box, table)
        cut = painted[y0:y1, x0:x1] & covered
        if not cut.any():
            continue
        replaced[sid] = _polygons(covered & ~cut, shape, (x0, y0), tolerance, table)
    if not replaced:
        return None
    return _rebuild(state, replaced, new_ids)


def prediction_shapes(
    mask: npt.NDArray[np.uint8], table: ClassTable, classes: Iterable[int] | None, tolerance: float
) -> list[Shape]:
    """Polygons of a predicted class mask, each marked as a prediction."""
    wanted = None if classes is None else sorted(set(classes))
    traced = mask_to_shapes(np.asarray(mask, dtype=np.uint8), table, tolerance=tolerance, classes=wanted)
    return [mark_prediction(s) for s in traced]
