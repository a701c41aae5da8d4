"""The station's actions (with their keys), menus and tool bar. No behaviour: the window connects them.

Single-key shortcuts are window shortcuts, so they never fire while a text field has the focus.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from PySide6.QtCore import SignalInstance
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QUndoGroup
from PySide6.QtWidgets import QMainWindow, QMenu, QToolBar

from inspector_app.widgets.legend import LegendPanel
from inspector_app.widgets.toolbar_icons import ICON_NAMES, style_toolbar
from inspector_app.widgets.verdict_bar import NEXT_UNREVIEWED_KEY, NG_KEY, OK_KEY

#: (tool name, menu text, key). Tool names are the canvas's.
TOOL_ACTIONS = (
    ("select", "Select / edit", "V"),
    ("polygon", "Polygon", "P"),
    ("rectangle", "Rectangle", "R"),
    ("circle", "Circle", "C"),
    ("linestrip", "Line strip", "I"),
    ("line", "Line", "Shift+I"),
    ("point", "Point", "."),
    ("brush", "Brush", "B"),
    ("eraser", "Eraser", "E"),
)
#: Tools with a tool-bar button (all are in the Tools menu).
TOOLBAR_TOOLS = ("select", "polygon", "freehand", "rectangle", "linestrip", "brush", "eraser")
LAYER_ACTIONS = (("prediction", "Prediction only"), ("annotation", "Annotation only"), ("both", "Both"))


def _action(
    window: QMainWindow,
    text: str,
    keys: str | QKeySequence.StandardKey | None = None,
    tip: str = "",
    checkable: bool = False,
    alt_keys: tuple[str, ...] = (),
) -> QAction:
    action = QAction(text, window)
    sequences: list[QKeySequence] = []
    if isinstance(keys, QKeySequence.StandardKey):
        sequences = list(QKeySequence.keyBindings(keys))
    elif keys:
        sequences = [QKeySequence(keys)]
    sequences += [QKeySequence(k) for k in alt_keys]
    if sequences:
        action.setShortcuts(sequences)
    shown = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in sequences)
    action.setToolTip(f"{tip or text}" + (f"  ({shown})" if shown else ""))
    action.setStatusTip(tip or text)
    action.setCheckable(checkable)
    window.addAction(action)  # window-wide shortcut even when the menu bar is hidden
    return action


@dataclass
class StationActions:
    """Every action of the main window."""

    open_image: QAction
    open_folder: QAction
    save: QAction
    export_csv: QAction
    predict_folder: QAction
    quit: QAction
    accept_all: QAction
    fit: QAction
    zoom_1to1: QAction
    cycle_layer: QAction
    next_image: QAction
    prev_image: QAction
    next_unreviewed: QAction
    verdict_ok: QAction
    verdict_ng: QAction
    open_model: QAction
    model_card: QAction
    focus_search: QAction
    shortcuts_help: QAction
    settings: QAction
    tools: dict[str, QAction] = field(default_factory=dict)
    layers: dict[str, QAction] = field(default_factory=dict)
    tool_group: QActionGroup | None = None
    layer_group: QActionGroup | None = None
    accept_menu: QMenu | None = None
    #: Added by the window before the menus are built (labelme keys, dock toggles): listed in the
    #: Edit / View menus and, when they have keys, in Help ▸ Keyboard shortcuts.
    edit_extra: list[QAction] = field(default_factory=list)
    view_extra: list[QAction] = field(default_factory=list)


def build_actions(window: QMainWindow) -> StationActions:
    """Create the actions (not yet in menus)."""
    a = StationActions(
        open_image=_action(window, "Open image…", QKeySequence.StandardKey.Open, "Open one image"),
        open_folder=_action(window, "Open folder…", "Ctrl+Shift+O", "Open a folder or project folder"),
        save=_action(window, "Save annotations", QKeySequence.StandardKey.Save, "Save the LabelMe JSON"),
        export_csv=_action(window, "Export reviews as CSV…", "Ctrl+E", "Write the verdicts as CSV"),
        predict_folder=_action(
            window, "Predict folder…", "Ctrl+Shift+P", "Batch-predict a folder in the background"
        ),
        quit=_action(window, "Quit", QKeySequence.StandardKey.Quit),
        accept_all=_action(
            window,
            "Accept prediction (all classes)",
            "Ctrl+Return",
            "Turn the predicted mask into polygons (one undo step)",
        ),
        fit=_action(window, "Fit image", "F", "Show the whole image"),
        zoom_1to1=_action(window, "Actual pixels", "1", "One image pixel per screen pixel"),
        cycle_layer=_action(window, "Cycle layers", "L", "Prediction → annotation → both"),
        next_image=_action(window, "Next image", "D", "Next image of the list", alt_keys=("PgDown",)),
        prev_image=_action(window, "Previous image", "A", "Previous image of the list", alt_keys=("PgUp",)),
        next_unreviewed=_action(
            window, "Next unreviewed", NEXT_UNREVIEWED_KEY, "Next image without a verdict"
        ),
        verdict_ok=_action(window, "Verdict OK", OK_KEY, "Record the image as good"),
        verdict_ng=_action(window, "Verdict NG", NG_KEY, "Record the image as defective"),
        open_model=_action(window, "Open model…", "Ctrl+M", "Load an ONNX model"),
        model_card=_action(window, "Model card", None, "Classes, metrics and training of the model"),
        focus_search=_action(window, "Search images", QKeySequence.StandardKey.Find, "Search by name"),
        shortcuts_help=_action(window, "Keyboard shortcuts", "F1"),
        settings=_action(window, "Project settings…", None, "Operator, autosave, categories"),
    )
    a.tool_group = QActionGroup(window)
    for name, text, key in TOOL_ACTIONS:
        action = _action(window, text, key, f"{text} tool", checkable=True)
        action.setData(name)
        a.tool_group.addAction(action)
        a.tools[name] = action
    a.tools["select"].setChecked(True)
    a.layer_group = QActionGroup(window)
    for name, text in LAYER_ACTIONS:
        action = _action(window, text, None, f"Show {text.lower()}", checkable=True)
        action.setData(name)
        a.layer_group.addAction(action)
        a.layers[name] = action
    a.layers["both"].setChecked(True)
    return a


def build_menus(window: QMainWindow, a: StationActions, undo: QAction, redo: QAction) -> None:
    """Menu bar."""
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    for action in (
        a.open_image,
        a.open_folder,
        None,
        a.save,
        None,
        a.export_csv,
        a.predict_folder,
        None,
        a.quit,
    ):
        file_menu.addSeparator() if action is None else file_menu.addAction(action)
    edit = bar.addMenu("&Edit")
    edit.addAction(undo)
    edit.addAction(redo)
    edit.addSeparator()
    edit.addAction(a.accept_all)
    a.accept_menu = edit.addMenu("Accept prediction of one class")
    a.accept_menu.setEnabled(False)
    edit.addSeparator()
    for action in a.edit_extra:
        edit.addAction(action)
    edit.addAction(a.settings)
    tools = bar.addMenu("&Tools")
    for action in a.tools.values():
        tools.addAction(action)
    view = bar.addMenu("&View")
    for action in a.layers.values():
        view.addAction(action)
    view.addAction(a.cycle_layer)
    view.addSeparator()
    view.addAction(a.fit)
    view.addAction(a.zoom_1to1)
    view.addSeparator()
    for action in a.view_extra:
        view.addAction(action)
    nav = bar.addMenu("&Navigate")
    for action in (a.next_image, a.prev_image, a.next_unreviewed, a.focus_search):
        nav.addAction(action)
    review = bar.addMenu("&Review")
    for action in (a.verdict_ok, a.verdict_ng, a.next_unreviewed, a.export_csv):
        review.addAction(action)
    model = bar.addMenu("&Model")
    model.addAction(a.open_model)
    model.addAction(a.model_card)
    model.addAction(a.predict_folder)
    help_menu = bar.addMenu("&Help")
    help_menu.addAction(a.shortcuts_help)


def build_toolbar(window: QMainWindow, a: StationActions, undo: QAction, redo: QAction) -> QToolBar:
    """The main tool bar: files, undo, tools, accept, view; with icons. Undo/Redo and the tools are
    icon-only buttons (Undo/Redo of fixed width, so nothing shifts as the history text changes)."""
    bar = QToolBar("Main", window)
    bar.setObjectName("mainToolBar")
    bar.setMovable(False)
    for action in (a.open_folder, a.save, None, undo, redo, None):
        bar.addSeparator() if action is None else bar.addAction(action)
    tools = [a.tools[n] for n in TOOLBAR_TOOLS if n in a.tools]
    for action in tools:
        bar.addAction(action)
    bar.addSeparator()
    bar.addAction(a.accept_all)
    bar.addSeparator()
    bar.addAction(a.fit)
    bar.addAction(a.predict_folder)
    window.addToolBar(bar)
    icons = {a.open_folder: "open_folder", a.save: "save", undo: "undo", redo: "redo", a.fit: "fit"}
    icons |= {a.accept_all: "accept", a.predict_folder: "predict_folder"}
    icons |= {action: name for name, action in a.tools.items() if name in ICON_NAMES}
    style_toolbar(bar, icons, icon_only=(undo, redo, *tools))
    return bar


def shortcuts_text(a: StationActions) -> str:
    """HTML table of every action with a shortcut (Help ▸ Keyboard shortcuts)."""
    actions = [
        a.next_image, a.prev_image, a.next_unreviewed, a.verdict_ok, a.verdict_ng, a.save, a.accept_all,
        a.cycle_layer, a.fit, a.zoom_1to1, a.focus_search, a.open_model, a.predict_folder,
        *a.tools.values(), *a.edit_extra, *a.view_extra,
    ]  # fmt: skip
    rows = []
    for action in actions:
        if not action.shortcuts():
            continue
        keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts())
        rows.append(f"<tr><td style='padding-right:16px'><b>{keys}</b></td><td>{action.text()}</td></tr>")
    rows.append("<tr><td><b>Wheel / middle drag</b></td><td>zoom / pan the image</td></tr>")
    rows.append("<tr><td><b>Enter / Esc</b></td><td>finish / cancel a drawing</td></tr>")
    return "<table>" + "".join(rows) + "</table>"


class ActionCanvas(Protocol):
    """What the view actions drive of the canvas (:class:`inspector_app.canvas.CanvasView`; typed
    structurally so that this module does not import the canvas, which imports widgets)."""

    tool_changed: SignalInstance

    def fit(self) -> None: ...
    def zoom_1to1(self) -> None: ...
    def set_tool(self, name: str) -> None: ...
    def set_overlay_opacity(self, opacity: float) -> None: ...
    def set_layer_mode(self, mode: str) -> None: ...


def connect_view_actions(a: StationActions, canvas: ActionCanvas, legend: LegendPanel) -> None:
    """The actions that only drive views: tools, zoom, overlay layers (checked state follows)."""
    a.fit.triggered.connect(canvas.fit)
    a.zoom_1to1.triggered.connect(canvas.zoom_1to1)
    a.cycle_layer.triggered.connect(legend.cycle_layer_mode)
    for name, action in a.tools.items():
        action.triggered.connect(lambda _checked=False, n=name: canvas.set_tool(n))
    for name, action in a.layers.items():
        action.triggered.connect(lambda _checked=False, n=name: legend.set_layer_mode(n))
    canvas.tool_changed.connect(lambda n: a.tools[n].setChecked(True) if n in a.tools else None)
    legend.opacity_changed.connect(canvas.set_overlay_opacity)
    legend.layer_mode_changed.connect(canvas.set_layer_mode)
    legend.layer_mode_changed.connect(lambda m: a.layers[m].setChecked(True) if m in a.layers else None)


def build_undo_redo(window: QMainWindow, group: QUndoGroup) -> tuple[QAction, QAction]:
    """Undo (Ctrl+Z) and Redo (Ctrl+Shift+Z, Ctrl+Y) of the active image's stack, window-wide."""
    undo = group.createUndoAction(window, "Undo")
    undo.setShortcuts([QKeySequence("Ctrl+Z")])
    redo = group.createRedoAction(window, "Redo")
    redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    window.addAction(undo)
    window.addAction(redo)
    return undo, redo


def build_mode_bar(window: QMainWindow) -> QToolBar:
    """The tool bar holding the mode switches and the active mode's actions."""
    bar = window.addToolBar("Modes")
    bar.setObjectName("modeToolBar")
    bar.setMovable(False)
    return bar
