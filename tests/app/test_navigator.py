"""Defect navigator with REAL mouse and key events: regions listed with class, area, box and mean
confidence; a click or Up/Down zooms the canvas to the region at 1:1 or more and frames it;
tiny regions carry a ring at fit zoom and lose it when zoomed in; stepping wraps around."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from inspector_app.canvas import CanvasView
from inspector_app.core.annotations import Shape
from inspector_app.core.classes import ClassTable
from inspector_app.core.demo import demo_class_table
from inspector_app.docks.defect_navigator import DefectNavigator
from inspector_app.editing import AnnotationSession

pytestmark = pytest.mark.gui

TABLE = demo_class_table()  # 1 wrinkling, 2 abrasion, 3 contamination, 4 pinhole
H, W = 480, 640


def centre_of_view(canvas: CanvasView) -> tuple[float, float]:
    p = canvas.mapToScene(canvas.viewport().rect().center())
    return (p.x(), p.y())


@pytest.fixture
def navigator(qtbot: QtBot, tmp_path: Path) -> tuple[DefectNavigator, CanvasView, AnnotationSession]:
    session = AnnotationSession(TABLE)
    canvas = CanvasView()
    qtbot.addWidget(canvas)
    canvas.resize(640, 480)
    canvas.show()
    canvas.bind_session(session)
    image = np.full((H, W, 3), 110, np.uint8)
    canvas.set_image(image)
    session.open(tmp_path / "part.png", tmp_path / "part.json", image.shape)
    nav = DefectNavigator(canvas, session)
    qtbot.addWidget(nav)
    nav.resize(420, 300)
    nav.show()
    mask = np.zeros((H, W), np.uint8)
    mask[100:160, 300:420] = 3  # contamination, 7,200 px
    mask[50:53, 40:43] = 4  # pinhole, 9 px
    mask[400:402, 600:602] = 4  # pinhole, 4 px
    conf = np.full((H, W), 0.7, np.float32)
    conf[50:53, 40:43] = 0.95
    nav.set_prediction(mask, conf)
    canvas.fit()
    return nav, canvas, session


def test_rows_carry_class_area_box_and_confidence(
    navigator: tuple[DefectNavigator, CanvasView, AnnotationSession],
) -> None:
    nav, _canvas, _session = navigator
    assert nav.row_texts() == [
        ("contamination", "pred", "7,200", "70 %", "300, 100, 120×60"),
        ("pinhole", "pred", "9", "95 %", "40, 50, 3×3"),
        ("pinhole", "pred", "4", "70 %", "600, 400, 2×2"),
    ]
    nav.sort_combo.setCurrentIndex(nav.sort_combo.findData("confidence_desc"))
    assert nav.row_texts()[0][2] == "9"
    assert "3 predicted regions" in nav.caption.text()


def test_click_zooms_to_the_region_and_keys_step(
    qtbot: QtBot, navigator: tuple[DefectNavigator, CanvasView, AnnotationSession]
) -> None:
    nav, canvas, _session = navigator
    assert canvas.zoom() < 1.0
    assert canvas.markers.tiny_count() == 2  # both pinholes ringed at fit zoom
    activated = []
    nav.region_activated.connect(activated.append)
    item = nav.table.item(1, 0)
    assert item is not None
    QTest.mouseClick(nav.table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     nav.table.visualItemRect(item).center())
    assert [r.bbox for r in activated] == [(40, 50, 3, 3)]
    assert canvas.zoom() >= 1.0
    assert centre_of_view(canvas) == pytest.approx((41.5, 51.5), abs=1.0)
    assert canvas.markers.tiny_count() == 0  # zoomed in: the pinhole speaks for itself
    assert canvas.markers._current == (40.0, 50.0, 3.0, 3.0)
    QTest.keyClick(nav.table, Qt.Key.Key_Down)
    assert activated[-1].bbox == (600, 400, 2, 2)
    assert centre_of_view(canvas) == pytest.approx((601.0, 401.0), abs=1.0)
    assert nav.next_region()  # wraps to the first
    assert activated[-1].label == "zang_wu" and canvas.zoom() >= 1.0
    assert nav.previous_region()
    assert activated[-1].bbox == (600, 400, 2, 2)


def test_annotations_too_and_no_prediction(
    navigator: tuple[DefectNavigator, CanvasView, AnnotationSession],
) -> None:
    nav, _canvas, session = navigator
    session.add_shape(Shape("zhe_zhou", ((10.0, 10.0), (30.0, 10.0), (30.0, 20.0), (10.0, 20.0))))
    nav.annotations_box.setChecked(True)
    assert ("wrinkling", "ann", "200", "", "10, 10, 20×10") in nav.row_texts()
    nav.set_prediction(None)
    assert [r[1] for r in nav.row_texts()] == ["ann"]
    nav.annotations_box.setChecked(False)
    assert nav.row_texts() == [] and nav.caption.text() == "No prediction"
    assert not nav.next_region()


def test_real_aluminium_pinholes(qtbot: QtBot, aluminum_dir: Path) -> None:
    """On a real part (image 118: contamination and a pinhole), the pinhole is found and ringed."""
    table = ClassTable.load(aluminum_dir / "classes.yaml")
    image = cv2.imread(str(aluminum_dir / "images" / "118.jpg"))
    mask = cv2.imread(str(aluminum_dir / "masks" / "118.png"), cv2.IMREAD_UNCHANGED)
    session = AnnotationSession(table)
    canvas = CanvasView()
    qtbot.addWidget(canvas)
    canvas.resize(640, 480)
    canvas.show()
    canvas.bind_session(session)
    canvas.set_image(image)
    nav = DefectNavigator(canvas, session)
    qtbot.addWidget(nav)
    nav.set_prediction(mask)
    canvas.fit()
    names = [row[0] for row in nav.row_texts()]
    assert "pinhole" in names and "contamination" in names
    assert canvas.markers.tiny_count() >= 1
    assert nav.go_to(names.index("pinhole")) and canvas.zoom() >= 1.0


def test_a_speckled_prediction_lists_only_the_largest(qtbot: QtBot, tmp_path: Path) -> None:
    from inspector_app.docks.defect_navigator import MAX_LISTED

    session = AnnotationSession(TABLE)
    canvas = CanvasView()
    qtbot.addWidget(canvas)
    canvas.set_image(np.zeros((H, W, 3), np.uint8))
    nav = DefectNavigator(canvas, session)
    qtbot.addWidget(nav)
    rng = np.random.default_rng(0)
    mask = ((rng.random((H, W)) < 0.3) * 4).astype(np.uint8)
    nav.set_prediction(mask)
    assert len(nav.regions) == MAX_LISTED == nav.table.rowCount()
    assert "largest of" in nav.caption.text()
    assert len(canvas.markers._regions) == MAX_LISTED
