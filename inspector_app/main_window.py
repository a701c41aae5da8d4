"""The station's main window: wires the file list, image loader, inference worker, canvas, annotation
session, review log and panels together. It holds no algorithms: every computation lives in core,
the jobs (threads) or the widgets.

Flow of one image: list selection -> autosave of the image left (if it has edits) -> the loader
decodes the image off the GUI thread (or hands it over from its prefetch cache) -> canvas + session
show it -> the inference worker predicts it (or the prediction cache answers) -> overlay, legend,
status bar. Results for an image the operator has already left are dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QStandardPaths, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QGroupBox,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from inspector_app.canvas import CanvasView
from inspector_app.core.classes import ClassInfo, ClassTable, ClassTableError
from inspector_app.editing import AnnotationSession
from inspector_app.filelist.model import FileListModel
from inspector_app.filelist.scanner import FolderScanner
from inspector_app.filelist.view import FileListPanel
from inspector_app.jobs.inference import InferenceService, PredictionResult
from inspector_app.jobs.loader import ImageLoader, LoadedImage
from inspector_app.services.project import Project, ProjectError
from inspector_app.services.review_log import ReviewError, ReviewRecord
from inspector_app.station.annotations import AnnotationsMixin
from inspector_app.station.dialogs import DialogsMixin
from inspector_app.station.navigation import NavigationMixin
from inspector_app.station.predictions import PredictionsMixin
from inspector_app.station.review import ReviewMixin
from inspector_app.widgets.batch_dialog import BatchDialog
from inspector_app.widgets.legend import LegendPanel
from inspector_app.widgets.model_picker import ModelPicker
from inspector_app.widgets.notice import NoticeBar
from inspector_app.widgets.station_actions import build_actions, build_menus, build_toolbar
from inspector_app.widgets.status_bar import StationStatusBar
from inspector_app.widgets.summary_panel import SummaryPanel
from inspector_app.widgets.verdict_bar import VerdictBar

APP_NAME = "Defect Inspector"


def _group(title: str, widget: QWidget) -> QGroupBox:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(8, 6, 8, 8)
    layout.addWidget(widget)
    return box


class MainWindow(NavigationMixin, PredictionsMixin, AnnotationsMixin, ReviewMixin, DialogsMixin):
    """The inspection station (signals: see :class:`inspector_app.station.base.StationBase`)."""

    def __init__(self, *, operator: str | None = None) -> None:
        super().__init__()
        self.setWindowTitle(APP_NAME)
        self.project: Project | None = None
        self._operator_override = operator
        self._reviews: dict[str, ReviewRecord] = {}
        self._current: LoadedImage | None = None
        self._current_name: str | None = None
        self._prediction: PredictionResult | None = None
        self._model_classes: tuple[ClassInfo, ...] | None = None
        self._batch_dialog: BatchDialog | None = None
        self._table_source = "none"
        self._remember_model = False
        self._filter_labels: dict[str, str] | None = None
        self._shut_down = False
        self._adopting_table = False
        self._request_started = 0.0
        #: Time (ms) from selecting an image to its prediction on screen (benchmarks read it).
        self.last_switch_ms: float | None = None

        # --- workers ------------------------------------------------------------------------
        self.inference = InferenceService(self)
        self.loader = ImageLoader(self)
        self.scanner = FolderScanner(self)
        self.session = AnnotationSession(parent=self)

        # --- widgets ------------------------------------------------------------------------
        self.list_model = FileListModel(parent=self)
        self.file_panel = FileListPanel(self.list_model, self)
        self.canvas = CanvasView(self)
        self.canvas.bind_session(self.session)
        self.notice = NoticeBar(self)
        self.model_picker = ModelPicker(self)
        self.verdict_bar = VerdictBar(self)
        self.legend = LegendPanel(self)
        self.summary = SummaryPanel(self)
        self.status = StationStatusBar(self)
        self.setStatusBar(self.status)

        center = QWidget(self)
        center_layout = QVBoxLayout(center)
        center_layout.setContentsMargins(0, 0, 0, 0)
        center_layout.setSpacing(4)
        center_layout.addWidget(self.notice)
        center_layout.addWidget(self.canvas, 1)

        side = QWidget(self)
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(4, 0, 4, 0)
        side_layout.addWidget(_group("Verdict", self.verdict_bar))
        side_layout.addWidget(_group("Prediction", self._stack(self.model_picker, self.legend)), 1)
        side_layout.addWidget(_group("Review summary", self.summary))
        side_scroll = QScrollArea(self)
        side_scroll.setWidget(side)
        side_scroll.setWidgetResizable(True)
        side_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        side_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        side_scroll.setMinimumWidth(330)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(self.file_panel)
        self.splitter.addWidget(center)
        self.splitter.addWidget(side_scroll)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setSizes([300, 760, 340])
        self.setCentralWidget(self.splitter)

        # --- actions ------------------------------------------------------------------------
        self.actions_ = build_actions(self)
        undo = self.session.undo_group.createUndoAction(self, "Undo")
        undo.setShortcuts([QKeySequence("Ctrl+Z")])
        redo = self.session.undo_group.createRedoAction(self, "Redo")
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.addAction(undo)
        self.addAction(redo)
        build_menus(self, self.actions_, undo, redo)
        self.toolbar = build_toolbar(self, self.actions_, undo, redo)

        self.autosave_timer = QTimer(self)
        self.autosave_timer.timeout.connect(self._on_autosave_timer)
        self._connect()
        self.verdict_bar.set_enabled_for_image(False)
        self.legend.set_classes(None)
        self.resize(1400, 860)

    @staticmethod
    def _stack(*widgets: QWidget) -> QWidget:
        holder = QWidget()
        layout = QVBoxLayout(holder)
        layout.setContentsMargins(0, 0, 0, 0)
        for w in widgets:
            layout.addWidget(w)
        return holder

    def _connect(self) -> None:
        a = self.actions_
        a.open_image.triggered.connect(self._choose_image)
        a.open_folder.triggered.connect(self._choose_folder)
        a.save.triggered.connect(self.save_current)
        a.export_csv.triggered.connect(self._choose_csv)
        a.predict_folder.triggered.connect(self.open_batch_dialog)
        a.quit.triggered.connect(self.close)
        a.accept_all.triggered.connect(lambda: self.accept_prediction(None))
        a.fit.triggered.connect(self.canvas.fit)
        a.zoom_1to1.triggered.connect(self.canvas.zoom_1to1)
        a.cycle_layer.triggered.connect(self.legend.cycle_layer_mode)
        a.next_image.triggered.connect(lambda: self.step(1))
        a.prev_image.triggered.connect(lambda: self.step(-1))
        a.next_unreviewed.triggered.connect(self.next_unreviewed)
        a.verdict_ok.triggered.connect(lambda: self.record_verdict("OK"))
        a.verdict_ng.triggered.connect(lambda: self.record_verdict("NG"))
        a.open_model.triggered.connect(self.model_picker.choose_file)
        a.model_card.triggered.connect(self.model_picker.show_card)
        a.focus_search.triggered.connect(self._focus_search)
        a.shortcuts_help.triggered.connect(self._show_shortcuts)
        a.settings.triggered.connect(self.edit_settings)
        for name, action in a.tools.items():
            action.triggered.connect(lambda _checked=False, n=name: self.canvas.set_tool(n))
        for name, action in a.layers.items():
            action.triggered.connect(lambda _checked=False, n=name: self.legend.set_layer_mode(n))
        self.canvas.tool_changed.connect(lambda n: a.tools[n].setChecked(True) if n in a.tools else None)
        self.canvas.cursor_moved.connect(self._on_cursor)

        self.scanner.listed.connect(self._on_listed)
        self.scanner.listing_done.connect(self._on_listing_done)
        self.scanner.scanned.connect(self._on_scanned)
        self.scanner.progress.connect(self.file_panel.set_scan_progress)
        self.scanner.failed.connect(lambda msg: self.notice.show_message(msg, "error"))
        self.file_panel.current_changed.connect(self._on_row_selected)
        self.loader.loaded.connect(self._show_loaded)

        self.inference.model_changed.connect(self._on_model_changed)
        self.inference.model_failed.connect(self._on_model_failed)
        self.inference.prediction_ready.connect(self._show_prediction)
        self.inference.prediction_failed.connect(self._on_prediction_failed)
        self.model_picker.open_requested.connect(lambda p: self.load_model(Path(p), remember=True))

        self.legend.opacity_changed.connect(self._on_opacity)
        self.legend.layer_mode_changed.connect(self._on_layer_mode)
        self.legend.visibility_changed.connect(lambda _visible: self._apply_class_visibility())

        self.verdict_bar.verdict_requested.connect(self.record_verdict)
        self.verdict_bar.next_unreviewed_requested.connect(self.next_unreviewed)
        self.verdict_bar.editing_finished.connect(self.canvas.setFocus)
        self.summary.export_requested.connect(self._choose_csv)

        self.session.dirty_changed.connect(self._on_dirty_changed)
        self.session.shapes_changed.connect(self._on_shapes_changed)
        self.session.labels_added.connect(self._on_labels_added)
        self.session.save_noticed.connect(self._on_session_save_noticed)
        self.session.class_table_changed.connect(self._on_class_table_changed)

    # ============================================================ project
    def open_path(self, path: str | Path) -> bool:
        """Open an image, a folder or a project folder. False (with a notice) when it cannot."""
        if not self._leave_project():
            return False
        try:
            project = Project.open(path)
        except ProjectError as exc:
            self.notice.show_message(str(exc), "error")
            return False
        self.project = project
        if self._operator_override:
            project.settings.operator = self._operator_override
        self._reviews = {}
        try:
            log = project.existing_review_log()
            if log is not None:
                self._reviews = log.latest()
        except ReviewError as exc:
            self.notice.show_message(str(exc), "error")
        for warning in project.warnings:
            self.notice.show_message(warning, "warning")
        self._current = None
        self._current_name = None
        self._prediction = None
        table, self._table_source = self._project_class_table(project)
        # Through class_table_changed this also joins a loaded model's classes to the table.
        self._use_class_table(table or ClassTable.from_labels([]))
        self.file_panel.forget_current()
        self.list_model.reset(project.root, self._reviews)
        self.file_panel.set_listing(True)
        self.verdict_bar.set_categories(project.categories())
        self._update_class_filters()
        self.legend.set_opacity(project.settings.overlay_opacity)
        self.legend.set_layer_mode(project.settings.layer_mode)
        self._restart_autosave()
        self.model_picker.start_dir = str(project.root)
        self._update_title()
        self._update_summary()
        self.scanner.start(project.root)
        return True

    def _project_class_table(self, project: Project) -> tuple[ClassTable | None, str]:
        """(table, source): the project's; else a ``classes.yaml`` at the folder root (as in the
        bundled demo and the datasets); else the model's; else none (labels met are added)."""
        if project.class_table is not None:
            return project.class_table, "project"
        root_yaml = project.root / "classes.yaml"
        if root_yaml.is_file():
            try:
                return ClassTable.load(root_yaml), "folder"
            except ClassTableError as exc:
                self.notice.show_message(f"Ignored {root_yaml.name}: {exc}", "warning")
        model = self.inference.model
        if model is not None:
            return model.class_table, "model"
        return None, "none"

    def _leave_project(self) -> bool:
        """Save every image with edits; False (nothing closed) when one cannot be saved."""
        if self.project is None:
            return True
        if not self._save_all_dirty():
            return False
        self.scanner.cancel()
        self.loader.cancel()
        self.inference.cancel_pending()
        self._save_view_settings()
        self.project.close()
        return True

    def _save_view_settings(self) -> None:
        project = self.project
        if project is None or not project.has_meta:
            return  # never create .inspector/ just for view settings
        try:
            project.save_settings()
        except ProjectError as exc:
            self.notice.show_message(str(exc), "warning")

    # ============================================================ view / misc
    def _on_opacity(self, value: float) -> None:
        self.canvas.set_overlay_opacity(value)
        if self.project is not None:
            self.project.settings.overlay_opacity = value

    def _on_layer_mode(self, mode: str) -> None:
        self.canvas.set_layer_mode(mode)
        action = self.actions_.layers.get(mode)
        if action is not None:
            action.setChecked(True)
        if self.project is not None:
            self.project.settings.layer_mode = mode

    def _on_cursor(self, pos: QPointF | None) -> None:
        loaded = self._current
        if pos is None or loaded is None or loaded.image is None:
            self.status.set_cursor(None, None)
            return
        x, y = int(pos.x()), int(pos.y())
        image = loaded.image
        if not (0 <= y < image.shape[0] and 0 <= x < image.shape[1]):
            self.status.set_cursor(None, None)
            return
        pixel: Any = image[y, x]
        value = str(int(pixel)) if np.ndim(pixel) == 0 else ",".join(str(int(v)) for v in pixel)
        class_name = ""
        if self._prediction is not None:
            index = int(self._prediction.mask[y, x])  # project indices (the class map applied)
            table = self.session.class_table
            class_name = table.by_index(index).name if index < len(table) else "?"
        self.status.set_cursor(x, y, class_name, value)

    def _update_class_filters(self) -> None:
        labels: dict[str, str] = {c.label: c.name for c in self.session.class_table.classes[1:]}
        model = self.inference.model
        if model is not None:
            for c in model.class_table.classes[1:]:
                labels.setdefault(c.label, c.name)
        if self._filter_labels != labels:
            self._filter_labels = labels
            self.file_panel.set_classes(list(labels.items()))

    def _update_title(self) -> None:
        parts = []
        if self._current_name:
            parts.append(f"{self._current_name}[*]")
        if self.project is not None:
            parts.append(self.project.root.name or str(self.project.root))
        parts.append(APP_NAME)
        self.setWindowTitle(" — ".join(parts))
        self.setWindowModified(self.session.is_dirty)

    # ============================================================ shutdown
    def closeEvent(self, event: QCloseEvent) -> None:
        """Save edits (refuse to close if that fails and the operator says so), stop the threads."""
        if self.project is not None and not self._save_all_dirty():
            answer = QMessageBox.question(
                self,
                "Unsaved annotations",
                "Some annotations could not be saved (see the message above the image). Quit anyway "
                "and lose those edits?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        self._save_view_settings()
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop every worker thread (idempotent)."""
        if self._shut_down:
            return
        self._shut_down = True
        self.autosave_timer.stop()
        if self._batch_dialog is not None and self._batch_dialog.job is not None:
            self._batch_dialog.job.cancel()
            self._batch_dialog.job.wait()
        self.scanner.shutdown()
        self.loader.shutdown()
        self.inference.shutdown()
        if self.project is not None:
            self.project.close()


def demo_copy(source: Path) -> Path:
    """A writable copy of the bundled demo (verdicts and edits never touch the installation)."""
    base = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation))
    target = base / "demo"
    if not target.is_dir():
        import shutil

        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source, target)
    return target
