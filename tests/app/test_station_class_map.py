"""A model whose class order differs from the project's: everything on screen speaks the project's
class indices (overlay colours, legend, visibility, accept-prediction, list counts, review areas),
and the model's labels the project lacks are added to it with a notice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QColor

from inspector_app.commands import is_prediction
from inspector_app.core.classes import ClassInfo, ClassTable
from inspector_app.jobs.inference import InferenceService
from inspector_app.main_window import MainWindow
from inspector_app.services.class_map import ClassMap, ClassMapError, mapped_classes, missing_labels
from tests import onnx_factory
from tests.app.test_station_support import GREEN_BOX, RED_BOX, expected_mask, make_folder, write_labelme

pytestmark = pytest.mark.gui
WAIT_MS = 15_000

#: The project's table: red 1, green 2, blue 3, with the project's own names and colours.
PROJECT = ClassTable(
    (
        ClassInfo(0, "_background_", "background", (0, 0, 0)),
        ClassInfo(1, "red", "Rust", (250, 20, 20)),
        ClassInfo(2, "green", "Grime", (20, 250, 20)),
        ClassInfo(3, "blue", "Bruise", (20, 20, 250)),
    )
)
#: The model's table: another order, other colours, and a label the project lacks.
MODEL = ClassTable(
    (
        ClassInfo(0, "_background_", "background", (0, 0, 0)),
        ClassInfo(1, "blue", "model blue", (255, 255, 0)),
        ClassInfo(2, "dent", "model dent", (255, 0, 255)),
        ClassInfo(3, "red", "model red", (0, 255, 255)),
        ClassInfo(4, "green", "model green", (128, 128, 128)),
    )
)


def permuted_model(path: Path) -> Path:
    """A real ONNX model numbering classes as MODEL: logit of "red" = R, "green" = G, "blue" = B,
    "dent" never wins; so it predicts red on red pixels, under its own index 3."""
    weights = [[0, 0, 0], [0, 0, 1], [0, 0, 0], [1, 0, 0], [0, 1, 0]]
    model = onnx_factory.segmentation_model(weights, [0.5, 0, -10, 0, 0], size_multiple=32)
    card = onnx_factory.make_card(MODEL, 3, model_id="permuted-1", name="Permuted model")
    return onnx_factory.save_model(model, path, card)


# --- the map itself (no window) ----------------------------------------------------------------


def test_class_map_joins_by_label() -> None:
    grown, _ = PROJECT.with_labels(["dent"])
    assert missing_labels(MODEL, PROJECT) == ["dent"]
    with pytest.raises(ClassMapError, match="dent"):
        ClassMap.between(MODEL, PROJECT)
    cmap = ClassMap.between(MODEL, grown)
    assert not cmap.identity
    assert cmap.lut[:5].tolist() == [0, 3, 4, 1, 2]  # blue->3, dent->4, red->1, green->2
    assert cmap.num_classes == 5
    mask = np.array([[0, 1, 2], [3, 4, 0]], np.uint8)
    np.testing.assert_array_equal(cmap.apply(mask), [[0, 3, 4], [1, 2, 0]])
    assert [c.label for c in mapped_classes(MODEL, grown)] == ["red", "green", "blue", "dent"]
    assert ClassMap.between(MODEL, grown) == cmap and ClassMap.between(PROJECT, grown) != cmap
    same = ClassMap.between(PROJECT, grown)
    assert same.identity and same.apply(mask) is mask


def test_inference_service_applies_the_map(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from inspector_app.core.images import read_image
    from tests.app.test_station_support import make_image

    rgb = make_image(tmp_path / "a.png")
    image = read_image(tmp_path / "a.png")
    service = InferenceService()
    try:
        with qtbot.waitSignal(service.model_changed, timeout=WAIT_MS):
            service.load_model(permuted_model(tmp_path / "m.onnx"))
        with qtbot.waitSignal(service.prediction_ready, timeout=WAIT_MS) as raw:
            service.predict("a", image)
        y0, _y1, x0, _x1 = RED_BOX
        assert raw.args[0].mask[y0, x0] == 3 and raw.args[0].class_map_key == ""
        grown, _ = PROJECT.with_labels(["dent"])
        assert service.set_class_map(ClassMap.between(MODEL, grown))
        assert service.cached("a") is None  # numbered the model's way: not served any more
        with qtbot.waitSignal(service.prediction_ready, timeout=WAIT_MS) as mapped:
            service.predict("a", image)
        result = mapped.args[0]
        np.testing.assert_array_equal(result.mask, expected_mask(rgb))  # project order = red 1, green 2
        assert result.stats[1] == (375, 1) and result.stats[2] == (200, 1) and result.stats[4] == (0, 0)
        assert service.predict("a", image) is result  # cached with its map
        assert not service.set_class_map(ClassMap.between(MODEL, grown))  # same numbering: kept
        assert service.cached("a") is result
    finally:
        service.shutdown()


# --- the station ---------------------------------------------------------------------------------


@pytest.fixture
def win(qtbot, tmp_path: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    root = tmp_path / "project"
    make_folder(root, 3)
    PROJECT.save(root / "classes.yaml")  # the folder's table, as in the demo and the datasets
    write_labelme(root / "img_0.json", ["red", "green"], "img_0.png")
    window = MainWindow(operator="tester")
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    with qtbot.waitSignal(window.model_settled, timeout=WAIT_MS):
        window.station.prediction.load_model(permuted_model(tmp_path / "permuted.onnx"))
    with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
        assert window.open_path(root)
    qtbot.waitUntil(lambda: window.station.prediction.mask is not None, timeout=WAIT_MS)
    yield window
    window.shutdown()


def _overlay_colour(window: MainWindow, box: tuple[int, int, int, int]) -> QColor:
    """The canvas pixel at the centre of ``box`` (y0, y1, x0, x1), overlay only, fully opaque."""
    y0, y1, x0, x1 = box
    canvas = window.canvas
    point = canvas.mapFromScene((x0 + x1) / 2, (y0 + y1) / 2)
    return canvas.viewport().grab().toImage().pixelColor(point)


def test_model_labels_missing_from_the_project_are_added(win: MainWindow) -> None:
    table = win.station.annotation.session.class_table
    assert table.labels == ("_background_", "red", "green", "blue", "dent")
    assert [c.color for c in table.classes[1:4]] == [(250, 20, 20), (20, 250, 20), (20, 20, 250)]
    assert win.station.navigation.project is not None and win.station.navigation.project.class_table == table
    assert (win.station.navigation.project.root / ".inspector" / "classes.yaml").is_file()
    assert "dent" in win.notice.text() and win.notice.level == "warning"


def test_prediction_overlay_and_legend_speak_project_indices(qtbot, win: MainWindow) -> None:  # type: ignore[no-untyped-def]
    mask = win.station.prediction.mask
    assert mask is not None
    y0, y1, x0, x1 = RED_BOX
    np.testing.assert_array_equal(mask[y0:y1, x0:x1], 1)  # the project's "red"
    y0, y1, x0, x1 = GREEN_BOX
    np.testing.assert_array_equal(mask[y0:y1, x0:x1], 2)
    # Legend: the model's classes with the project's names, in the project's order.
    rows = win.legend.row_texts()
    assert [r[0] for r in rows] == ["Rust", "Grime", "Bruise", "dent"]
    assert rows[0][1] == "375" and rows[1][1] == "200" and rows[2][1] == "0"
    # The overlay is coloured with the project's colours (those of the shapes), not the model's.
    win.legend.set_layer_mode("prediction")
    win.legend.set_opacity(1.0)
    win.canvas.fit()
    qtbot.wait(50)
    assert _overlay_colour(win, RED_BOX) == QColor(250, 20, 20)
    assert _overlay_colour(win, GREEN_BOX) == QColor(20, 250, 20)
    # Hiding the project's "red" hides the red overlay AND the red shapes, nothing else.
    win.legend.set_class_visible(1, False)
    qtbot.wait(50)
    assert _overlay_colour(win, RED_BOX) != QColor(250, 20, 20)
    assert _overlay_colour(win, GREEN_BOX) == QColor(20, 250, 20)
    win.legend.set_layer_mode("annotation")
    shown = {item.annotation.label: item.isVisible() for item in win.canvas.shapes.items()}
    assert shown == {"red": False, "green": True}
    # A label typed now (a new class) is not hidden by the legend's choice.
    win.station.annotation.session.set_selection(
        [i.shape_id for i in win.canvas.shapes.items() if i.annotation.label == "green"]
    )
    win.station.annotation.session.set_label(win.station.annotation.session.selection, "scratch")
    shown = {item.annotation.label: item.isVisible() for item in win.canvas.shapes.items()}
    assert shown == {"red": False, "scratch": True}


def test_accept_prediction_labels_by_the_project_table(qtbot, win: MainWindow) -> None:  # type: ignore[no-untyped-def]
    menu = win.actions_.accept_menu
    assert menu is not None
    texts = [a.text() for a in menu.actions()]
    assert texts == ["Rust (red)", "Grime (green)", "Bruise (blue)", "dent (dent)"]
    menu.actions()[0].trigger()  # "red" only
    predicted = [s for s in win.station.annotation.session.state.shapes if is_prediction(s)]
    assert [s.label for s in predicted] == ["red"]
    assert win.station.accept_prediction(None) == 2
    predicted = [s for s in win.station.annotation.session.state.shapes if is_prediction(s)]
    boxes = {s.label: np.array(s.points) for s in predicted}
    assert set(boxes) == {"red", "green"}
    y0, y1, x0, x1 = RED_BOX
    pts = boxes["red"]
    assert x0 - 1 <= pts[:, 0].min() and pts[:, 0].max() <= x1 + 1
    assert y0 - 1 <= pts[:, 1].min() and pts[:, 1].max() <= y1 + 1
    y0, y1, x0, x1 = GREEN_BOX
    pts = boxes["green"]
    assert x0 - 1 <= pts[:, 0].min() and pts[:, 0].max() <= x1 + 1


def test_review_areas_list_counts_and_cursor_use_labels(qtbot, win: MainWindow) -> None:  # type: ignore[no-untyped-def]
    entry = win.station.navigation.current_entry()
    assert entry is not None and entry.predicted == {"red": 1, "green": 1}
    canvas = win.canvas
    qtbot.mouseMove(canvas.viewport(), canvas.mapFromScene(10.5, 10.5))  # inside the red patch
    qtbot.waitUntil(lambda: "Rust" in win.status.cursor_label.text(), timeout=WAIT_MS)
    canvas.setFocus()
    record = win.review_mode.record_verdict("NG")
    assert record is not None
    assert dict(record.class_areas) == {"red": 375, "green": 200, "blue": 0, "dent": 0}


def test_a_model_opened_after_the_project_is_joined_too(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "project"
    make_folder(root, 2)
    PROJECT.save(root / "classes.yaml")
    window = MainWindow(operator="tester")
    qtbot.addWidget(window)
    window.show()
    try:
        with qtbot.waitSignal(window.image_shown, timeout=WAIT_MS):
            assert window.open_path(root)
        assert window.station.annotation.session.class_table.labels == PROJECT.labels
        with qtbot.waitSignal(window.prediction_shown, timeout=WAIT_MS):
            window.station.prediction.load_model(permuted_model(tmp_path / "permuted.onnx"))
        assert window.station.annotation.session.class_table.labels == (*PROJECT.labels, "dent")
        assert "dent" in window.notice.text()
        mask = window.station.prediction.mask
        assert mask is not None
        y0, _y1, x0, _x1 = RED_BOX
        assert mask[y0, x0] == PROJECT.index_of("red")
        assert [r[0] for r in window.legend.row_texts()] == ["Rust", "Grime", "Bruise", "dent"]
    finally:
        window.shutdown()
