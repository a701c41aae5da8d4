"""Qt-free geometry of the canvas: handles of each shape type, hit tests, handle drags.

Handles are the draggable points the canvas shows on a selected shape:

* polygon, linestrip, line, points, point, oriented_rectangle: one handle per stored point
  (handle ``i`` is point ``i``);
* rectangle (2 stored corners): the 4 corners; dragging one keeps the opposite corner fixed;
* circle (centre, rim point): both; dragging the centre moves the circle, the rim sets the radius;
* mask: none (a mask bitmap is moved as a whole or repainted with the brush).

All hit tests work on (n, 2) float arrays and a tolerance in image units, vectorised with numpy so
that a 5,000-vertex polygon costs microseconds per mouse move.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from inspector_app.core.annotations import Point, Shape

__all__ = [
    "POINT_HANDLE_TYPES",
    "drag_handle",
    "handle_points",
    "nearest_edge",
    "nearest_vertex",
    "points_array",
    "rect_corners",
]

FloatArray = npt.NDArray[np.float64]

#: Types whose handle i is stored point i (a drag is ``session.move_vertex``).
POINT_HANDLE_TYPES = frozenset({"polygon", "linestrip", "line", "points", "point", "oriented_rectangle"})
#: Types whose edges may get a new vertex, and whether the outline is closed.
INSERTABLE = {"polygon": True, "linestrip": False, "oriented_rectangle": True}


def points_array(points: tuple[Point, ...] | list[Point]) -> FloatArray:
    """(n, 2) float64 array of points (empty -> shape (0, 2))."""
    return np.asarray(points, dtype=np.float64).reshape(-1, 2)


def rect_corners(points: tuple[Point, ...]) -> list[Point]:
    """The 4 corners (clockwise from the first stored corner's x/y) of a 2-point rectangle."""
    (x0, y0), (x1, y1) = points[0], points[1]
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def handle_points(shape: Shape) -> FloatArray:
    """Handle positions of ``shape`` (see the module docstring)."""
    pts = shape.points
    if shape.shape_type in POINT_HANDLE_TYPES:
        return points_array(pts)
    if shape.shape_type == "rectangle" and len(pts) == 2:
        return points_array(rect_corners(pts))
    if shape.shape_type == "circle" and len(pts) == 2:
        return points_array(pts)
    return np.zeros((0, 2))


def drag_handle(shape: Shape, handle: int, pos: Point) -> tuple[Point, ...]:
    """New stored points of ``shape`` when handle ``handle`` is dragged to ``pos``."""
    pts = shape.points
    x, y = float(pos[0]), float(pos[1])
    if shape.shape_type == "rectangle":
        corners = rect_corners(pts)
        return (corners[(handle + 2) % 4], (x, y))
    if shape.shape_type == "circle":
        (cx, cy), (px, py) = pts[0], pts[1]
        if handle == 0:  # move the whole circle
            return ((x, y), (px + x - cx, py + y - cy))
        return ((cx, cy), (x, y))
    return (*pts[:handle], (x, y), *pts[handle + 1 :])


def nearest_vertex(points: FloatArray, x: float, y: float, tol: float) -> int | None:
    """Index of the point nearest to (x, y) within ``tol``, else None."""
    if len(points) == 0:
        return None
    d2 = (points[:, 0] - x) ** 2 + (points[:, 1] - y) ** 2
    i = int(np.argmin(d2))
    return i if d2[i] <= tol * tol else None


def nearest_edge(
    points: FloatArray, x: float, y: float, tol: float, closed: bool
) -> tuple[int, Point] | None:
    """Nearest edge within ``tol``: (insert position, projected point), else None.

    Edge ``i`` runs from point ``i`` to point ``i + 1`` (the last edge of a closed outline back to
    point 0); inserting at position ``i + 1`` puts the new vertex on it.
    """
    n = len(points)
    if n < 2:
        return None
    a = points
    b = np.roll(points, -1, axis=0) if closed else points[1:]
    a = a if closed else points[:-1]
    ab = b - a
    len2 = np.einsum("ij,ij->i", ab, ab)
    t = ((x - a[:, 0]) * ab[:, 0] + (y - a[:, 1]) * ab[:, 1]) / np.where(len2 > 0, len2, 1.0)
    t = np.clip(t, 0.0, 1.0)
    px = a[:, 0] + t * ab[:, 0]
    py = a[:, 1] + t * ab[:, 1]
    d2 = (px - x) ** 2 + (py - y) ** 2
    i = int(np.argmin(d2))
    if d2[i] > tol * tol:
        return None
    return i + 1, (float(px[i]), float(py[i]))


def circle_radius(points: tuple[Point, ...]) -> float:
    """Radius of a labelme circle (centre, rim point)."""
    (cx, cy), (px, py) = points[0], points[1]
    return math.hypot(px - cx, py - cy)
