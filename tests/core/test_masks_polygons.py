"""Class masks -> polygons (core.polygons.mask_to_shapes) -> class masks again."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from inspector_app.core.classes import BACKGROUND_LABEL, ClassInfo, ClassTable
from inspector_app.core.masks import rasterize_shapes
from inspector_app.core.polygons import mask_to_shapes
from inspector_app.core.regions import defect_iou

TABLE = ClassTable(
    (
        ClassInfo(0, BACKGROUND_LABEL, "background", (0, 0, 0)),
        ClassInfo(1, "wrinkle", "wrinkle", (255, 0, 0)),
        ClassInfo(2, "scratch", "scratch", (0, 255, 0), line_width=3, draw_as="polyline"),
        ClassInfo(3, "stain", "stain", (0, 0, 255)),
        ClassInfo(4, "thick", "thick", (9, 9, 9), line_width=7),
    )
)


def box(hw: tuple[int, int], rows: slice, cols: slice, value: int = 1) -> np.ndarray:
    out = np.zeros(hw, dtype=np.uint8)
    out[rows, cols] = value
    return out


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
