"""Screenshots of the issue-11 widgets on a real aluminium part (offscreen; needs no display).

    python docs/screenshots/make_widget_screenshots.py [--datasets ../shared/datasets] [--image 118]

Uses image ``118`` of the aluminium set (a stain and a pinhole), its mask as the prediction (with
made-up confidences) and its LabelMe file, copied to a temporary folder (nothing is written to the
dataset). The class table gets example flags. Writes into this folder:

* ``widgets_shapes_navigator.png``: canvas in Both mode (annotations outlined over the filled
  prediction, the pinhole ringed at fit zoom), shape list dock with its editor, defect navigator;
* ``widgets_navigator_zoomed.png``: after stepping to the pinhole (zoomed, framed);
* ``widgets_context_menu.png``: right click on the stain;
* ``widgets_legend_summary_toolbar.png``: layer buttons, legend, chart and tool bar.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PySide6.QtCore import QPointF, QTimer  # noqa: E402
from PySide6.QtGui import QAction, QColor, QContextMenuEvent, QPainter, QPixmap, QUndoCommand, QUndoStack  # noqa: E402
from PySide6.QtWidgets import QApplication, QHBoxLayout, QMainWindow, QToolBar, QVBoxLayout, QWidget  # noqa: E402

from inspector_app.app import apply_style, create_application  # noqa: E402
from inspector_app.canvas import CanvasView  # noqa: E402
from inspector_app.core.classes import ClassTable  # noqa: E402
from inspector_app.docks.defect_navigator import DefectNavigator  # noqa: E402
from inspector_app.docks.shape_list import ShapeListPanel  # noqa: E402
from inspector_app.editing import AnnotationSession  # noqa: E402
from inspector_app.services.review_log import ReviewSummary  # noqa: E402
from inspector_app.widgets.legend import LegendPanel  # noqa: E402
from inspector_app.widgets.summary_panel import SummaryPanel  # noqa: E402
from inspector_app.widgets.toolbar_icons import style_toolbar  # noqa: E402

OUT = Path(__file__).resolve().parent


def _table(path: Path) -> ClassTable:
    table = ClassTable.load(path)
    classes = tuple(
        replace(c, flags=("through_hole",)) if c.label == "zhen_kong" else c for c in table.classes
    )
    flags = {"image_flags": ("blurry", "needs_second_look"), "shape_flags": ("occluded",)}
    return replace(table, classes=classes, **flags)  # type: ignore[arg-type]


def _station_parts(app: QApplication, data: Path, name: str, work: Path) -> None:
    table = _table(data / "classes.yaml")
    image = cv2.cvtColor(cv2.imread(str(data / "images" / f"{name}.jpg")), cv2.COLOR_BGR2RGB)
    mask = cv2.imread(str(data / "masks" / f"{name}.png"), cv2.IMREAD_UNCHANGED)
    cv2.imwrite(str(work / f"{name}.jpg"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    shutil.copy(data / "labelme" / f"{name}.json", work / f"{name}.json")
    session = AnnotationSession(table)
    window = QWidget()
    canvas = CanvasView()
    shapes = ShapeListPanel(session, canvas)
    navigator = DefectNavigator(canvas, session)
    layout = QHBoxLayout(window)
    layout.addWidget(canvas, 5)
    layout.addWidget(shapes, 2)
    layout.addWidget(navigator, 3)
    window.resize(1500, 640)
    window.show()
    canvas.bind_session(session)
    canvas.set_image(image)
    session.open(work / f"{name}.jpg", work / f"{name}.json", image.shape)
    canvas.set_prediction(mask, table.palette())
    canvas.set_overlay_opacity(0.55)
    canvas.set_layer_mode("both")
    rng = np.random.default_rng(1)
    confidence = (np.clip(0.55 + 0.4 * rng.random(mask.shape), 0, 1) * 255).astype(np.uint8)
    navigator.set_prediction(mask, confidence)
    navigator.annotations_box.setChecked(True)
    first = session.shape_ids[-1]
    session.set_selection([first])
    session.set_shape_fields(
        [first], group_id=1, description="near the stain", set_flags={"through_hole": True}
    )
    app.processEvents()
    canvas.fit()
    app.processEvents()
    window.grab().save(str(OUT / "widgets_shapes_navigator.png"))
    pinhole = next(i for i, r in enumerate(navigator.regions) if r.label == "zhen_kong")
    navigator.go_to(pinhole)
    app.processEvents()
    window.grab().save(str(OUT / "widgets_navigator_zoomed.png"))
    canvas.fit()
    app.processEvents()

    def grab_menu() -> None:
        menu = canvas.context_menu
        assert menu is not None
        base, popup, at = canvas.grab(), menu.grab(), canvas.mapFromGlobal(menu.pos())
        size = (max(base.width(), at.x() + popup.width()), max(base.height(), at.y() + popup.height()))
        sheet = QPixmap(*size)
        sheet.fill(QColor(37, 37, 40))
        painter = QPainter(sheet)
        painter.drawPixmap(0, 0, base)
        painter.drawPixmap(at, popup)
        painter.end()
        sheet.save(str(OUT / "widgets_context_menu.png"))
        menu.close()

    QTimer.singleShot(100, grab_menu)
    left = min(session.shape(session.shape_ids[0]).points, key=lambda p: p[0])
    local = canvas.mapFromScene(QPointF(left[0] + 6, left[1]))
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, local, canvas.viewport().mapToGlobal(local))
    QApplication.sendEvent(canvas.viewport(), event)


def _panels(app: QApplication, data: Path) -> None:
    table = ClassTable.load(data / "classes.yaml")
    window = QMainWindow()
    bar = QToolBar("Main", window)
    window.addToolBar(bar)
    stack = QUndoStack(window)
    undo, redo = stack.createUndoAction(window, "Undo"), stack.createRedoAction(window, "Redo")
    icons: dict[QAction, str] = {}
    for icon, text in (("open_folder", "Open folder"), ("save", "Save annotations")):
        action = QAction(text, window)
        bar.addAction(action)
        icons[action] = icon
    bar.addActions([undo, redo])
    tools = []
    for icon in ("select", "polygon", "freehand", "rectangle", "linestrip", "brush", "eraser"):
        action = QAction(icon.capitalize(), window)
        action.setCheckable(True)
        action.setChecked(icon == "polygon")
        bar.addAction(action)
        icons[action] = icon
        tools.append(action)
    for icon, text in (("accept", "Accept prediction (all classes)"), ("fit", "Fit image")):
        action = QAction(text, window)
        bar.addAction(action)
        icons[action] = icon
    icons[undo], icons[redo] = "undo", "redo"
    style_toolbar(bar, icons, icon_only=(undo, redo, *tools))
    stack.push(QUndoCommand("Delete 5 shapes"))
    side = QWidget()
    column = QVBoxLayout(side)
    legend, summary = LegendPanel(), SummaryPanel()
    column.addWidget(legend)
    column.addWidget(summary)
    legend.set_classes(table.classes[1:])
    legend.set_stats([(0, 0), (1234, 2), (45, 1), (30211, 3), (12, 4)], 640 * 480)
    legend.set_layer_mode("annotation")
    summary.set_summary(
        ReviewSummary(12, 7, 5, {"zhe_zhou": 3, "zang_wu": 4, "zhen_kong": 1}, {}),
        [(c.label, c.name, c.color) for c in table.classes[1:]],
    )
    window.setCentralWidget(side)
    window.resize(1000, 560)
    window.show()
    app.processEvents()
    window.grab().save(str(OUT / "widgets_legend_summary_toolbar.png"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=REPO.parent / "shared" / "datasets")
    parser.add_argument("--image", default="118")
    args = parser.parse_args()
    data = args.datasets / "aluminum"
    if not data.is_dir():
        print(f"{data}: the aluminium set is not there (--datasets)", file=sys.stderr)
        return 2
    app = create_application()
    apply_style(app)
    with tempfile.TemporaryDirectory() as tmp:
        _station_parts(app, data, args.image, Path(tmp))
        _panels(app, data)
    print(f"screenshots written to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
