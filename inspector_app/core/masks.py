"""Shapes -> class masks (:func:`rasterize`) under one rule set, and the class-mask input check
(:func:`check_class_mask`). The same code serves the trainer and the app.

Rasterising rule set (one rule for every caller)
------------------------------------------------
* Coordinates are truncated towards zero to int32 (``np.trunc``), as the aluminium set's authors
  did (``np.array(points, dtype=np.int32)``): a point anywhere in ``[x, x+1) x [y, y+1)`` stands
  for pixel column ``x``, row ``y``. Integer coordinates are therefore pixel indices, which is what
  ``mask_to_shapes`` writes.
* Classes are drawn in class-index order, a later class overwriting an earlier one; within a class,
  shapes are drawn in document order (their union). Unknown labels raise :class:`UnknownLabelError`.
* ``polygon`` / ``oriented_rectangle``: filled, even-odd rule, outline included (8-connected
  Bresenham lines between the vertices, as ``cv2.fillPoly`` draws them). A row's span between two
  edge crossings runs from ``round(x_left)`` to ``round(x_right)``, half up, the crossings being
  computed as OpenCV does: 16.16 fixed point from the upper vertex of each edge, per-row step
  truncated towards zero. The OpenCV in this project (5.x) fills ``ceil(x_left)..floor(x_right)``
  instead, which loses a pixel at the right end of some rows of slanted edges; the authors' OpenCV
  evidently rounded (with ``ceil``/``floor`` 250 of their 400 masks differ, by 774 pixels in all).
  We draw ``cv2.fillPoly`` and add the rounded crossing pixels, which reproduces the authors'
  aluminium masks pixel for pixel on 399 of 400 images; the 400th differs by one pixel because its
  one ``zhe_zhou`` linestrip is drawn as a 1 px line (the rule below) where the authors filled it.
* ``line`` / ``linestrip``: open polyline, ``cv2.polylines`` with ``thickness=line_width`` and
  LINE_8, exactly as the authors drew ``ca_shang``. Note that cv2's thick lines (width > 1) come out
  1-2 px wider than ``line_width`` (10 -> an 11 px band) with round caps and joins.
* ``draw_as: polyline`` in the class table: polygons and oriented rectangles of that class are drawn
  as *open* polylines through their points (no closing segment), ``line_width`` wide — the authors
  drew every ``ca_shang`` shape, the two polygons included, this way with width 10. Rectangles and
  circles of such a class are drawn as their closed outline. A shape may override its class with
  its own ``"draw_as": "fill"`` or ``"polyline"`` key (kept by labelme as extra shape data):
  :func:`~inspector_app.core.polygons.mask_to_shapes` writes ``"fill"`` on region outlines of
  polyline classes.
* ``rectangle``: filled axis-aligned box between the two truncated corners, both inclusive.
* ``circle``: centre = first point (truncated); radius = Euclidean distance from the centre to the
  second point (float points), rounded half up; filled disk (``cv2.circle``, LINE_8).
* ``point`` and each point of ``points``: filled disk of radius ``max(POINT_RADIUS, line_width//2)``.
* ``mask``: the decoded bitmap placed with its top-left pixel at the truncated first point
  (labelme's convention; the bitmap's own size wins over the second point); only its non-zero
  pixels are painted.
* Anything partly outside the image is clipped. A shape type we do not know raises
  :class:`ShapeError` (silently skipping it would give wrong training targets).

:func:`~inspector_app.core.polygons.mask_to_shapes` is the inverse (class masks -> polygons);
:mod:`inspector_app.core.regions` counts regions and compares masks.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import cv2
import numpy as np
import numpy.typing as npt

from inspector_app.core.annotations import Document, Shape, decode_mask
from inspector_app.core.classes import ClassInfo, ClassTable

#: Radius in px of the disk drawn for ``point`` shapes (and each point of ``points``).
POINT_RADIUS = 2

_XY_SHIFT = 16  # OpenCV's fixed-point precision for polygon edges
_COORD_LIMIT = float(1 << 24)  # keeps fixed-point maths in int64 and cv2's int32 happy

IntArray = npt.NDArray[np.int32]
Mask = npt.NDArray[np.uint8]


class UnknownLabelError(ValueError):
    """Shapes carry labels the class table does not know; ``labels`` lists them (sorted)."""

    def __init__(self, labels: Iterable[str], known: Sequence[str] = ()) -> None:
        self.labels: tuple[str, ...] = tuple(sorted(set(labels)))
        hint = f" (the class table has {list(known)})" if known else ""
        super().__init__(f"unknown label(s) {list(self.labels)}{hint}")


class ShapeError(ValueError):
    """A shape cannot be drawn (unknown shape type, missing mask data)."""


# ------------------------------------------------------------------------------------ drawing


def _int_points(points: Sequence[Sequence[float]]) -> IntArray:
    """(N, 2) int32, truncated towards zero (the authors' ``dtype=np.int32`` cast)."""
    arr = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return np.trunc(np.clip(arr, -_COORD_LIMIT, _COORD_LIMIT)).astype(np.int32)


def _round_crossings(pts: IntArray, height: int, width: int) -> tuple[npt.NDArray[np.int64], ...]:
    """Pixels (rows, cols) where each polygon edge crosses each row, x rounded half up.

    Edges are followed like OpenCV's CollectPolyEdges: rows ``[y_top, y_bottom)``, x in 16.16 fixed
    point starting at the upper vertex, per-row step = C integer division (truncation to zero).
    """
    p = pts.astype(np.int64)
    a, b = np.roll(p, 1, axis=0), p
    keep = a[:, 1] != b[:, 1]
    a, b = a[keep], b[keep]
    if len(a) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    down = a[:, 1] < b[:, 1]
    top = np.where(down[:, None], a, b)
    num = (b[:, 0] - a[:, 0]) << _XY_SHIFT
    den = b[:, 1] - a[:, 1]
    step = np.sign(num) * np.sign(den) * (np.abs(num) // np.abs(den))
    # Only rows inside the image matter; clip each edge's row range before expanding it.
    y_start = np.maximum(top[:, 1], 0)
    y_end = np.minimum(np.abs(den) + top[:, 1], height)
    count = np.maximum(y_end - y_start, 0)
    total = int(count.sum())
    if total == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    edge = np.repeat(np.arange(len(count)), count)
    rows = np.arange(total) - np.repeat(np.cumsum(count) - count, count) + y_start[edge]
    x_fixed = (top[edge, 0] << _XY_SHIFT) + (rows - top[edge, 1]) * step[edge]
    cols = (x_fixed + (1 << (_XY_SHIFT - 1))) >> _XY_SHIFT
    inside = (cols >= 0) & (cols < width)
    return rows[inside], cols[inside]


def fill_polygon(canvas: Mask, pts: IntArray, value: int) -> None:
    """Fill an integer polygon (even-odd, outline included) with the module's rounding rule."""
    if len(pts) == 0:
        return
    cv2.fillPoly(canvas, [pts.reshape(-1, 1, 2)], int(value), lineType=cv2.LINE_8)
    rows, cols = _round_crossings(pts, canvas.shape[0], canvas.shape[1])
    canvas[rows, cols] = value


def _polyline(canvas: Mask, pts: IntArray, closed: bool, value: int, width: int) -> None:
    cv2.polylines(canvas, [pts.reshape(-1, 1, 2)], closed, int(value), max(1, width), cv2.LINE_8)


def _paste_mask(canvas: Mask, shape: Shape, value: int) -> None:
    try:
        bitmap = decode_mask(shape)
    except ValueError as exc:
        raise ShapeError(f"mask shape {shape.label!r}: {exc}") from exc
    x0, y0 = (int(v) for v in _int_points(shape.points[:1])[0])
    h, w = bitmap.shape
    ys0, xs0 = max(y0, 0), max(x0, 0)
    ys1, xs1 = min(y0 + h, canvas.shape[0]), min(x0 + w, canvas.shape[1])
    if ys0 >= ys1 or xs0 >= xs1:
        return
    window = canvas[ys0:ys1, xs0:xs1]
    window[bitmap[ys0 - y0 : ys1 - y0, xs0 - x0 : xs1 - x0]] = value


def draw_shape(canvas: Mask, shape: Shape, info: ClassInfo) -> None:
    """Draw one shape into ``canvas`` (uint8 HxW, modified in place) with value ``info.index``."""
    value, width, kind = info.index, info.line_width, shape.shape_type
    # A shape's own "draw_as" (an extra LabelMe key) overrides its class's: mask_to_shapes marks
    # region outlines "fill" so that a polyline class still gets its regions back filled.
    mode = shape.extra.get("draw_as", info.draw_as) if shape.extra else info.draw_as
    if mode not in (None, "fill", "polyline"):
        raise ShapeError(f"shape {shape.label!r}: draw_as must be 'fill' or 'polyline', got {mode!r}")
    as_polyline = mode == "polyline"
    if kind == "mask":
        _paste_mask(canvas, shape, value)
        return
    if not shape.points:
        return
    pts = _int_points(shape.points)
    if kind in ("polygon", "oriented_rectangle"):
        if as_polyline:
            _polyline(canvas, pts, False, value, width)
        else:
            fill_polygon(canvas, pts, value)
    elif kind in ("line", "linestrip"):
        _polyline(canvas, pts, False, value, width)
    elif kind == "rectangle":
        (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
        if as_polyline:
            box = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.int32)
            _polyline(canvas, box, True, value, width)
        else:
            cv2.rectangle(canvas, (int(x0), int(y0)), (int(x1), int(y1)), int(value), -1)
    elif kind == "circle":
        (cx, cy), (px, py) = shape.points[0], shape.points[-1]
        radius = math.floor(math.hypot(px - cx, py - cy) + 0.5)
        centre = (int(pts[0, 0]), int(pts[0, 1]))
        thickness = max(1, width) if as_polyline else -1
        cv2.circle(canvas, centre, min(radius, 1 << 24), int(value), thickness, cv2.LINE_8)
    elif kind in ("point", "points"):
        radius = max(POINT_RADIUS, width // 2)
        for x, y in pts:
            cv2.circle(canvas, (int(x), int(y)), radius, int(value), -1, cv2.LINE_8)
    else:
        raise ShapeError(f"shape {shape.label!r}: cannot rasterise shape_type {kind!r}")


def _image_hw(image_shape: Sequence[int] | None, document: Document | None) -> tuple[int, int]:
    if image_shape is None:
        if document is None or not document.image_height or not document.image_width:
            raise ValueError("rasterize: no image_shape given and the document has no image size")
        return int(document.image_height), int(document.image_width)
    if len(image_shape) < 2 or image_shape[0] <= 0 or image_shape[1] <= 0:
        raise ValueError(f"rasterize: image_shape {tuple(image_shape)!r} is not (height, width[, ...])")
    return int(image_shape[0]), int(image_shape[1])


def rasterize_shapes(shapes: Iterable[Shape], class_table: ClassTable, image_shape: Sequence[int]) -> Mask:
    """Class mask (uint8 HxW) of ``shapes`` under the module's rule set (see module docstring)."""
    height, width = _image_hw(image_shape, None)
    shapes = list(shapes)
    known = set(class_table.labels[1:])
    unknown = {s.label for s in shapes} - known
    if unknown:
        raise UnknownLabelError(unknown, class_table.labels[1:])
    canvas = np.zeros((height, width), dtype=np.uint8)
    if len(class_table) > 256:
        raise ValueError(f"a uint8 class mask holds at most 256 classes, the table has {len(class_table)}")
    # Stable sort: class-index order, document order within a class.
    for shape in sorted(shapes, key=lambda s: class_table.index_of(s.label)):
        draw_shape(canvas, shape, class_table.by_label(shape.label))
    return canvas


def rasterize(document: Document, class_table: ClassTable, image_shape: Sequence[int] | None = None) -> Mask:
    """Class mask (uint8 HxW, 0 = background) of a LabelMe document.

    ``image_shape`` is the image's ``(height, width[, channels])``; when None the document's
    ``imageHeight``/``imageWidth`` are used. Raises :class:`UnknownLabelError` for labels missing
    from ``class_table`` and :class:`ShapeError` for shapes that cannot be drawn.
    """
    hw = _image_hw(image_shape, document)
    return rasterize_shapes(document.shapes, class_table, hw)


# ------------------------------------------------------------------------------ input check


def check_class_mask(mask: npt.ArrayLike, num_classes: int) -> Mask:
    """``mask`` as a C-contiguous uint8 HxW class mask, or ValueError saying what is wrong.

    Accepts bool masks and any integer dtype within 0..255 (argmax output); every value must be
    a class index below ``num_classes``.
    """
    arr = np.asarray(mask)
    if arr.dtype == np.bool_:
        arr = arr.view(np.uint8)
    if arr.ndim != 2:
        raise ValueError(f"expected a 2-D class mask, got shape {arr.shape}")
    if arr.dtype != np.uint8:
        if not np.issubdtype(arr.dtype, np.integer) or (arr.size and (arr.min() < 0 or arr.max() > 255)):
            raise ValueError(f"expected a uint8 class mask, got {arr.dtype}")
        arr = arr.astype(np.uint8)
    if arr.size and int(arr.max()) >= num_classes:
        raise ValueError(f"mask holds class {int(arr.max())} but there are only {num_classes} classes")
    return np.ascontiguousarray(arr)
