"""Freehand polygons drawn with a real mouse drag, and copy/paste of shapes through the system
clipboard as labelme JSON (also text copied from a LabelMe file)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from inspector_app.canvas import CanvasView
from inspector_app.canvas.draw_tools import simplify_trace
from inspector_app.core.annotations import Shape
from inspector_app.core.classes import ClassTable
from inspector_app.editing import AnnotationSession
from inspector_app.editing.clipboard import shapes_to_text

pytestmark = pytest.mark.gui

TABLE = ClassTable.from_labels(["dent"])
LEFT = Qt.MouseButton.LeftButton
NO = Qt.KeyboardModifier.NoModifier
CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def canvas(qtbot: QtBot, tmp_path: Path) -> tuple[CanvasView, AnnotationSession]:
    session = AnnotationSession(TABLE)
    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(600, 450)
    view.show()
    view.bind_session(session)
    image = np.full((150, 200, 3), 100, np.uint8)
    view.set_image(image)
    session.open(tmp_path / "a.png", tmp_path / "a.json", image.shape)
    view.set_zoom(2.0)
    view.centerOn(100, 75)
    return view, session


def trace_circle(view: CanvasView, cx: float, cy: float, r: float, escape: bool = False) -> None:
    """Press, move around a circle in 80 steps, release (Esc before the release when asked)."""
    port = view.viewport()
    angles = [2 * math.pi * i / 80 for i in range(81)]
    points = [view.mapFromScene(QPointF(cx + r * math.cos(a), cy + r * math.sin(a))) for a in angles]
    QTest.mousePress(port, LEFT, NO, points[0])
    for p in points[1:]:
        QTest.mouseMove(port, p)
    if escape:
        QTest.keyClick(port, Qt.Key.Key_Escape)
    QTest.mouseRelease(port, LEFT, NO, points[-1])


def test_freehand_drag_becomes_one_simplified_polygon(canvas: tuple[CanvasView, AnnotationSession]) -> None:
    view, session = canvas
    view.set_tool("freehand")
    view.set_current_label("dent")
    trace_circle(view, 100, 75, 30)
    (sid,) = session.shape_ids
    shape = session.shape(sid)
    assert shape.shape_type == "polygon" and shape.label == "dent"
    assert 8 <= len(shape.points) < 60  # simplified, yet round
    area = abs(cv2.contourArea(np.asarray(shape.points, np.float32)))
    assert area == pytest.approx(math.pi * 30 * 30, rel=0.06)
    assert session.undo_stack is not None and session.undo_stack.count() == 1
    # Esc during the drag drops it; a click without a drag makes nothing.
    trace_circle(view, 40, 40, 10, escape=True)
    QTest.mouseClick(view.viewport(), LEFT, NO, view.mapFromScene(QPointF(150, 120)))
    assert session.shape_ids == (sid,)


def test_simplify_trace_rejects_a_line() -> None:
    assert simplify_trace([(0, 0), (5, 5), (10, 10), (5, 5.2)], 0.5) == ()
    square = [(0.0, 0.0), (5.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]
    assert len(simplify_trace(square, 0.5)) == 4


def test_ctrl_c_ctrl_v_use_the_system_clipboard(canvas: tuple[CanvasView, AnnotationSession]) -> None:
    view, session = canvas
    sid = session.add_shape(Shape("dent", ((10.0, 10.0), (40.0, 10.0), (25.0, 30.0)), group_id=4))
    QTest.keyClick(view.viewport(), Qt.Key.Key_C, CTRL)
    text = QGuiApplication.clipboard().text()
    assert json.loads(text)["shapes"][0]["group_id"] == 4
    QTest.keyClick(view.viewport(), Qt.Key.Key_V, CTRL)
    assert len(session.shape_ids) == 2 and session.shape(session.shape_ids[1]).group_id == 4
    assert session.shape_ids[0] == sid


def test_paste_text_copied_from_a_labelme_file(canvas: tuple[CanvasView, AnnotationSession]) -> None:
    view, session = canvas
    labelme_file = {
        "version": "5.4.1", "flags": {}, "imagePath": "x.jpg", "imageData": None,
        "imageHeight": 150, "imageWidth": 200,
        "shapes": [{"label": "scratch", "points": [[5, 5], [60, 40]], "group_id": None,
                    "description": "", "shape_type": "line", "flags": {}, "mask": None}],
    }
    QGuiApplication.clipboard().setText(json.dumps(labelme_file))
    QTest.keyClick(view.viewport(), Qt.Key.Key_V, CTRL)
    (sid,) = session.shape_ids
    assert session.shape(sid).shape_type == "line" and "scratch" in session.class_table
    # Text that is not shapes changes nothing.
    QGuiApplication.clipboard().setText("hello")
    QTest.keyClick(view.viewport(), Qt.Key.Key_V, CTRL)
    assert session.shape_ids == (sid,)
    assert shapes_to_text([]) == '{\n  "shapes": []\n}'
