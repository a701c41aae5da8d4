"""Class masks -> LabelMe polygons (:func:`mask_to_shapes`), the inverse of
:func:`inspector_app.core.masks.rasterize`. The same code serves the trainer and the app.

:func:`mask_to_shapes` traces every 8-connected region of every class with ``cv2.findContours``
through the *centres* of its border pixels (integer vertices, so that truncation, rounding and PIL
all read them the same way; see the rasterising rules in :mod:`inspector_app.core.masks`). Holes
(4-connected background inside a region) are kept in the same LabelMe polygon by a zero-width
*seam*: from the top pixel of each hole a vertical cut through the region's own pixels reaches the
outer border or an already-joined hole; the walk goes down the seam, round the hole and back up.
Both directions of the seam cancel under the even-odd rule, and its outline pixels are region
pixels, so nothing visible is added. Douglas-Peucker simplification (``tolerance`` px) runs on each
border with the seam ends pinned; a region whose simplified polygon does not rasterise back to at
least ``MIN_REGION_IOU`` of itself is redone with half the tolerance, down to the exact trace, so
tiny regions (pinholes) always survive. At ``tolerance=0`` the round trip is exact.

Regions of a class whose table entry says ``draw_as: polyline`` get ``"draw_as": "fill"`` on their
outline, so that rasterising them fills the region again instead of drawing an open line.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import cv2
import numpy as np
import numpy.typing as npt

from inspector_app.core.annotations import Shape
from inspector_app.core.classes import ClassTable
from inspector_app.core.masks import IntArray, Mask, check_class_mask, fill_polygon

#: Default Douglas-Peucker tolerance of :func:`mask_to_shapes`, in px.
DEFAULT_TOLERANCE = 1.0
#: Default smallest region (and background hole) kept by :func:`mask_to_shapes`, in px.
DEFAULT_MIN_AREA = 1
#: A simplified region must rasterise back to at least this IoU with itself, else it is retraced finer.
MIN_REGION_IOU = 0.995


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
    arr = check_class_mask(mask, len(class_table))
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
