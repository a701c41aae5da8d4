"""Label tags stay readable: no tag of a shape too small to see, no two tags on top of each other,
the shape under the mouse (or selected on its own) always named, predictions marked by style."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from inspector_app.canvas import CanvasView
from inspector_app.canvas.shape_item import ShapeItem
from inspector_app.canvas.tag_layout import TAG_MIN_PX
from inspector_app.commands import mark_prediction
from inspector_app.core.annotations import Shape
from inspector_app.core.classes import ClassTable
from inspector_app.editing import AnnotationSession

pytestmark = pytest.mark.gui

H, W = 480, 640
TABLE = ClassTable.from_labels(["contamination", "wrinkling"])


def _square(x: float, y: float, side: float, label: str = "contamination") -> Shape:
    pts = ((x, y), (x + side, y), (x + side, y + side), (x, y + side))
    return mark_prediction(Shape(label, pts))


@pytest.fixture
def view(qtbot: QtBot, tmp_path: Path) -> tuple[CanvasView, AnnotationSession]:
    session = AnnotationSession(TABLE)
    canvas = CanvasView()
    qtbot.addWidget(canvas)
    canvas.resize(780, 600)
    canvas.show()
    canvas.bind_session(session)
    image = np.full((H, W, 3), 110, np.uint8)
    canvas.set_image(image)
    session.open(tmp_path / "a.png", tmp_path / "a.json", image.shape)
    # A cluster of predicted specks (4-7 px) around a larger predicted region, as a model gives
    # for contamination, plus a wrinkle an annotator drew.
    shapes = [_square(300 + 9 * (i % 4), 200 + 9 * (i // 4), 4 + i % 4) for i in range(12)]
    shapes.append(_square(250, 150, 40))
    shapes.append(_square(292, 155, 30))  # beside the large one: its tag would overlap
    shapes.append(Shape("wrinkling", ((100.0, 300.0), (220.0, 310.0), (160.0, 360.0))))
    session.add_shapes(shapes)
    session.set_selection([])
    canvas.fit()
    return canvas, session


def _shown(canvas: CanvasView) -> list[ShapeItem]:
    return [item for item in canvas.shapes.items() if item.tag.isVisible()]


def _no_overlap(items: list[ShapeItem]) -> bool:
    rects = [item.tag_screen_rect() for item in items]
    return not any(a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1 :])


def test_small_shapes_have_no_tag_and_tags_never_overlap(view: tuple[CanvasView, AnnotationSession]) -> None:
    canvas, _session = view
    shown = _shown(canvas)
    assert all(item.screen_extent() >= TAG_MIN_PX for item in shown)
    assert _no_overlap(shown)
    labels = sorted(item.annotation.label for item in shown)
    assert labels == ["contamination", "wrinkling"]  # the large square's and the wrinkle's
    # Predictions are marked by the tag's style, not by a longer text.
    big = next(i for i in shown if i.annotation.label == "contamination")
    assert big.tag.text == TABLE.by_label("contamination").name and big.tag.dashed
    wrinkle = next(i for i in shown if i.annotation.label == "wrinkling")
    assert not wrinkle.tag.dashed


def test_zooming_in_names_more_shapes_without_overlap(view: tuple[CanvasView, AnnotationSession]) -> None:
    canvas, _session = view
    before = len(_shown(canvas))
    canvas.set_zoom(8.0)
    canvas.centerOn(315, 215)
    shown = _shown(canvas)
    assert len(shown) > before
    assert any(item.annotation.points[1][0] - item.annotation.points[0][0] < 8 for item in shown)
    assert _no_overlap(shown)


def test_hovered_and_single_selected_shapes_are_named(
    qtbot: QtBot, view: tuple[CanvasView, AnnotationSession]
) -> None:
    canvas, session = view
    specks = [item for item in canvas.shapes.items() if item.screen_extent() < TAG_MIN_PX]
    speck = specks[5]
    assert not speck.tag.isVisible()
    # Real mouse move over the speck: the select tool hovers it, its tag appears, and the
    # neighbours' tags that would cover it make room.
    x0, y0 = speck.annotation.points[0]
    x1, y1 = speck.annotation.points[2]
    QTest.mouseMove(canvas.viewport(), canvas.mapFromScene(QPointF((x0 + x1) / 2, (y0 + y1) / 2)))
    qtbot.waitUntil(lambda: speck.tag.isVisible(), timeout=2000)
    assert _no_overlap(_shown(canvas))
    QTest.mouseMove(canvas.viewport(), canvas.mapFromScene(QPointF(600, 450)))
    qtbot.waitUntil(lambda: not speck.tag.isVisible(), timeout=2000)
    # Selected on its own: named. Everything selected (as after Accept prediction): not a pile.
    session.set_selection([speck.shape_id])
    assert speck.tag.isVisible()
    session.set_selection([item.shape_id for item in canvas.shapes.items()])
    assert not speck.tag.isVisible() and _no_overlap(_shown(canvas))
