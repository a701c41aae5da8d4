"""Raster edits of the session: brush, eraser, accepting a predicted mask (one undo step each)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector_app.commands import PREDICTION_FLAG, is_prediction
from inspector_app.core.annotations import Document, Shape
from inspector_app.core.classes import ClassTable
from inspector_app.core.masks import rasterize
from inspector_app.editing import AnnotationSession

pytestmark = pytest.mark.gui

H, W = 120, 160
TABLE = ClassTable.from_labels(["dent", "scratch"])  # dent = 1, scratch = 2


def _session(tmp_path: Path, table: ClassTable = TABLE) -> AnnotationSession:
    session = AnnotationSession(table)
    session.open(tmp_path / "a.png", tmp_path / "a.json", (H, W))
    return session


def _mask(session: AnnotationSession) -> np.ndarray:
    doc = session.document
    assert doc is not None
    return rasterize(Document("a.png", doc.shapes, H, W), session.class_table, (H, W))


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def test_brush_strokes_become_polygons_of_the_class_in_one_step(tmp_path: Path) -> None:
    session = _session(tmp_path)
    layer = np.zeros((H, W), np.uint8)
    cv2.circle(layer, (40, 50), 12, 1, -1)
    cv2.line(layer, (90, 20), (140, 90), 1, 7)
    assert session.commit_brush(layer, 2)
    assert session.undo_stack is not None and session.undo_stack.index() == 1
    shapes = session.document.shapes if session.document else ()
    assert len(shapes) == 2 and all(s.label == "scratch" and s.shape_type == "polygon" for s in shapes)
    assert not any(is_prediction(s) for s in shapes)
    assert _iou(_mask(session) == 2, layer > 0) > 0.97
    session.undo_stack.undo()
    assert session.shape_ids == ()


def test_brush_merges_with_the_touching_shape_of_its_class_only(tmp_path: Path) -> None:
    session = _session(tmp_path)
    square = session.add_shape(Shape("dent", ((20.0, 20.0), (60.0, 20.0), (60.0, 60.0), (20.0, 60.0))))
    far = session.add_shape(Shape("dent", ((100.0, 90.0), (120.0, 90.0), (120.0, 110.0))))
    other = session.add_shape(Shape("scratch", ((55.0, 30.0), (90.0, 30.0), (90.0, 50.0), (55.0, 50.0))))
    layer = np.zeros((H, W), np.uint8)
    layer[30:45, 55:85] = 1  # overlaps the dent square and the scratch box
    assert session.commit_brush(layer, 1)
    ids = session.shape_ids
    assert square not in ids and far in ids and other in ids
    dents = [s for s in session.state.shapes if s.label == "dent"]
    assert len(dents) == 2
    expected = np.zeros((H, W), bool)
    expected[20:61, 20:61] = True
    expected[30:45, 55:85] = True
    merged = rasterize(Document("a.png", (dents[0],), H, W), TABLE, (H, W)) == 1
    assert _iou(merged, expected) > 0.98
    assert session.state.shape(other).points[0] == (55.0, 30.0)  # another class is untouched


def test_eraser_cuts_a_polygon_in_two_and_undo_restores_it(tmp_path: Path) -> None:
    session = _session(tmp_path)
    sid = session.add_shape(Shape("dent", ((10.0, 40.0), (150.0, 40.0), (150.0, 80.0), (10.0, 80.0))))
    locked = session.add_shape(Shape("scratch", ((70.0, 0.0), (90.0, 0.0), (90.0, 119.0), (70.0, 119.0))))
    session.set_locked([locked], True)
    layer = np.zeros((H, W), np.uint8)
    layer[:, 75:85] = 1
    assert session.commit_brush(layer, 0, erase=True)
    dents = [s for s in session.state.shapes if s.label == "dent"]
    assert len(dents) == 2 and sid not in session.shape_ids
    assert locked in session.shape_ids and session.shape(locked).points[0] == (70.0, 0.0)
    dent = rasterize(Document("a.png", tuple(dents), H, W), TABLE, (H, W)) == 1
    assert not dent[:, 75:85].any()
    assert dent[40:81, 10:75].all() and dent[40:81, 85:151].all()
    assert session.undo_stack is not None
    session.undo_stack.undo()
    assert session.shape_ids == (sid, locked)


def test_nothing_painted_changes_nothing(tmp_path: Path) -> None:
    session = _session(tmp_path)
    assert not session.commit_brush(np.zeros((H, W), np.uint8), 1)
    assert session.undo_stack is not None and session.undo_stack.count() == 0


def test_accept_prediction_is_one_step_with_marked_shapes(tmp_path: Path) -> None:
    model_table = ClassTable.from_labels(["dent", "pit", "scratch"])  # another order than the session's
    session = _session(tmp_path)
    mask = np.zeros((H, W), np.uint8)
    cv2.circle(mask, (30, 30), 10, 1, -1)
    cv2.circle(mask, (100, 30), 6, 2, -1)
    cv2.rectangle(mask, (60, 70), (120, 100), 3, -1)
    cv2.circle(mask, (140, 110), 1, 3, -1)  # a pinhole must survive
    manual = session.add_shape(Shape("dent", ((1.0, 1.0), (5.0, 1.0), (5.0, 5.0))))
    ids = session.accept_prediction(mask, tolerance=1.0, class_table=model_table)
    assert len(ids) == 4
    assert session.undo_stack is not None and session.undo_stack.index() == 2
    labels = sorted(session.shape(i).label for i in ids)
    assert labels == ["dent", "pit", "scratch", "scratch"]
    assert all(session.shape(i).flags == {PREDICTION_FLAG: True} for i in ids)
    assert "pit" in session.class_table
    assert session.selection == frozenset(ids)
    session.undo_stack.undo()
    assert session.shape_ids == (manual,)
    session.undo_stack.redo()
    only_scratch = session.accept_prediction(mask, classes=[3], class_table=model_table)
    assert len(only_scratch) == 2  # replaced the unconfirmed ones of the first accept
    assert session.shape_ids == (manual, *only_scratch)
