"""Shapes -> class masks: every shape type, draw order and the rules of core.masks; the mask check."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inspector_app.core.annotations import Document, Shape, make_mask_shape
from inspector_app.core.classes import BACKGROUND_LABEL, ClassInfo, ClassTable
from inspector_app.core.masks import (
    POINT_RADIUS,
    ShapeError,
    UnknownLabelError,
    check_class_mask,
    fill_polygon,
    rasterize,
    rasterize_shapes,
)

TABLE = ClassTable(
    (
        ClassInfo(0, BACKGROUND_LABEL, "background", (0, 0, 0)),
        ClassInfo(1, "wrinkle", "wrinkle", (255, 0, 0)),
        ClassInfo(2, "scratch", "scratch", (0, 255, 0), line_width=3, draw_as="polyline"),
        ClassInfo(3, "stain", "stain", (0, 0, 255)),
        ClassInfo(4, "thick", "thick", (9, 9, 9), line_width=7),
    )
)


def poly(label: str, *pts: tuple[float, float], kind: str = "polygon", **extra: str) -> Shape:
    return Shape(label=label, points=tuple(pts), shape_type=kind, extra=extra)


def draw(*shapes: Shape, hw: tuple[int, int] = (12, 12)) -> np.ndarray:
    return rasterize_shapes(shapes, TABLE, hw)


def box(hw: tuple[int, int], rows: slice, cols: slice, value: int = 1) -> np.ndarray:
    out = np.zeros(hw, dtype=np.uint8)
    out[rows, cols] = value
    return out


# ------------------------------------------------------------------------------- rasterize


def test_polygon_filled_inclusive_of_its_vertices() -> None:
    got = draw(poly("wrinkle", (1, 1), (4, 1), (4, 3), (1, 3)))
    np.testing.assert_array_equal(got, box((12, 12), slice(1, 4), slice(1, 5)))


def test_coordinates_are_truncated_like_the_authors_int32_cast() -> None:
    got = draw(poly("wrinkle", (1.9, 1.9), (4.99, 1.2), (4.5, 3.7), (1.2, 3.3)))
    np.testing.assert_array_equal(got, box((12, 12), slice(1, 4), slice(1, 5)))


def test_span_ends_are_rounded_half_up_unlike_todays_fillpoly() -> None:
    # The edge (11,44)->(0,0) crosses row 2 at x = 0.5: rounded half up, pixel 1 is in. Plain
    # cv2.fillPoly (ceil/floor) leaves it out; the authors' masks have it (see module docstring).
    pts = np.array([[0, 0], [0, 44], [11, 44]], dtype=np.int32)
    ours = np.zeros((46, 13), np.uint8)
    fill_polygon(ours, pts, 1)
    plain = np.zeros_like(ours)
    cv2.fillPoly(plain, [pts], 1)
    assert ours[2, 1] == 1 and plain[2, 1] == 0
    assert np.all(ours >= plain)  # only ever adds pixels at span ends
    small = np.zeros((6, 4), np.uint8)
    fill_polygon(small, np.array([[0, 0], [2, 4], [0, 4]], np.int32), 1)
    expected = np.array(
        [[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 0], [0, 0, 0, 0]], np.uint8
    )
    np.testing.assert_array_equal(small, expected)


def test_oriented_rectangle_is_a_polygon() -> None:
    pts = ((5, 1), (9, 5), (5, 9), (1, 5))
    np.testing.assert_array_equal(
        draw(poly("wrinkle", *pts, kind="oriented_rectangle")), draw(poly("wrinkle", *pts))
    )


def test_rectangle_any_corner_order_inclusive() -> None:
    got = draw(poly("stain", (4.7, 3.9), (1.3, 1.2), kind="rectangle"))
    np.testing.assert_array_equal(got, box((12, 12), slice(1, 4), slice(1, 5), 3))


def test_circle_radius_is_rounded_distance() -> None:
    got = draw(poly("wrinkle", (5, 5), (7.6, 5), kind="circle"))
    ref = np.zeros((12, 12), np.uint8)
    cv2.circle(ref, (5, 5), 3, 1, -1)
    np.testing.assert_array_equal(got, ref)
    assert got[5, 8] == 1 and got[5, 9] == 0 and got[2, 5] == 1


def test_line_and_linestrip_are_open_and_line_width_wide() -> None:
    one = draw(poly("wrinkle", (0, 0), (5, 0), kind="line"))
    np.testing.assert_array_equal(one, box((12, 12), slice(0, 1), slice(0, 6)))
    strip = draw(poly("wrinkle", (1, 1), (5, 1), (5, 5), kind="linestrip"))
    assert strip[1, 3] == 1 and strip[3, 5] == 1 and strip[3, 3] == 0  # no closing diagonal
    assert np.count_nonzero(strip) == 9
    thick = draw(poly("thick", (2, 6), (8, 6), kind="line"), hw=(16, 16))
    ref = np.zeros((16, 16), np.uint8)
    cv2.polylines(ref, [np.array([[2, 6], [8, 6]], np.int32)], False, 4, 7, cv2.LINE_8)
    np.testing.assert_array_equal(thick, ref)  # cv2's thick line (round caps), as the authors drew
    assert np.count_nonzero(thick[:, 5]) >= 7


def test_draw_as_polyline_draws_polygons_open() -> None:
    got = draw(poly("scratch", (1, 1), (15, 1), (15, 15)), hw=(18, 18))
    assert got[1, 8] == 2 and got[8, 15] == 2 and got[3, 8] == 2  # both drawn edges, wide
    # Not filled, and the closing edge (15,15)->(1,1) is not drawn.
    assert got[6, 6] == got[8, 8] == got[10, 10] == got[8, 11] == 0


def test_shape_level_draw_as_overrides_the_class() -> None:
    pts = ((1, 1), (9, 1), (9, 9))
    filled = draw(poly("scratch", *pts, draw_as="fill"))
    np.testing.assert_array_equal(filled > 0, draw(poly("wrinkle", *pts)) > 0)
    outlined = draw(poly("wrinkle", *pts, draw_as="polyline"))
    assert outlined[5, 8] == 0 and outlined[1, 5] == 1
    with pytest.raises(ShapeError, match="draw_as"):
        draw(poly("wrinkle", *pts, draw_as="dotted"))


def test_draw_as_polyline_rectangle_and_circle_are_closed_outlines() -> None:
    rect = draw(poly("scratch", (2, 2), (9, 9), kind="rectangle"))
    assert rect[2, 5] == rect[9, 5] == rect[5, 2] == rect[5, 9] == 2 and rect[6, 6] == 0
    circle = draw(poly("scratch", (6, 6), (6, 2), kind="circle"))
    assert circle[2, 6] == 2 and circle[6, 6] == 0


def test_points_are_small_disks() -> None:
    ref = np.zeros((12, 12), np.uint8)
    cv2.circle(ref, (5, 5), POINT_RADIUS, 1, -1)
    np.testing.assert_array_equal(draw(poly("wrinkle", (5.5, 5.2), kind="point")), ref)
    two = draw(poly("wrinkle", (2, 2), (9, 9), kind="points"))
    assert two[2, 2] == two[9, 9] == 1 and two[5, 5] == 0
    wide = draw(poly("thick", (5, 5), kind="point"))  # radius grows with the class line width
    assert np.count_nonzero(wide) > np.count_nonzero(ref)


def test_mask_shape_is_pasted_at_its_top_left_and_clipped() -> None:
    bitmap = np.array([[1, 0, 1], [0, 1, 0]], dtype=bool)
    got = draw(make_mask_shape("stain", bitmap, 2, 3))
    expected = np.zeros((12, 12), np.uint8)
    expected[3:5, 2:5][bitmap] = 3
    np.testing.assert_array_equal(got, expected)
    corner = draw(make_mask_shape("stain", bitmap, 10, 11))  # partly outside: clipped
    assert corner[11, 10] == 3 and np.count_nonzero(corner) == 1
    broken = Shape(label="stain", points=((0, 0), (1, 1)), shape_type="mask", mask="not base64 png")
    with pytest.raises(ShapeError, match="stain"):
        draw(broken)


def test_draw_order_is_class_index_then_document_order() -> None:
    stain = poly("stain", (0, 0), (5, 0), (5, 5), (0, 5))
    wrinkle = poly("wrinkle", (3, 3), (8, 3), (8, 8), (3, 8))
    got = draw(stain, wrinkle)  # listed first, drawn last: class 3 overwrites class 1
    assert got[4, 4] == 3 and got[7, 7] == 1 and got[1, 1] == 3
    same_class = draw(poly("wrinkle", (0, 0), (2, 0), (2, 2)), poly("wrinkle", (6, 6), (8, 6), (8, 8)))
    assert same_class[1, 2] == 1 and same_class[7, 8] == 1  # union within a class


def test_unknown_labels_are_reported_together() -> None:
    with pytest.raises(UnknownLabelError) as info:
        draw(
            poly("dent", (0, 0), (1, 1), (0, 1)),
            poly("wrinkle", (0, 0), (1, 0), (1, 1)),
            poly("burr", (0, 0)),
        )
    assert info.value.labels == ("burr", "dent")
    assert isinstance(info.value, ValueError) and "burr" in str(info.value)


def test_unknown_shape_type_is_an_error() -> None:
    with pytest.raises(ShapeError, match="ellipse"):
        draw(poly("wrinkle", (0, 0), (3, 3), kind="ellipse"))


def test_clipping_and_far_outside_shapes() -> None:
    got = draw(poly("wrinkle", (-5, -5), (5, -5), (5, 5), (-5, 5)))
    np.testing.assert_array_equal(got, box((12, 12), slice(0, 6), slice(0, 6)))
    assert not draw(poly("wrinkle", (50, 50), (60, 50), (60, 60))).any()
    huge = draw(poly("wrinkle", (-1e12, -1e12), (1e12, -1e12), (1e12, 1e12), (-1e12, 1e12)))
    assert huge.all()


def test_rasterize_document_uses_its_size_unless_given() -> None:
    shapes = (poly("wrinkle", (1, 1), (4, 1), (4, 3)),)
    doc = Document(image_path="a.png", shapes=shapes, image_height=7, image_width=9)
    assert rasterize(doc, TABLE).shape == (7, 9)
    assert rasterize(doc, TABLE, (5, 6, 3)).shape == (5, 6)
    with pytest.raises(ValueError, match="image_shape"):
        rasterize(Document(image_path="a.png", shapes=shapes), TABLE)


# ------------------------------------------------------------------------------ mask check


def test_check_class_mask_accepts_argmax_and_bool_output_and_rejects_the_rest() -> None:
    strided = np.arange(24, dtype=np.int64).reshape(4, 6)[:, ::2] % 5  # int64, not contiguous
    got = check_class_mask(strided, 5)
    assert got.dtype == np.uint8 and got.flags.c_contiguous
    np.testing.assert_array_equal(got, strided)
    np.testing.assert_array_equal(check_class_mask(np.eye(3, dtype=bool), 2), np.eye(3, dtype=np.uint8))
    assert check_class_mask(np.zeros((0, 4), np.uint8), 1).shape == (0, 4)
    with pytest.raises(ValueError, match="2-D"):
        check_class_mask(np.zeros((2, 2, 3), np.uint8), 5)
    with pytest.raises(ValueError, match="uint8"):
        check_class_mask(np.zeros((2, 2), np.float32), 5)
    with pytest.raises(ValueError, match="uint8"):
        check_class_mask(np.full((2, 2), -1, np.int16), 5)
    with pytest.raises(ValueError, match="class 5"):
        check_class_mask(np.full((2, 2), 5, np.uint8), 5)
