"""Shapes -> class masks (every shape type, draw order, rules) and masks -> polygons -> masks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from inspector_app.core.annotations import Document, Shape, make_mask_shape
from inspector_app.core.classes import BACKGROUND_LABEL, ClassInfo, ClassTable
from inspector_app.core.masks import (
    POINT_RADIUS,
    RegionStats,
    ShapeError,
    UnknownLabelError,
    class_iou,
    defect_iou,
    fill_polygon,
    mask_to_shapes,
    rasterize,
    rasterize_shapes,
    region_stats,
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


# ---------------------------------------------------------------------------- mask_to_shapes


def round_trip(mask: np.ndarray, table: ClassTable = TABLE, **kw: object) -> np.ndarray:
    shapes = mask_to_shapes(mask, table, **kw)  # type: ignore[arg-type]
    return rasterize_shapes(shapes, table, mask.shape)


def test_square_becomes_four_integer_vertices_at_pixel_centres() -> None:
    mask = box((8, 8), slice(2, 5), slice(1, 6))
    (shape,) = mask_to_shapes(mask, TABLE, tolerance=0)
    assert shape.label == "wrinkle" and shape.shape_type == "polygon"
    assert sorted(shape.points) == [(1.0, 2.0), (1.0, 4.0), (5.0, 2.0), (5.0, 4.0)]
    np.testing.assert_array_equal(round_trip(mask), mask)


def test_hole_is_kept_in_one_polygon_without_a_visible_seam() -> None:
    mask = box((12, 12), slice(1, 10), slice(1, 10))
    mask[4:7, 4:7] = 0
    shapes = mask_to_shapes(mask, TABLE, tolerance=0)
    assert len(shapes) == 1
    np.testing.assert_array_equal(round_trip(mask, tolerance=0), mask)
    np.testing.assert_array_equal(round_trip(mask), mask)


def test_many_holes_stacked_pinholes_thin_walls_and_islands() -> None:
    mask = box((24, 24), slice(1, 23), slice(1, 23))
    mask[3, 3] = mask[3, 5] = 0  # 1 px pinholes side by side (1 px wall between them)
    mask[6:8, 10] = 0
    mask[9:11, 10] = 0  # stacked below another hole: its seam climbs into that hole's border
    mask[12:20, 4:20] = 0
    mask[14:18, 8:16] = 1  # an island inside the big hole: a region of its own
    mask[15:17, 11:13] = 0  # ... with a hole of its own
    mask[21, 21] = 0
    shapes = mask_to_shapes(mask, TABLE, tolerance=0)
    assert len(shapes) == 2
    np.testing.assert_array_equal(round_trip(mask, tolerance=0), mask)
    np.testing.assert_array_equal(round_trip(mask), mask)


def test_single_pixels_and_thin_lines_survive() -> None:
    mask = np.zeros((9, 9), np.uint8)
    mask[1, 1] = 1
    mask[3, 2:4] = 3
    mask[5:8, 7] = 1
    mask[7, 1] = 4
    mask[6, 2] = 4  # diagonal neighbour: same 8-connected region
    shapes = mask_to_shapes(mask, TABLE)
    assert all(len(s.points) >= 3 for s in shapes)  # LabelMe polygons need 3 points
    assert len(shapes) == 4
    np.testing.assert_array_equal(round_trip(mask), mask)


def test_polyline_classes_get_filled_outlines() -> None:
    mask = box((10, 10), slice(2, 7), slice(2, 8), 2)  # class 2 is drawn as polylines
    (shape,) = mask_to_shapes(mask, TABLE)
    assert shape.extra == {"draw_as": "fill"}
    np.testing.assert_array_equal(round_trip(mask), mask)
    (plain,) = mask_to_shapes(box((10, 10), slice(2, 7), slice(2, 8), 1), TABLE)
    assert plain.extra == {}


def test_tolerance_simplifies_but_keeps_the_region() -> None:
    mask = np.zeros((200, 200), np.uint8)
    cv2.circle(mask, (100, 100), 80, 3, -1)
    exact = mask_to_shapes(mask, TABLE, tolerance=0)
    coarse = mask_to_shapes(mask, TABLE, tolerance=1.0)
    assert len(coarse[0].points) < len(exact[0].points) / 2
    np.testing.assert_array_equal(round_trip(mask, tolerance=0), mask)
    assert defect_iou(round_trip(mask, tolerance=1.0), mask) >= 0.995
    assert defect_iou(round_trip(mask, tolerance=5.0), mask) >= 0.99  # the check retraces finer


def test_min_area_drops_specks_and_fills_small_holes() -> None:
    mask = box((20, 20), slice(2, 12), slice(2, 12))
    mask[15, 15] = 1  # speck
    mask[16:18, 3:5] = 1  # 4 px region
    mask[5, 5] = 0  # background pinhole
    mask[8, 8] = 3  # a stain speck inside the wrinkle: dropped, and the wrinkle closes over it
    mask[4:7, 8:11] = 3  # a 9 px stain: kept, and the wrinkle keeps its hole
    got = round_trip(mask, min_area=3)
    expected = mask.copy()
    expected[15, 15] = 0
    expected[5, 5] = expected[8, 8] = 1
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(round_trip(mask), mask)  # default min_area keeps everything


def test_min_area_never_fills_a_hole_holding_another_class() -> None:
    # The stain runs diagonally out of the wrinkle's 1 px hole at (4, 4): that hole is small, but
    # the stain region it holds is not a speck, so the wrinkle (drawn later) must not cover it.
    mask = box((10, 10), slice(1, 8), slice(1, 8))
    mask[4, 4] = 3
    mask[5:8, 5:8] = 0
    mask[5, 5] = mask[6, 6] = mask[7, 7] = mask[8, 8] = 3
    table = ClassTable.from_labels(["a_stain", "b_wrinkle"])
    remapped = np.choose(mask, [0, 2, 0, 1]).astype(np.uint8)  # stain -> 1, wrinkle -> 2
    got = round_trip(remapped, table, min_area=3)
    np.testing.assert_array_equal(got, remapped)


def test_classes_filter_and_order() -> None:
    mask = np.zeros((10, 10), np.uint8)
    mask[1:3, 1:3] = 3
    mask[5:7, 5:7] = 1
    mask[8:10, 0:2] = 1
    assert [s.label for s in mask_to_shapes(mask, TABLE)] == ["wrinkle", "wrinkle", "stain"]
    assert [s.label for s in mask_to_shapes(mask, TABLE, classes=["stain"])] == ["stain"]
    assert [s.label for s in mask_to_shapes(mask, TABLE, classes=[1, 0])] == ["wrinkle", "wrinkle"]
    with pytest.raises(KeyError):
        mask_to_shapes(mask, TABLE, classes=["dent"])


def test_mask_to_shapes_input_checks() -> None:
    assert mask_to_shapes(np.zeros((5, 5), np.uint8), TABLE) == []
    assert len(mask_to_shapes(np.ones((3, 3), bool), TABLE)) == 1
    assert len(mask_to_shapes(np.full((3, 3), 3, np.int64), TABLE)) == 1  # argmax output
    with pytest.raises(ValueError, match="2-D"):
        mask_to_shapes(np.zeros((2, 2, 3), np.uint8), TABLE)
    with pytest.raises(ValueError, match="class 7"):
        mask_to_shapes(np.full((2, 2), 7, np.uint8), TABLE)
    with pytest.raises(ValueError, match="tolerance"):
        mask_to_shapes(np.zeros((2, 2), np.uint8), TABLE, tolerance=-1)


@settings(max_examples=150, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 20), st.integers(1, 20)), elements=st.integers(0, 4)))
def test_round_trip_of_any_mask_is_exact_at_zero_tolerance(mask: np.ndarray) -> None:
    np.testing.assert_array_equal(round_trip(mask, tolerance=0), mask)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_round_trip_of_blobby_masks_at_default_tolerance(seed: int) -> None:
    rng = np.random.default_rng(seed)
    mask = np.zeros((64, 80), np.uint8)
    for _ in range(int(rng.integers(1, 6))):
        centre = (int(rng.integers(0, 80)), int(rng.integers(0, 64)))
        axes = (int(rng.integers(1, 30)), int(rng.integers(1, 30)))
        cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, int(rng.integers(0, 5)), -1)
    assert defect_iou(round_trip(mask), mask) >= 0.99


# ------------------------------------------------------------------------------ region_stats


def test_region_stats_counts_8_connected_regions_and_islands() -> None:
    mask = np.zeros((12, 12), np.uint8)
    mask[0, 0] = mask[1, 1] = 1  # diagonal: one region
    mask[11, 11] = 1
    mask[3:10, 3:10] = 3
    mask[5:8, 5:8] = 0
    mask[6, 6] = 3  # island in the stain's hole: a second stain region
    stats = region_stats(mask, 5)
    assert stats[1] == RegionStats(3, 2)
    assert stats[3] == RegionStats(49 - 9 + 1, 2)
    assert stats[2] == stats[4] == RegionStats(0, 0)
    assert stats[0].area_px == 144 - 3 - 41 and stats[0].regions == 0
    assert region_stats(np.zeros((0, 0), np.uint8), 3) == [RegionStats(0, 0)] * 3
    with pytest.raises(ValueError, match="class 4"):
        region_stats(np.full((2, 2), 4, np.uint8), 3)


def test_iou_helpers() -> None:
    a = np.array([[0, 1, 2, 2]], np.uint8)
    b = np.array([[0, 1, 1, 2]], np.uint8)
    assert defect_iou(a, b) == pytest.approx(2 / 3)
    assert defect_iou(a, b, exact_class=False) == 1.0
    assert defect_iou(np.zeros((2, 2)), np.zeros((2, 2))) == 1.0
    assert class_iou(a, b, 1) == pytest.approx(1 / 2)
    assert class_iou(a, b, 3) is None
