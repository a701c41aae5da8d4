"""The window's docks (Shapes, Defects), the labelme keys and the canvas's context-menu entries.

Construction and connections only, so that :mod:`inspector_app.main_window` stays a short list of
parts: :func:`build_docks` makes the two docks, :func:`add_labelme_actions` adds labelme's key
aliases and the new actions (freehand tool, F2, zoom, fit width, T, G/Shift+G) to the window's
:class:`~inspector_app.widgets.station_actions.StationActions` before its menus are built, and
:func:`extend_context_menu` adds the window's own entries (verdicts, accept all) to the canvas menu.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QWidget

from inspector_app.canvas import CanvasView
from inspector_app.controllers.station import Station
from inspector_app.docks.defect_navigator import DefectNavigator
from inspector_app.docks.shape_list import ShapeListPanel
from inspector_app.editing import AnnotationSession
from inspector_app.widgets.labelme_keys import add_aliases, build_new_actions
from inspector_app.widgets.station_actions import StationActions

#: Dock widths at the default window size: wide enough for the columns, narrow enough that the
#: canvas keeps most of the window.
DOCK_WIDTH = 250


@dataclass(frozen=True)
class StationDocks:
    """The docked panels and their docks."""

    shape_list: ShapeListPanel
    navigator: DefectNavigator
    shapes_dock: QDockWidget
    defects_dock: QDockWidget


def _dock(window: QMainWindow, title: str, name: str, widget: QWidget) -> QDockWidget:
    dock = QDockWidget(title, window)
    dock.setObjectName(name)
    dock.setWidget(widget)
    dock.setFeatures(
        QDockWidget.DockWidgetFeature.DockWidgetClosable | QDockWidget.DockWidgetFeature.DockWidgetMovable
    )
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    return dock


def build_docks(window: QMainWindow, canvas: CanvasView, session: AnnotationSession) -> StationDocks:
    """The "Shapes" (labelme's shape and label lists) and "Defects" (region navigator) docks,
    stacked as tabs on the right so that the canvas keeps its width."""
    shape_list = ShapeListPanel(session, canvas, window)
    navigator = DefectNavigator(canvas, session, window)
    shapes = _dock(window, "Shapes", "shapesDock", shape_list)
    defects = _dock(window, "Defects", "defectsDock", navigator)
    window.tabifyDockWidget(shapes, defects)
    shapes.raise_()
    window.resizeDocks([shapes], [DOCK_WIDTH], Qt.Orientation.Horizontal)
    return StationDocks(shape_list, navigator, shapes, defects)


def add_labelme_actions(
    window: QMainWindow,
    a: StationActions,
    canvas: CanvasView,
    session: AnnotationSession,
    docks: StationDocks,
    station: Station,
) -> dict[str, QAction]:
    """labelme's keys on the existing actions, and the new actions connected; they join
    ``a.tools`` (freehand), ``a.edit_extra`` and ``a.view_extra`` (menus, Help). Call before
    the menus, the tool bar and ``connect_view_actions`` are built."""
    add_aliases(lambda name: a.tools.get(name[6:]) if name.startswith("tools.") else getattr(a, name, None))
    new = build_new_actions(window)
    freehand = new["tool_freehand"]
    freehand.setText("Freehand")  # as short as the other tools' names (Annotate-mode buttons)
    freehand.setCheckable(True)
    freehand.setData("freehand")
    if a.tool_group is not None:
        a.tool_group.addAction(freehand)
    a.tools["freehand"] = freehand  # connect_view_actions drives the canvas and the check mark
    new["edit_label"].triggered.connect(lambda: canvas.edit_label(session.selection))
    new["zoom_in"].triggered.connect(lambda: canvas.zoom_by(1))
    new["zoom_out"].triggered.connect(lambda: canvas.zoom_by(-1))
    new["fit_width"].triggered.connect(canvas.fit_width)
    new["toggle_shapes"].triggered.connect(docks.shape_list.toggle_all_shapes)
    new["next_region"].triggered.connect(docks.navigator.next_region)
    new["previous_region"].triggered.connect(docks.navigator.previous_region)
    a.edit_extra.append(new["edit_label"])
    a.view_extra += [new[n] for n in ("zoom_in", "zoom_out", "fit_width", "toggle_shapes")]
    a.view_extra += [new["next_region"], new["previous_region"]]
    count = QAction("Count regions of every image", window)
    count.setObjectName("background_count")
    count.setCheckable(True)
    count.setChecked(station.background_counting)
    count.setStatusTip("Predict every listed image in the background for the list's region counts")
    count.toggled.connect(station.set_background_counting)
    a.view_extra.append(count)
    for dock, key in ((docks.shapes_dock, "Ctrl+Shift+L"), (docks.defects_dock, "Ctrl+Shift+R")):
        toggle = dock.toggleViewAction()
        toggle.setText(f"{dock.windowTitle()} panel")
        toggle.setShortcut(key)
        a.view_extra.append(toggle)
    return new


def extend_context_menu(a: StationActions) -> Callable[[QMenu, QPointF], None]:
    """The canvas menu's extender: the verdicts and "Accept prediction (all classes)" (each shown
    enabled only where its action is, e.g. the verdicts in Review mode with an image)."""

    def extend(menu: QMenu, _pos: QPointF) -> None:
        menu.addSeparator()
        for action in (a.accept_all, a.verdict_ok, a.verdict_ng):
            menu.addAction(action)

    return extend
