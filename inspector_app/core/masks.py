"""Shapes -> class masks (:func:`rasterize`), class masks -> polygons (:func:`mask_to_shapes`), and
per-class region statistics (:func:`region_stats`). The same code serves the trainer and the app.

Rasterising rule set (one rule for every caller)
------------------------------------------------
* Coordinates are truncated towards zero to int32 (``np.trunc``), as the aluminium set's authors
  did (``np.array(points, dtype=np.int32)``): a point anywhere in ``[x, x+1) x [y, y+1)`` stands
  for pixel column ``x``, row ``y``. Integer coordinates are therefore pixel indices, which is what
  :func:`mask_to_shapes` writes.
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
  :func:`mask_to_shapes` writes ``"fill"`` on region outlines of polyline classes.
* ``rectangle``: filled axis-aligned box between the two truncated corners, both inclusive.
* ``circle``: centre = first point (truncated); radius = Euclidean distance from the centre to the
  second point (float points), rounded half up; filled disk (``cv2.circle``, LINE_8).
* ``point`` and each point of ``points``: filled disk of radius ``max(POINT_RADIUS, line_width//2)``.
* ``mask``: the decoded bitmap placed with its top-left pixel at the truncated first point
  (labelme's convention; the bitmap's own size wins over the second point); only its non-zero
  pixels are painted.
* Anything partly outside the image is clipped. A shape type we do not know raises
  :class:`ShapeError` (silently skipping it would give wrong training targets).

Polygons from masks
-------------------
:func:`mask_to_shapes` traces every 8-connected region of every class with ``cv2.findContours``
through the *centres* of its border pixels (integer vertices, so that truncation, rounding and PIL
all read them the same way). Holes (4-connected background inside a region) are kept in the same
LabelMe polygon by a zero-width *seam*: from the top pixel of each hole a vertical cut through the
region's own pixels reaches the outer border or an already-joined hole; the walk goes down the seam,
round the hole and back up. Both directions of the seam cancel under the even-odd rule, and its
outline pixels are region pixels, so nothing visible is added. Douglas-Peucker simplification
(``tolerance`` px) runs on each border with the seam ends pinned; a region whose simplified polygon
does not rasterise back to at least ``MIN_REGION_IOU`` of itself is redone with half the tolerance,
down to the exact trace, so tiny regions (pinholes) always survive. At ``tolerance=0`` the round
trip is exact.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import cv2
import numpy as np
import numpy.typing as npt

from inspector_app.core.annotations import Document, Shape, decode_mask
from inspector_app.core.classes import ClassInfo, ClassTable

#: Radius in px of the disk drawn for ``point`` shapes (and each point of ``points``).
POINT_RADIUS = 2
#: Default Douglas-Peucker tolerance of :func:`mask_to_shapes`, in px.
DEFAULT_TOLERANCE = 1.0
#: Default smallest region (and background hole) kept by :func:`mask_to_shapes`, in px.
DEFAULT_MIN_AREA = 1
#: A simplified region must rasterise back to at least this IoU with itself, else it is retraced finer.
MIN_REGION_IOU = 0.995

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


# ---------------------------------------------------------------------------- masks -> shapes


class _Region:
    """One 8-connected region: its outer border and hole borders (crop coordinates, int32 (N,2))."""

    def __init__(self, loops: list[IntArray]) -> None:
        self.loops = loops
        # (parent loop, parent vertex, child loop, child vertex): a seam joining child to parent.
        self.seams: list[tuple[int, int, int, int]] = []


def _join_holes(region: _Region, component: npt.NDArray[np.bool_]) -> None:
    """Find a vertical seam from the top pixel of every hole to a border already in the walk.

    Holes are taken top-first. From the hole border's top(-left) pixel p we climb through the
    region's own pixels to q, the last one below background. That background is the outside or a
    hole whose border lies higher up (so it is already joined), and q is on that border.
    """
    loops = region.loops
    if len(loops) == 1:
        return
    width = component.shape[1]
    keys = [lp[:, 1].astype(np.int64) * width + lp[:, 0] for lp in loops]
    all_keys = np.concatenate(keys)
    owner = np.concatenate([np.full(len(k), i, np.int64) for i, k in enumerate(keys)])
    index = np.concatenate([np.arange(len(k), dtype=np.int64) for k in keys])
    order = np.argsort(all_keys, kind="stable")
    all_keys, owner, index = all_keys[order], owner[order], index[order]

    tops = []
    for h in range(1, len(loops)):
        lp = loops[h]
        k = int(np.lexsort((lp[:, 0], lp[:, 1]))[0])
        tops.append((int(lp[k, 1]), int(lp[k, 0]), h, k))
    joined = {0}
    for y, x, h, k in sorted(tops):
        above = component[:y, x][::-1]
        climb = int(np.argmin(above))  # pixels of the region straight above p (row 0 is padding)
        qkey = (y - climb) * width + x
        lo, hi = np.searchsorted(all_keys, [qkey, qkey + 1])
        for j in range(lo, hi):
            if int(owner[j]) in joined:
                region.seams.append((int(owner[j]), int(index[j]), h, k))
                joined.add(h)
                break
        # Not found cannot happen for borders traced by cv2.findContours; the hole would then
        # simply stay filled (it is left out of the walk) rather than produce a wrong seam.


def _simplify(loop: IntArray, pinned: Sequence[int], tolerance: float) -> tuple[IntArray, dict[int, int]]:
    """Douglas-Peucker on a closed border keeping ``pinned`` vertices; returns (points, old->new index)."""
    n = len(loop)
    if n <= 2:
        return loop, {i: i for i in pinned}
    if not pinned:
        out = cv2.approxPolyDP(loop.reshape(-1, 1, 2), tolerance, True).reshape(-1, 2)
        return out.astype(np.int32), {}
    cuts = sorted(set(pinned))
    if len(cuts) == 1:
        # One pinned vertex: also pin the farthest vertex, so no arc starts and ends at one point.
        d = np.abs(loop - loop[cuts[0]]).sum(axis=1)
        far = int(np.argmax(d))
        if far != cuts[0]:
            cuts = sorted({cuts[0], far})
    pieces: list[IntArray] = []
    new_index: dict[int, int] = {}
    count = 0
    for a, b in zip(cuts, [*cuts[1:], cuts[0] + n], strict=True):
        idx = np.arange(a, b + 1) % n
        arc = loop[idx]
        simple = cv2.approxPolyDP(arc.reshape(-1, 1, 2), tolerance, False).reshape(-1, 2)
        new_index[a] = count
        pieces.append(simple[:-1].astype(np.int32))  # the end is the next arc's start
        count += len(simple) - 1
    return np.concatenate(pieces), {i: new_index[i] for i in pinned}


def _walk(region: _Region, tolerance: float) -> IntArray:
    """The region as one closed vertex walk: outer border with each hole hung on its seam."""
    pinned: list[list[int]] = [[] for _ in region.loops]
    for parent, pv, child, cv in region.seams:
        pinned[parent].append(pv)
        pinned[child].append(cv)
    simple: list[IntArray] = []
    maps: list[dict[int, int]] = []
    for lp, pins in zip(region.loops, pinned, strict=True):
        pts, mapping = _simplify(lp, pins, tolerance)
        simple.append(pts)
        maps.append(mapping)
    if not region.seams:
        return simple[0]
    hung: dict[int, dict[int, list[tuple[int, int]]]] = {}
    for parent, pv, child, cv in region.seams:
        hung.setdefault(parent, {}).setdefault(maps[parent][pv], []).append((child, maps[child][cv]))

    # Iterative depth-first emission (holes can hang on holes, arbitrarily deep).
    out: list[IntArray] = []
    stack: list[tuple[int, int] | IntArray] = [(0, 0)]
    while stack:
        task = stack.pop()
        if isinstance(task, np.ndarray):
            out.append(task)
            continue
        loop_id, start = task
        pts = simple[loop_id]
        n = len(pts)
        rolled = np.roll(pts, -start, axis=0)
        closed = np.concatenate([rolled, rolled[:1]])  # back to the start vertex
        hooks = hung.get(loop_id, {})
        cut_at = sorted(((v - start) % n, v) for v in hooks)
        tasks: list[tuple[int, int] | IntArray] = []
        prev = 0
        for rel, v in cut_at:
            tasks.append(closed[prev : rel + 1])
            for child, entry in hooks[v]:
                tasks.append((child, entry))
                tasks.append(pts[v : v + 1])  # back up the seam
            prev = rel + 1
        tasks.append(closed[prev:])
        stack.extend(reversed(tasks))
    walk = np.concatenate(out)
    # Drop repeated vertices (zero-length seams) and the closing repeat of the first vertex.
    keep = np.ones(len(walk), dtype=bool)
    keep[1:] = np.any(walk[1:] != walk[:-1], axis=1)
    walk = walk[keep]
    if len(walk) > 1 and np.array_equal(walk[0], walk[-1]):
        walk = walk[:-1]
    return walk


def _trace(binary: Mask, tolerance: float) -> list[IntArray]:
    """Closed vertex walks (crop coordinates) of every region of ``binary`` (uint8 0/1, zero border)."""
    contours, hierarchy = cv2.findContours(binary, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    if hierarchy is None:
        return []
    hier = hierarchy.reshape(-1, 4)
    pixels = binary.view(bool)
    walks: list[IntArray] = []
    for i in np.flatnonzero(hier[:, 3] < 0).tolist():
        loops = [np.asarray(contours[i], dtype=np.int32).reshape(-1, 2)]
        child = int(hier[i, 2])
        while child >= 0:
            loops.append(np.asarray(contours[child], dtype=np.int32).reshape(-1, 2))
            child = int(hier[child, 0])
        region = _Region(loops)
        if len(loops) > 1:
            _join_holes(region, pixels)
        walks.append(_fit(region, tolerance))
    return walks


#: Borders with at most this many pixels are never simplified (nothing to gain, much to lose).
_SMALL_BORDER = 12


def _fit(region: _Region, tolerance: float) -> IntArray:
    """Walk at ``tolerance``, halved until it rasterises back to MIN_REGION_IOU of the exact walk.

    The exact walk (tolerance 0) rasterises to the region itself, so it is the reference; this
    avoids labelling the whole mask's components.
    """
    exact = _walk(region, 0.0)
    if tolerance <= 0 or sum(len(lp) for lp in region.loops) <= _SMALL_BORDER:
        return exact
    origin = exact.min(axis=0)
    height, width = (exact.max(axis=0) - origin + 1).tolist()[::-1]
    reference = np.zeros((height, width), dtype=np.uint8)
    fill_polygon(reference, exact - origin, 1)
    area = int(np.count_nonzero(reference))
    tol = tolerance
    while tol > 0:
        walk = _walk(region, tol)
        if len(walk) >= len(exact):
            break
        canvas = np.zeros_like(reference)
        fill_polygon(canvas, walk - origin, 1)
        inter = int(np.count_nonzero(canvas & reference))
        union = area + int(np.count_nonzero(canvas)) - inter
        if inter >= MIN_REGION_IOU * union:
            return walk
        tol = tol / 2 if tol / 2 >= 0.25 else 0.0
    return exact


def _class_indices(classes: Iterable[int | str] | None, table: ClassTable) -> set[int]:
    if classes is None:
        return set(range(1, len(table)))
    out: set[int] = set()
    for c in classes:
        if isinstance(c, str):
            out.add(table.index_of(c))
        else:
            table.by_index(int(c))
            out.add(int(c))
    out.discard(0)
    return out


def _check_mask(mask: npt.ArrayLike, num_classes: int) -> Mask:
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


def _without_specks(arr: Mask, classes: Iterable[int], min_area: int) -> Mask:
    """``arr`` with every 8-connected region smaller than ``min_area`` px set to background."""
    out = arr.copy()
    for c in classes:
        binary = (arr == c).view(np.uint8)
        x, y, w, h = cv2.boundingRect(binary)
        _, labels, stats, _ = cv2.connectedComponentsWithStats(binary[y : y + h, x : x + w], connectivity=8)
        small = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] < min_area)
        small = small[small > 0]
        if len(small):
            out[y : y + h, x : x + w][np.isin(labels, small)] = 0
    return out


def _fill_small_holes(binary: Mask, crop: Mask, value: int, min_area: int) -> Mask:
    """Fill holes (4-connected background) below ``min_area`` px that hold no other class.

    ``binary`` is the class's 0/1 crop with a zero border, ``crop`` the speck-free class mask over
    the same window. A hole holding part of another class's region is kept, or that region (drawn
    earlier, if its index is lower) would be painted over.
    """
    inverse = (binary == 0).view(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(inverse, connectivity=4)
    foreign = ((crop != 0) & (crop != value)).ravel()
    other = np.bincount(labels.ravel(), weights=foreign, minlength=n)
    holes = np.flatnonzero((stats[:, cv2.CC_STAT_AREA] < min_area) & (other == 0))
    holes = holes[(holes > 0) & (holes != labels[0, 0])]  # label 0 = region pixels; [0, 0] = outside
    if not len(holes):
        return binary
    out = binary.copy()
    out[np.isin(labels, holes)] = 1
    return out


def mask_to_shapes(
    mask: npt.ArrayLike,
    class_table: ClassTable,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    min_area: int = DEFAULT_MIN_AREA,
    classes: Iterable[int | str] | None = None,
) -> list[Shape]:
    """LabelMe polygons for the regions of a class mask (see the module docstring).

    One polygon per 8-connected region, holes joined in by zero-width seams, vertices at the
    centres of border pixels (integers). ``tolerance``: Douglas-Peucker tolerance in px (0 =
    exact trace; a region whose simplified polygon would rasterise to less than ``MIN_REGION_IOU``
    IoU with itself is retraced finer). ``min_area``:
    regions, and holes holding only background, smaller than this many px are dropped / filled.
    ``classes``: indices or labels to convert (default: all but background). Shapes come in class
    order, regions top to bottom, so :func:`rasterize` gives the mask back.
    """
    if tolerance < 0 or not math.isfinite(tolerance):
        raise ValueError(f"tolerance must be a finite number >= 0, got {tolerance!r}")
    if min_area < 0:
        raise ValueError(f"min_area must be >= 0, got {min_area!r}")
    arr = _check_mask(mask, len(class_table))
    wanted = _class_indices(classes, class_table)
    hist = cv2.calcHist([arr], [0], None, [256], [0, 256]).ravel() if arr.size else np.zeros(256)
    present = [int(i) for i in np.flatnonzero(hist) if i > 0]
    if min_area > 1:
        # Specks go first, for all classes at once: a hole holding only specks can then be filled.
        arr = _without_specks(arr, present, int(min_area))
    shapes: list[Shape] = []
    for c in (i for i in present if i in wanted):
        binary_full = (arr == c).view(np.uint8)
        x, y, w, h = cv2.boundingRect(binary_full)
        # One pixel of zero padding: findContours and the seam climb then never meet the image edge.
        binary = np.zeros((h + 2, w + 2), dtype=np.uint8)
        binary[1:-1, 1:-1] = binary_full[y : y + h, x : x + w]
        if min_area > 1:
            crop = np.zeros_like(binary)
            crop[1:-1, 1:-1] = arr[y : y + h, x : x + w]
            binary = _fill_small_holes(binary, crop, c, int(min_area))
        info = class_table.by_index(c)
        label = info.label
        extra = {"draw_as": "fill"} if info.draw_as == "polyline" else {}
        walks = _trace(binary, tolerance)
        walks.sort(key=lambda wk: (int(wk[:, 1].min()), int(wk[:, 0].min())))
        for walk in walks:
            pts = walk + np.array([x - 1, y - 1], dtype=np.int32)
            if len(pts) < 3:  # a polygon needs 3 points: a 1-2 px region walks there and back
                pts = np.concatenate([pts, pts[::-1]])[:3] if len(pts) == 2 else np.repeat(pts, 3, axis=0)
            points = tuple((float(px), float(py)) for px, py in pts.tolist())
            shapes.append(Shape(label=label, points=points, shape_type="polygon", extra=extra))
    return shapes


class RegionStats(NamedTuple):
    """Pixel area and number of 8-connected regions of one class."""

    area_px: int
    regions: int


def region_stats(mask: npt.ArrayLike, num_classes: int) -> list[RegionStats]:
    """Per class index 0..num_classes-1: (area in px, 8-connected regions). Background regions = 0."""
    arr = _check_mask(mask, num_classes)
    if not arr.size:
        return [RegionStats(0, 0) for _ in range(num_classes)]
    hist = cv2.calcHist([arr], [0], None, [256], [0, 256]).ravel().astype(np.int64)
    out = [RegionStats(int(hist[0]), 0)]
    for c in range(1, num_classes):
        if hist[c] == 0:
            out.append(RegionStats(0, 0))
            continue
        # Outer borders (parent -1 under RETR_CCOMP, islands in holes included) = 8-connected
        # regions; findContours is several times faster than labelling and needs no label image.
        binary = (arr == c).view(np.uint8)
        x, y, w, h = cv2.boundingRect(binary)
        crop = binary[y : y + h, x : x + w]
        _, hierarchy = cv2.findContours(crop, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
        regions = 0 if hierarchy is None else int(np.count_nonzero(hierarchy.reshape(-1, 4)[:, 3] < 0))
        out.append(RegionStats(int(hist[c]), regions))
    return out


# --------------------------------------------------------------------------------- comparison


def defect_iou(prediction: npt.ArrayLike, truth: npt.ArrayLike, *, exact_class: bool = True) -> float:
    """IoU of defect (non-zero) pixels of two class masks; 1.0 when both have none.

    With ``exact_class`` a pixel counts as shared only if both masks give it the same class;
    otherwise any defect class matches any other (foreground vs foreground).
    """
    a, b = np.asarray(prediction), np.asarray(truth)
    if a.shape != b.shape:
        raise ValueError(f"mask shapes differ: {a.shape} vs {b.shape}")
    fa, fb = a != 0, b != 0
    union = int(np.count_nonzero(fa | fb))
    if union == 0:
        return 1.0
    inter = int(np.count_nonzero(fa & fb & (a == b))) if exact_class else int(np.count_nonzero(fa & fb))
    return inter / union


def class_iou(prediction: npt.ArrayLike, truth: npt.ArrayLike, index: int) -> float | None:
    """IoU of one class between two class masks; None when neither mask has that class."""
    a, b = np.asarray(prediction) == index, np.asarray(truth) == index
    union = int(np.count_nonzero(a | b))
    return None if union == 0 else int(np.count_nonzero(a & b)) / union
