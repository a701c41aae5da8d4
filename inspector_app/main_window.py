"""The station's main window: builds the :class:`Station` (the controllers) and the views, connects
the views to the controllers' signals and lays them out. No state of its own beyond the widgets
and no algorithms (docs/design.md, "Station architecture").

Flow of one image: list selection -> the annotation controller autosaves the image left ->
navigation decodes the new one off the GUI thread (or takes it from its prefetch cache) -> canvas
and annotation session show it -> prediction asks the inference worker (or its cache) -> overlay,
legend, status bar, review areas. Answers for an image the operator has already left are dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QPointF, QStandardPaths, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QMainWindow, QStackedWidget, QWidget

from inspector_app.canvas import CanvasView
from inspector_app.controllers.live import LiveController
from inspector_app.controllers.navigation import image_facts
from inspector_app.controllers.station import Station
from inspector_app.controllers.training import TrainingController
from inspector_app.docks.station_docks import add_labelme_actions, build_docks, extend_context_menu
from inspector_app.filelist.view import FileListPanel
from inspector_app.jobs.loader import LoadedImage
from inspector_app.modes import AnnotateMode, ModeHost, ReviewMode
from inspector_app.modes.live import LiveMode
from inspector_app.modes.training import TrainingMode
from inspector_app.services.project import Project
from inspector_app.widgets import station_dialogs as dialogs
from inspector_app.widgets.notice import NoticeBar
from inspector_app.widgets.prediction_panel import PredictionPanel
from inspector_app.widgets.station_actions import (
    build_actions,
    build_menus,
    build_mode_bar,
    build_toolbar,
    build_undo_redo,
    connect_view_actions,
)
from inspector_app.widgets.station_layout import build_splitter
from inspector_app.widgets.status_bar import StationStatusBar

APP_NAME = "Defect Inspector"


class MainWindow(QMainWindow):
    """The inspection station. Its controllers are ``window.station.navigation`` (project, file
    list, current image), ``.prediction``, ``.annotation``, ``.review`` and ``.batch``.

    Signals (screenshot mode, tests, benchmarks): ``image_shown(name)``, ``prediction_shown(name)``
    (also when the prediction failed), ``verdict_recorded(name, verdict)``, ``model_settled()``
    (a model load finished, either way); :attr:`last_switch_ms`.
    """

    image_shown = Signal(str)
    prediction_shown = Signal(str)
    verdict_recorded = Signal(str, str)
    model_settled = Signal()

    def __init__(self, *, operator: str | None = None) -> None:
        super().__init__()
        self.setWindowTitle(APP_NAME)
        self.canvas = CanvasView(self)
        self.station = Station(self.canvas.commit_pending, operator=operator, parent=self)
        for ours, theirs in (
            (self.image_shown, self.station.image_shown),
            (self.prediction_shown, self.station.prediction_shown),
            (self.verdict_recorded, self.station.verdict_recorded),  # before the review mode advances
            (self.model_settled, self.station.model_settled),
        ):
            theirs.connect(ours)
        self.canvas.bind_session(self.station.annotation.session)
        self.file_panel = FileListPanel(self.station.navigation.files, self)
        self.station.navigation.set_visible_order(self.file_panel.proxy)
        self.notice, self.status = NoticeBar(self), StationStatusBar(self)
        self.prediction_panel = PredictionPanel(self.station.prediction, self)
        self.legend = self.prediction_panel.legend
        self.setStatusBar(self.status)
        pages = QStackedWidget(self)
        self.setCentralWidget(build_splitter(self, self.file_panel, self.notice, self.canvas, pages))

        a = self.actions_ = build_actions(self)
        session = self.station.annotation.session
        undo, redo = build_undo_redo(self, session.undo_group)
        self.docks = build_docks(self, self.canvas, session)  # issue 11: Shapes and Defects docks
        self.shape_list, self.navigator = self.docks.shape_list, self.docks.navigator
        add_labelme_actions(self, a, self.canvas, session, self.docks, self.station)
        self.canvas.context_menu_extender = extend_context_menu(a)
        build_menus(self, a, undo, redo)
        self.toolbar = build_toolbar(self, a, undo, redo)
        self.modes = ModeHost(pages, build_mode_bar(self), self)
        s, panel = self.station, self.prediction_panel
        self.review_mode = ReviewMode(
            s.review, panel, (a.verdict_ok, a.verdict_ng), self.next_unreviewed, self._export
        )
        self.annotate_mode = AnnotateMode(
            s.annotation, s.prediction, panel, a.tools, a.accept_all, a.accept_menu, a.save
        )
        for mode in (self.review_mode, self.annotate_mode):  # Live and Training join here
            self.modes.add(mode)
        self.live_mode = LiveMode(LiveController(self), s, self.canvas)
        self.modes.add(self.live_mode)
        self.training = TrainingController(s.prediction, self)
        self.training_mode = TrainingMode(self.training, s.navigation, s.prediction, self.open_for_annotation)
        self.modes.add(self.training_mode)
        self._connect()
        self.resize(1400, 860)

    @property
    def last_switch_ms(self) -> float | None:
        """Time (ms) from selecting an image to its prediction on screen (benchmarks read it)."""
        return self.station.last_switch_ms

    def _connect(self) -> None:
        a, s = self.actions_, self.station
        nav, pred, ann = s.navigation, s.prediction, s.annotation
        panel, canvas, legend, status = self.file_panel, self.canvas, self.legend, self.status
        self.station.notice_posted.connect(self.notice.show_message)
        a.open_image.triggered.connect(lambda: self._open_chosen(dialogs.choose_image))
        a.open_folder.triggered.connect(lambda: self._open_chosen(dialogs.choose_folder))
        a.export_csv.triggered.connect(self._export)
        a.predict_folder.triggered.connect(self.open_batch_dialog)
        a.quit.triggered.connect(self.close)
        a.next_image.triggered.connect(lambda: self.step(1))
        a.prev_image.triggered.connect(lambda: self.step(-1))
        a.next_unreviewed.triggered.connect(self.next_unreviewed)
        a.open_model.triggered.connect(self.prediction_panel.model_picker.choose_file)
        a.model_card.triggered.connect(self.prediction_panel.model_picker.show_card)
        a.focus_search.triggered.connect(panel.search.setFocus)
        a.focus_search.triggered.connect(panel.search.selectAll)
        a.shortcuts_help.triggered.connect(lambda: dialogs.show_shortcuts(self, a))
        a.settings.triggered.connect(self.edit_settings)
        connect_view_actions(a, canvas, legend)
        canvas.cursor_moved.connect(self._on_canvas_cursor_moved)
        legend.opacity_changed.connect(lambda value: nav.remember_view(opacity=value))
        legend.layer_mode_changed.connect(lambda mode: nav.remember_view(layer_mode=mode))
        legend.visibility_changed.connect(lambda _visible: self._apply_class_visibility())
        self.review_mode.verdict_bar.editing_finished.connect(canvas.setFocus)
        panel.match_activated.connect(lambda _row: canvas.setFocus())
        panel.search_cleared.connect(canvas.setFocus)
        self.notice.follow_edits(ann.session.shapes_changed)  # "N shapes added" goes at the next edit
        ann.prediction_accepted.connect(self._on_annotation_prediction_accepted)
        pred.set_confidence(True)  # the navigator's Conf. column
        pred.overlay_changed.connect(lambda mask, _p: self.navigator.set_prediction(mask, pred.confidence))
        pred.prediction_cleared.connect(lambda: self.navigator.set_prediction(None))
        pred.model_loaded.connect(lambda _info: self.navigator.set_prediction(None))
        pred.background_progressed.connect(status.set_background_left)

        nav.project_opened.connect(self._on_navigation_project_opened)
        nav.listing_started.connect(lambda: panel.set_listing(True))
        nav.listing_progressed.connect(panel.set_scan_progress)
        nav.listing_finished.connect(self._on_navigation_listing_finished)
        nav.row_proposed.connect(panel.select_row)
        panel.current_changed.connect(nav.select_row)
        self.station.image_arrived.connect(self._on_station_image_arrived)
        self.station.image_unreadable.connect(self._on_station_image_unreadable)
        pred.model_loaded.connect(lambda info: status.set_model(info.name))
        pred.overlay_changed.connect(canvas.set_prediction)
        pred.model_state_changed.connect(status.set_model)
        pred.model_classes_changed.connect(lambda _classes: self._apply_class_visibility())
        pred.class_filters_changed.connect(panel.set_classes)
        ann.dirty_changed.connect(self.setWindowModified)
        ann.save_state_changed.connect(status.set_save_state)
        ann.class_table_changed.connect(lambda _table: self._apply_class_visibility())

    # ============================================================ operator commands
    def open_path(self, path: str | Path) -> bool:
        """Open an image, a folder or a project folder (see :meth:`Station.open_path`)."""
        return self.station.open_path(path)

    def set_no_model(self, message: str) -> None:
        """Run without predictions and say so."""
        self.prediction_panel.show_no_model()
        self.status.set_model("No model")
        self.notice.show_message(message, "warning")

    def step(self, delta: int) -> bool:
        """Next (+1) / previous (-1) image of the visible list."""
        moved = self.file_panel.step(delta)
        if not moved and self.station.navigation.files.rowCount():
            self.status.showMessage("End of the list" if delta > 0 else "Start of the list", 2000)
        return moved

    def next_unreviewed(self) -> bool:
        """Go to the next image without a verdict (wrapping around)."""
        found = self.file_panel.next_matching(lambda e: e.verdict is None)
        if not found:
            self.notice.show_message("Every image has a verdict.", "info")
        return found

    def edit_settings(self) -> None:
        """Edit ▸ Project settings: saved to ``.inspector/settings.json``."""
        project = self.station.navigation.project
        if project is not None and dialogs.edit_settings(self, project.settings):
            self.station.apply_settings()
            self.canvas.set_outline_in_both(project.settings.outline_annotations_in_both)

    def open_batch_dialog(self) -> None:
        """ "Predict folder": the batch dialog for the current model and folder."""
        model, project = self.station.prediction.model, self.station.navigation.project
        if model is None:
            self.notice.show_message("Load a model first (Model ▸ Open model…).", "warning")
            return
        root = project.root if project else Path.home()
        dialogs.show_batch_dialog(self, self.station.batch, model.path, root, model.name)

    # ============================================================ view slots
    def _open_chosen(self, choose: Callable[[QWidget, str], str]) -> None:
        project = self.station.navigation.project
        path = choose(self, str(project.root) if project is not None else "")
        if path:
            self.open_path(path)

    def _export(self) -> None:
        project = self.station.navigation.project
        path = dialogs.choose_csv(self, project.root / "review.csv") if project is not None else ""
        if path:
            self.station.review.export_csv(path)

    def _on_navigation_project_opened(self, project: Project) -> None:
        self.file_panel.forget_current()
        self.legend.set_opacity(project.settings.overlay_opacity)
        self.legend.set_layer_mode(project.settings.layer_mode)
        self.canvas.set_outline_in_both(project.settings.outline_annotations_in_both)
        self.prediction_panel.model_picker.start_dir = str(project.root)
        self._update_title()

    def _on_navigation_listing_finished(self, total: int) -> None:
        self.file_panel.set_listing(False)
        self.file_panel.set_scan_progress(0, total)
        if total == 0:
            self.status.set_no_image("No images")

    def _on_annotation_prediction_accepted(self, count: int) -> None:
        self.notice.show_message(
            f"{count} shape(s) added from the prediction (Ctrl+Z undoes).", until_edit=True
        )

    def _on_station_image_arrived(self, loaded: LoadedImage) -> None:
        assert loaded.image is not None
        self.navigator.set_prediction(None)
        self.canvas.set_prediction(None)
        self.canvas.set_image(loaded.display)
        self.status.set_image(loaded.name, *image_facts(loaded.image))
        self._update_title()

    def _on_station_image_unreadable(self, name: str) -> None:
        self.canvas.set_image(None)
        self.canvas.set_prediction(None)
        self.navigator.set_prediction(None)
        self.status.set_no_image(f"{name}: unreadable")

    def _apply_class_visibility(self) -> None:
        hidden = self.legend.hidden_classes()
        self.canvas.set_visible_classes(self.station.prediction.visible_classes(hidden))

    def _on_canvas_cursor_moved(self, pos: QPointF | None) -> None:
        x, y = (int(pos.x()), int(pos.y())) if pos is not None else (-1, -1)
        value = self.station.navigation.pixel_text(x, y)
        if value is None:
            self.status.set_cursor(None, None)
        else:
            self.status.set_cursor(x, y, self.station.prediction.class_name_at(x, y), value)

    def _update_title(self) -> None:
        name, project = self.station.navigation.current_name, self.station.navigation.project
        parts = [f"{name}[*]"] if name else []
        if project is not None:
            parts.append(project.root.name or str(project.root))
        self.setWindowTitle(" — ".join([*parts, APP_NAME]))
        self.setWindowModified(self.station.annotation.is_dirty)

    # ============================================================ shutdown
    def closeEvent(self, event: QCloseEvent) -> None:
        """Save edits (refuse to close if that fails and the operator says so), stop the threads."""
        if not self.station.close() and not dialogs.confirm_losing_edits(self):
            event.ignore()
            return
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop every worker thread and a running trainer (idempotent)."""
        self.training.shutdown()
        self.live_mode.live.shutdown()
        self.station.shutdown()

    def open_for_annotation(self, name: str) -> None:
        """Show image ``name`` of the project in Annotate mode (the Training mode's "annotate next")."""
        row = self.station.navigation.files.row_of(name)
        if row is not None:
            self.modes.switch("annotate")
            self.file_panel.select_row(row)  # clears a filter that hides it


def demo_copy(source: Path) -> Path:
    """A writable copy of the bundled demo (verdicts and edits never touch the installation)."""
    base = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation))
    target = base / "demo"
    if not target.is_dir():
        import shutil

        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source, target)
    return target
