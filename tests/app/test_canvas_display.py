"""What the canvas shows: every labelme shape type, the prediction overlay and its controls, 16-bit
images, zoom at the cursor, panning, cursor position. Pixels are read from the rendered viewport."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from inspector_app.canvas import CanvasView
from inspector_app.canvas.layers import image_levels, mask_levels
from inspector_app.core.annotations import encode_mask
from inspector_app.core.classes import ClassTable
from inspector_app.editing import AnnotationSession

pytestmark = pytest.mark.gui

H, W = 300, 400
GREY = (128, 128, 128)


@pytest.fixture
def view(qtbot: QtBot) -> CanvasView:
    canvas = CanvasView()
    qtbot.addWidget(canvas)
    canvas.resize(820, 620)
    canvas.show()
    canvas.set_image(np.full((H, W, 3), 128, np.uint8))
    canvas.set_zoom(2.0)
    canvas.centerOn(W / 2, H / 2)
    return canvas


def pixel(view: CanvasView, x: float, y: float) -> tuple[int, int, int]:
    image = view.viewport().grab().toImage()
    p = view.mapFromScene(QPointF(x, y))
    c = QColor(image.pixel(p.x(), p.y()))
    return (c.red(), c.green(), c.blue())


def towards(
    color: tuple[int, int, int], got: tuple[int, int, int], base: tuple[int, int, int] = GREY
) -> bool:
    """``got`` is clearly closer to ``color`` than ``base`` is."""
    dist = np.linalg.norm(np.subtract(got, color))
    return bool(dist < np.linalg.norm(np.subtract(base, color)) - 25)


def _shape(label: str, points: list[list[float]], kind: str, **extra: object) -> dict[str, object]:
    return {
        "label": label,
        "points": points,
        "group_id": None,
        "description": "",
        "shape_type": kind,
        "flags": {},
        **extra,
    }


def test_every_labelme_shape_type_is_drawn(view: CanvasView, tmp_path: Path) -> None:
    bitmap = np.zeros((20, 30), np.uint8)
    bitmap[5:15, 5:25] = 1
    shapes = [
        _shape("polygon", [[20, 20], [80, 20], [80, 70], [20, 70]], "polygon"),
        _shape("rectangle", [[100, 20], [160, 70]], "rectangle"),
        _shape("circle", [[220, 45], [245, 45]], "circle"),
        _shape("line", [[280, 20], [380, 20]], "line"),
        _shape("linestrip", [[20, 120], [80, 120], [80, 180]], "linestrip"),
        _shape("point", [[130, 150]], "point"),
        _shape("points", [[170, 130], [190, 170]], "points"),
        _shape("mask", [[220, 120], [249, 139]], "mask", mask=encode_mask(bitmap)),
        _shape("oriented_rectangle", [[300, 120], [360, 140], [350, 170], [290, 150]], "oriented_rectangle"),
    ]
    doc = {
        "version": "5.4.1",
        "flags": {},
        "shapes": shapes,
        "imagePath": "a.png",
        "imageData": None,
        "imageHeight": H,
        "imageWidth": W,
    }
    (tmp_path / "a.json").write_text(json.dumps(doc))
    labels = [str(s["label"]) for s in shapes]
    table = ClassTable.from_labels(labels)
    session = AnnotationSession(table)
    view.bind_session(session)
    session.open(tmp_path / "a.png", tmp_path / "a.json", (H, W))
    assert len(view.shapes.items()) == 9
    probes = {
        "polygon": (50, 45), "rectangle": (130, 45), "circle": (220, 45), "line": (330, 20),
        "linestrip": (80, 150), "point": (130, 150), "points": (190, 170), "mask": (234, 130),
        "oriented_rectangle": (325, 145),
    }  # fmt: skip
    for label, (x, y) in probes.items():
        color = table.by_label(label).color
        assert towards(color, pixel(view, x, y)), f"{label} is not drawn at {(x, y)}"
    assert pixel(view, 234, 121) == GREY  # the mask's transparent pixels show the image


def test_selected_shapes_show_handles(view: CanvasView, tmp_path: Path) -> None:
    session = AnnotationSession(ClassTable.from_labels(["dent"]))
    view.bind_session(session)
    session.open(tmp_path / "a.png", tmp_path / "a.json", (H, W))
    from inspector_app.core.annotations import Shape

    sid = session.add_shape(Shape("dent", ((100.0, 100.0), (200.0, 100.0), (150.0, 180.0))))
    assert pixel(view, 100, 100) == (255, 255, 255)  # white handle centre
    session.set_selection([])
    assert pixel(view, 100, 100) != (255, 255, 255)
    assert sid in session.shape_ids


def test_prediction_overlay_opacity_classes_and_layer_mode(view: CanvasView) -> None:
    mask = np.zeros((H, W), np.uint8)
    mask[50:100, 50:100] = 1
    mask[200:250, 300:350] = 2
    palette = [(0, 0, 0), (255, 0, 0), (0, 0, 255)]
    view.set_prediction(mask, palette)
    view.set_overlay_opacity(0.6)
    assert towards((255, 0, 0), pixel(view, 75, 75))
    assert towards((0, 0, 255), pixel(view, 325, 225))
    assert pixel(view, 150, 150) == GREY
    view.set_visible_classes({2})
    assert pixel(view, 75, 75) == GREY and towards((0, 0, 255), pixel(view, 325, 225))
    view.set_visible_classes(None)
    view.set_layer_mode("annotation")
    assert pixel(view, 75, 75) == GREY
    view.set_layer_mode("both")
    view.set_overlay_opacity(0.0)
    assert pixel(view, 75, 75) == GREY
    view.set_overlay_opacity(1.0)
    assert pixel(view, 75, 75) == (255, 0, 0)
    view.set_prediction(None)
    assert pixel(view, 75, 75) == GREY
    with pytest.raises(ValueError):
        view.set_layer_mode("nope")


def test_sixteen_bit_images_are_windowed_for_display(view: CanvasView) -> None:
    ramp = np.tile(np.linspace(1000, 3000, W).astype(np.uint16), (H, 1))
    view.set_image(ramp)
    left, mid, right = (pixel(view, x, 150)[0] for x in (20, 200, 380))
    assert left < 30 and right > 225 and left < mid < right


def test_wheel_zooms_at_the_cursor(view: CanvasView, qtbot: QtBot) -> None:
    port = view.viewport()
    anchor = view.mapFromScene(QPointF(120, 80))
    before = view.mapToScene(anchor)
    with qtbot.waitSignal(view.zoom_changed) as blocker:
        event = QWheelEvent(
            QPointF(anchor),
            QPointF(port.mapToGlobal(anchor)),
            QPoint(0, 0),
            QPoint(0, 240),
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(port, event)
    assert blocker.args == [pytest.approx(2.0 * 1.25**2)]
    after = view.mapToScene(anchor)
    assert abs(after.x() - before.x()) < 0.5 and abs(after.y() - before.y()) < 0.5
    view.fit()
    shown = view.mapToScene(port.rect()).boundingRect()
    assert shown.contains(QPointF(0, 0)) and shown.contains(QPointF(W, H))
    view.zoom_1to1()
    assert view.zoom() == 1.0


def test_middle_drag_and_space_drag_pan(view: CanvasView) -> None:
    port = view.viewport()
    centre = port.rect().center()
    start = view.mapToScene(centre)
    QTest.mousePress(port, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, centre)
    QTest.mouseMove(port, centre + QPoint(40, 20))
    QTest.mouseRelease(
        port, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, centre + QPoint(40, 20)
    )
    moved = view.mapToScene(centre)
    assert moved.x() == pytest.approx(start.x() - 20, abs=0.6) and moved.y() == pytest.approx(
        start.y() - 10, abs=0.6
    )
    QTest.keyPress(port, Qt.Key.Key_Space)
    QTest.mousePress(port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, centre)
    QTest.mouseMove(port, centre + QPoint(-40, 0))
    QTest.mouseRelease(
        port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, centre + QPoint(-40, 0)
    )
    QTest.keyRelease(port, Qt.Key.Key_Space)
    again = view.mapToScene(centre)
    assert again.x() == pytest.approx(moved.x() + 20, abs=0.6)


def test_cursor_moved_reports_image_coordinates_or_none(view: CanvasView) -> None:
    got: list[object] = []
    view.cursor_moved.connect(got.append)
    port = view.viewport()
    QTest.mouseMove(port, view.mapFromScene(QPointF(33.2, 44.7)))
    QTest.mouseMove(port, view.mapFromScene(QPointF(-30, 10)))
    first, second = got[-2:]
    assert isinstance(first, QPointF) and abs(first.x() - 33.2) < 0.6 and abs(first.y() - 44.7) < 0.6
    assert second is None


def test_pyramids_keep_tiny_defects_and_halve_images() -> None:
    mask = np.zeros((3000, 2500), np.uint8)
    mask[1777, 1333] = 4  # a one-pixel pinhole
    levels = mask_levels(mask)
    assert [lv.shape for lv in levels] == [(3000, 2500), (1500, 1250), (750, 625)]
    assert all(lv.max() == 4 for lv in levels)
    images = image_levels(np.zeros((3000, 2500), np.uint16))
    assert [im.shape for im in images] == [(3000, 2500, 3), (1500, 1250, 3), (750, 625, 3)]
    assert all(im.dtype == np.uint8 for im in images)


def test_brush_strokes_show_live_and_escape_drops_them(view: CanvasView, tmp_path: Path) -> None:
    session = AnnotationSession(ClassTable.from_labels(["dent"]))
    view.bind_session(session)
    session.open(tmp_path / "a.png", tmp_path / "a.json", (H, W))
    view.set_current_label("dent")
    view.set_tool("brush")
    view.set_brush_radius(5)
    port = view.viewport()
    QTest.mousePress(
        port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, view.mapFromScene(QPointF(100, 100))
    )
    QTest.mouseMove(port, view.mapFromScene(QPointF(160, 100)))
    QTest.mouseRelease(
        port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, view.mapFromScene(QPointF(160, 100))
    )
    dent = session.class_table.by_label("dent").color
    assert towards(dent, pixel(view, 130, 100)) and pixel(view, 130, 120) == GREY
    QTest.keyClick(port, Qt.Key.Key_Escape)
    assert pixel(view, 130, 100) == GREY and session.state.shapes == ()
