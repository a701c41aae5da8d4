"""Issue 11, bug 5: what the widgets show, read from the rendered pixels and the widgets' state.

Layer buttons (the active one stands out), disabled verdict buttons greyed, class names written
out in the legend and the chart, the "N shapes added" notice leaving on the next edit, Both mode
drawing annotations as outlines over the filled prediction, and the batch dialog naming the model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from inspector_app.canvas import CanvasView
from inspector_app.core.annotations import Shape
from inspector_app.core.demo import demo_class_table
from inspector_app.editing import AnnotationSession
from inspector_app.services.review_log import ReviewSummary
from inspector_app.widgets.batch_dialog import BatchDialog
from inspector_app.widgets.legend import LegendPanel
from inspector_app.widgets.notice import NoticeBar
from inspector_app.widgets.summary_panel import SummaryPanel
from inspector_app.widgets.verdict_bar import VerdictBar

pytestmark = pytest.mark.gui

TABLE = demo_class_table()


def centre_colour(widget: QWidget) -> QColor:
    image: QImage = widget.grab().toImage()
    return image.pixelColor(image.width() // 2, image.height() // 4)


def saturation(color: QColor) -> int:
    return max(color.red(), color.green(), color.blue()) - min(color.red(), color.green(), color.blue())


def test_active_layer_button_stands_out(qtbot: QtBot) -> None:
    legend = LegendPanel()
    qtbot.addWidget(legend)
    legend.resize(320, 260)
    legend.show()
    QTest.mouseClick(legend.mode_buttons["annotation"], Qt.MouseButton.LeftButton)
    active = centre_colour(legend.mode_buttons["annotation"])
    others = [centre_colour(legend.mode_buttons[k]) for k in ("prediction", "both")]
    assert saturation(active) > 80  # filled with the accent colour
    assert all(saturation(c) < 20 for c in others)  # flat grey
    assert legend.mode_buttons["annotation"].font().bold() or active.blue() > 150


def test_disabled_verdict_buttons_are_grey(qtbot: QtBot) -> None:
    bar = VerdictBar()
    qtbot.addWidget(bar)
    bar.resize(320, 240)
    bar.show()
    assert saturation(centre_colour(bar.ok_button)) > 60
    bar.set_enabled_for_image(False)
    assert saturation(centre_colour(bar.ok_button)) < 20
    assert saturation(centre_colour(bar.ng_button)) < 20
    assert "press" not in bar.current.text()
    bar.set_enabled_for_image(True)
    assert saturation(centre_colour(bar.ng_button)) > 60
    assert "press O or N" in bar.current.text()


def test_legend_columns_hold_the_whole_class_names(qtbot: QtBot) -> None:
    legend = LegendPanel()
    qtbot.addWidget(legend)
    legend.resize(310, 260)
    legend.show()
    legend.set_classes(TABLE.classes[1:])
    legend.set_stats([(0, 0), (1234, 2), (45, 1), (30211, 3), (12, 4)], 640 * 480)
    metrics = legend.table.fontMetrics()
    header = legend.table.horizontalHeader()
    assert header.sectionSize(0) >= metrics.horizontalAdvance("contamination") + 30
    assert header.sectionSize(1) >= metrics.horizontalAdvance("30,211")
    assert header.sectionSize(2) >= metrics.horizontalAdvance("0.0039 %")
    assert legend.row_texts()[2][0] == "contamination"


def test_chart_names_classes_in_full(qtbot: QtBot) -> None:
    panel = SummaryPanel()
    qtbot.addWidget(panel)
    panel.resize(310, 230)
    panel.show()
    classes = [(c.label, c.name, c.color) for c in TABLE.classes[1:]]
    panel.set_summary(ReviewSummary(12, 7, 5, {"zang_wu": 4, "zhe_zhou": 3}, {}), classes)
    axis = panel.plot.getPlotItem().getAxis("left")
    ticks = [text for _pos, text in axis._tickLevels[0]]
    assert "contamination" in ticks and not any("…" in t for t in ticks)
    need = panel.plot.fontMetrics().horizontalAdvance("contamination") * 0.85
    qtbot.waitUntil(lambda: axis.width() >= need, timeout=2000)


def test_added_notice_goes_with_the_next_edit(qtbot: QtBot, tmp_path: Path) -> None:
    session = AnnotationSession(TABLE)
    session.open(tmp_path / "a.png", tmp_path / "a.json", (50, 60))
    notice = NoticeBar()
    qtbot.addWidget(notice)
    notice.follow_edits(session.shapes_changed)
    mask = np.zeros((50, 60), np.uint8)
    mask[10:20, 10:20] = 1
    ids = session.accept_prediction(mask)
    notice.show_message(f"{len(ids)} shape(s) added from the prediction", "info", until_edit=True)
    assert not notice.isHidden()
    session.move_shapes(ids, 2, 2)
    assert notice.isHidden()
    # An ordinary info notice is not taken down by edits.
    notice.show_message("saved", "info")
    session.move_shapes(ids, 1, 1)
    assert not notice.isHidden()


def test_both_mode_draws_annotations_as_outlines(qtbot: QtBot, tmp_path: Path) -> None:
    session = AnnotationSession(TABLE)
    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(500, 400)
    view.show()
    view.bind_session(session)
    image = np.full((100, 120, 3), 128, np.uint8)
    view.set_image(image)
    session.open(tmp_path / "a.png", tmp_path / "a.json", image.shape)
    session.add_shape(Shape("zhe_zhou", ((20.0, 20.0), (80.0, 20.0), (80.0, 80.0), (20.0, 80.0))))
    session.set_selection([])
    view.set_zoom(3.0)
    view.centerOn(60, 50)

    def inside() -> QColor:
        QApplication.processEvents()
        img = view.viewport().grab().toImage()
        p = view.mapFromScene(QPointF(50, 50))
        return img.pixelColor(p.x(), p.y())

    view.set_layer_mode("both")
    filled = inside()
    assert filled.red() > filled.green() + 20  # no prediction shown: the usual red fill
    mask = np.zeros((100, 120), np.uint8)
    mask[0:5, 0:5] = 1  # a prediction elsewhere: annotations become outlines
    view.set_prediction(mask, TABLE.palette())
    assert all(item.outline_only for item in view.shapes.items())
    plain = inside()
    assert abs(plain.red() - plain.green()) < 6  # no fill: the grey image shows
    view.set_outline_in_both(False)
    assert inside() == filled


def test_batch_dialog_names_the_model(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = BatchDialog(tmp_path / "model.onnx", tmp_path, model_name="aluminum_zhong")
    qtbot.addWidget(dialog)
    assert dialog.status.text() == "Model: aluminum_zhong"
    fallback = BatchDialog(tmp_path / "model.onnx", tmp_path)
    qtbot.addWidget(fallback)
    assert "model.onnx" not in fallback.status.text()


def test_settings_dialog_turns_outlines_off(qtbot: QtBot) -> None:
    from inspector_app.services.project import ProjectSettings
    from inspector_app.widgets.settings_dialog import SettingsDialog

    settings = ProjectSettings()
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.show()
    box = dialog.outline_in_both
    assert box.isChecked()
    on_indicator = QPoint(8, box.height() // 2)
    QTest.mouseClick(box, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, on_indicator)
    dialog.apply_to(settings)
    assert settings.outline_annotations_in_both is False
