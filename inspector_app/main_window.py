"""The station's main window: wires the file list, image loader, inference worker, canvas, annotation
session, review log and panels together. It holds no algorithms: every computation lives in core,
the jobs (threads) or the widgets.

Flow of one image: list selection -> autosave of the image left (if it has edits) -> the loader
decodes the image off the GUI thread (or hands it over from its prefetch cache) -> canvas + session
show it -> the inference worker predicts it (or the prediction cache answers) -> overlay, legend,
status bar. Results for an image the operator has already left are dropped.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from inspector_app.canvas import CanvasView
from inspector_app.core.classes import ClassTable, ClassTableError
from inspector_app.editing import AnnotationSession, SaveError
from inspector_app.filelist.entries import FileEntry, ScanResult
from inspector_app.filelist.model import FileListModel
from inspector_app.filelist.scanner import FolderScanner
from inspector_app.filelist.view import FileListPanel
from inspector_app.jobs.inference import InferenceService, ModelInfo, PredictionResult
from inspector_app.jobs.loader import ImageLoader, LoadedImage
from inspector_app.project import Project, ProjectError, annotation_path
from inspector_app.review import ReviewError, ReviewRecord, content_hash, summarize
from inspector_app.widgets.batch_dialog import BatchDialog
from inspector_app.widgets.legend import LegendPanel
from inspector_app.widgets.model_picker import ModelCardDialog, ModelPicker
from inspector_app.widgets.notice import NoticeBar
from inspector_app.widgets.settings_dialog import SettingsDialog
from inspector_app.widgets.station_actions import build_actions, build_menus, build_toolbar, shortcuts_text
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


class MainWindow(QMainWindow):
    """The inspection station. Signals (for screenshot mode, tests and benchmarks):
    ``image_shown(name)``, ``prediction_shown(name)``, ``verdict_recorded(name, verdict)``,
    ``model_settled()`` (a model load finished, either way)."""

    image_shown = Signal(str)
    prediction_shown = Signal(str)
    verdict_recorded = Signal(str, str)
    model_settled = Signal()

    def __init__(self, *, operator: str | None = None) -> None:
        super().__init__()
        self.setWindowTitle(APP_NAME)
        self.project: Project | None = None
        self._operator_override = operator
        self._reviews: dict[str, ReviewRecord] = {}
        self._current: LoadedImage | None = None
        self._current_name: str | None = None
        self._prediction: PredictionResult | None = None
        self._model_default = False  # the model came from the defaults (not saved in settings)
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
        side_scroll.setMinimumWidth(330)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(self.file_panel)
        self.splitter.addWidget(center)
        self.splitter.addWidget(side_scroll)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setSizes([270, 800, 340])
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
        self.legend.visibility_changed.connect(self.canvas.set_visible_classes)

        self.verdict_bar.verdict_requested.connect(self.record_verdict)
        self.verdict_bar.next_unreviewed_requested.connect(self.next_unreviewed)
        self.verdict_bar.editing_finished.connect(self.canvas.setFocus)
        self.summary.export_requested.connect(self._choose_csv)

        self.session.dirty_changed.connect(self._on_dirty_changed)
        self.session.labels_added.connect(self._on_labels_added)
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
        table, self._table_source = self._project_class_table(project)
        self._use_class_table(table or ClassTable.from_labels([]))
        self._current = None
        self._current_name = None
        self._prediction = None
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

    # ============================================================ file list
    def _on_listed(self, names: list[str]) -> None:
        first_chunk = self.list_model.rowCount() == 0
        self.list_model.append_names(names)
        if first_chunk and self.file_panel.current_row() is None:
            row = 0
            project = self.project
            if project is not None and project.initial_image is not None:
                found = self.list_model.row_of(project.relative(project.initial_image))
                row = found if found is not None else 0
            self.file_panel.select_row(row)

    def _on_listing_done(self, total: int) -> None:
        self.file_panel.set_listing(False)
        self.file_panel.set_scan_progress(0, total)
        if total == 0 and self.project is not None:
            self.notice.show_message(f"No images in {self.project.root}", "warning")
            self.status.set_no_image("No images")
        self._update_summary()

    def _on_scanned(self, results: list[ScanResult]) -> None:
        self.list_model.apply_scans(results)
        if self._current_name is not None:
            # The open image: the session knows better than the file on disk.
            self.list_model.set_dirty(self._current_name, self.session.is_dirty)
        self._update_class_filters()

    def step(self, delta: int) -> bool:
        """Next (+1) / previous (-1) image of the visible list."""
        moved = self.file_panel.step(delta)
        if not moved and self.list_model.rowCount():
            self.status.showMessage("End of the list" if delta > 0 else "Start of the list", 2000)
        return moved

    def next_unreviewed(self) -> bool:
        """Go to the next image without a verdict (wrapping around)."""
        found = self.file_panel.next_matching(lambda e: e.verdict is None)
        if not found:
            self.notice.show_message("Every image has a verdict.", "info")
        return found

    def current_entry(self) -> FileEntry | None:
        """The list entry of the image on screen."""
        row = self.file_panel.current_row()
        return self.list_model.entry(row) if row is not None else None

    def _on_row_selected(self, row: int) -> None:
        if self.project is None:
            return
        self._autosave_leaving()
        entry = self.list_model.entry(row)
        path = self.project.root / entry.name
        self._request_started = time.perf_counter()
        self._current_name = entry.name
        self._current = None
        self._prediction = None
        self.scanner.prioritize(entry.name)
        self.inference.cancel_pending()
        loaded = self.loader.request(entry.name, path)
        if loaded is not None:
            self._show_loaded(loaded)
        else:
            self.status.set_image(entry.name + " (loading…)", 0, 0)

    def _prefetch_neighbours(self) -> None:
        row = self.file_panel.current_row()
        if row is None or self.project is None:
            return
        proxy = self.file_panel.proxy
        proxy_row = proxy.proxy_row(row)
        items = []
        for delta in (1, 2, -1):
            r = proxy_row + delta
            if proxy_row >= 0 and 0 <= r < proxy.rowCount():
                name = self.list_model.entry(proxy.source_row(r)).name
                items.append((name, self.project.root / name))
        self.loader.prefetch(items)

    def _next_loaded(self) -> LoadedImage | None:
        """The next visible image if the loader already decoded it."""
        row = self.file_panel.current_row()
        proxy = self.file_panel.proxy
        if row is None or self.project is None:
            return None
        r = proxy.proxy_row(row) + 1
        if not 0 < r < proxy.rowCount():
            return None
        name = self.list_model.entry(proxy.source_row(r)).name
        return self.loader.cache.get(str(self.project.root / name))

    # ============================================================ image + annotations
    def _show_loaded(self, loaded: LoadedImage) -> None:
        if loaded.name != self._current_name or self.project is None:
            return  # the operator moved on
        if loaded.error is not None or loaded.image is None or loaded.display is None:
            self.list_model.set_image_error(loaded.name, loaded.error)
            self.canvas.set_image(None)
            self.canvas.set_prediction(None)
            self.legend.clear_stats("Image not readable")
            self.status.set_no_image(f"{loaded.name}: unreadable")
            self.notice.show_message(f"Cannot read {loaded.name}: {loaded.error}", "error")
            self._current = None
            self.verdict_bar.set_enabled_for_image(False)
            return
        self._current = loaded
        image = loaded.image
        self.canvas.set_prediction(None)
        self.canvas.set_image(loaded.display)
        self.session.open(loaded.path, annotation_path(loaded.path), image.shape)
        if self.session.unreadable:
            self.list_model.set_annotation(loaded.name, {}, error=self.session.unreadable)
            self.notice.show_message(
                f"The annotation file of {loaded.name} is unreadable (it will not be overwritten): "
                f"{self.session.unreadable}",
                "error",
            )
        channels = 1 if image.ndim == 2 else int(image.shape[2])
        height, width = int(image.shape[0]), int(image.shape[1])
        self.status.set_image(loaded.name, height, width, str(image.dtype), channels)
        self.verdict_bar.set_enabled_for_image(True)
        self.verdict_bar.set_current(self._reviews.get(loaded.name))
        self._update_title()
        self._prefetch_neighbours()
        self.image_shown.emit(loaded.name)
        self._request_prediction()

    def _request_prediction(self) -> None:
        loaded = self._current
        model = self.inference.model
        if loaded is None or loaded.image is None:
            return
        if model is None:
            self.legend.clear_stats("No model loaded")
            return
        result = self.inference.predict(loaded.image_id, loaded.image)
        if result is not None:
            self._show_prediction(result)
        else:
            self.legend.clear_stats("Predicting…")
            self.status.set_model(model.name, state="predicting…")

    def _show_prediction(self, result: PredictionResult) -> None:
        loaded = self._current
        model = self.inference.model
        if loaded is None or model is None or result.image_id != loaded.image_id:
            return
        if result.model_id != model.model_id:
            return
        self._prediction = result
        self.canvas.set_prediction(result.mask, model.class_table.palette())
        h, w = result.mask.shape
        self.legend.set_stats(result.stats, int(h * w))
        self.status.set_model(model.name, result.elapsed_ms)
        labels = model.class_table.labels
        regions = {labels[i]: r for i, (_a, r) in enumerate(result.stats) if i > 0 and r}
        self.list_model.set_predicted(loaded.name, regions)
        self.last_switch_ms = (time.perf_counter() - self._request_started) * 1e3
        self.prediction_shown.emit(loaded.name)
        upcoming = self._next_loaded()
        if upcoming is not None and upcoming.image is not None:
            self.inference.prefetch(upcoming.image_id, upcoming.image)

    def _on_prediction_failed(self, image_id: str, reason: str) -> None:
        if self._current is not None and image_id == self._current.image_id:
            self.legend.clear_stats("Prediction failed")
            self.notice.show_message(f"Prediction failed for {self._current.name}: {reason}", "error")
            self.prediction_shown.emit(self._current.name)

    def save_current(self) -> bool:
        """Ctrl+S: save the open image's annotations; on failure say why and keep the edits."""
        if self.session.image_path is None:
            return False
        self.canvas.commit_pending()
        try:
            self.session.save()
        except SaveError as exc:
            self.notice.show_message(str(exc), "error")
            self.status.set_save_state("save failed")
            return False
        self._after_save(self._current_name)
        return True

    def _after_save(self, name: str | None) -> None:
        if name is not None:
            counts: dict[str, int] = {}
            for shape in self.session.state.shapes:
                counts[shape.label] = counts.get(shape.label, 0) + 1
            self.list_model.set_annotation(name, counts)
            self.list_model.set_dirty(name, False)
        self.status.set_save_state(f"saved {time.strftime('%H:%M:%S')}")

    def _autosave_leaving(self) -> None:
        """Before another image is shown: save the one left if it has edits (setting)."""
        if self.project is None or self._current_name is None:
            return
        self.canvas.commit_pending()
        if not self.session.is_dirty or not self.project.settings.autosave_on_switch:
            return
        try:
            self.session.save()
        except SaveError as exc:
            self.notice.show_message(f"Autosave failed — {exc}", "error")
            return
        self._after_save(self._current_name)

    def _on_autosave_timer(self) -> None:
        if self.session.is_dirty:
            self.canvas.commit_pending()
            try:
                self.session.save()
            except SaveError as exc:
                self.notice.show_message(f"Autosave failed — {exc}", "error")
                self.status.set_save_state("autosave failed")
                return
            self._after_save(self._current_name)

    def _restart_autosave(self) -> None:
        seconds = self.project.settings.autosave_seconds if self.project else 0
        if seconds > 0:
            self.autosave_timer.start(seconds * 1000)
        else:
            self.autosave_timer.stop()

    def _save_all_dirty(self) -> bool:
        self.canvas.commit_pending()
        failed = []
        for image_path in self.session.dirty_images():
            try:
                self.session.save_image(image_path)
            except SaveError as exc:
                failed.append(str(exc))
        if self.session.image_path is not None and not self.session.is_dirty:
            self._on_dirty_changed(False)
        if failed:
            self.notice.show_message(" ".join(failed), "error")
            return False
        return True

    def _on_dirty_changed(self, dirty: bool) -> None:
        if self._current_name is not None:
            self.list_model.set_dirty(self._current_name, dirty)
        self.setWindowModified(dirty)
        self.status.set_save_state("unsaved edits" if dirty else "")

    def _on_labels_added(self, labels: list[str]) -> None:
        if not labels:
            return
        saved = self._persist_class_table()
        where = " (saved to .inspector/classes.yaml)" if saved else ""
        self.notice.show_message(
            f"New label(s) {', '.join(labels)} added to the project's classes{where}.", "warning"
        )

    def _use_class_table(self, table: ClassTable) -> None:
        """Show shapes with ``table`` without writing it to the project (nothing was added)."""
        self._adopting_table = True
        try:
            self.session.set_class_table(table)
        finally:
            self._adopting_table = False

    def _on_class_table_changed(self) -> None:
        # A label typed by the operator grows the table: the project keeps it. Adopting the
        # folder's or the model's table is not a change to save.
        if (
            not self._adopting_table
            and self.project is not None
            and self.project.class_table != self.session.class_table
        ):
            self._persist_class_table()
        self._update_class_filters()

    def _persist_class_table(self) -> bool:
        if self.project is None:
            return False
        try:
            self.project.set_class_table(self.session.class_table)
        except ProjectError as exc:
            self.notice.show_message(f"Could not save the class table: {exc}", "error")
            return False
        self._update_class_filters()
        return True

    def accept_prediction(self, classes: list[int] | None) -> int:
        """Turn the shown prediction (all classes or some) into polygons: one undoable edit."""
        model = self.inference.model
        if self._prediction is None or model is None or self.session.image_path is None:
            self.notice.show_message("There is no prediction for this image yet.", "warning")
            return 0
        tolerance = self.project.settings.accept_tolerance if self.project else 1.0
        ids = self.session.accept_prediction(
            self._prediction.mask, classes, tolerance, class_table=model.class_table
        )
        self.notice.show_message(f"{len(ids)} shape(s) added from the prediction (Ctrl+Z undoes).", "info")
        return len(ids)

    # ============================================================ model
    def load_model(self, path: Path, *, remember: bool = False) -> None:
        """Load a model in the worker; the current one stays until the new one is ready."""
        self._model_default = not remember
        self._remember_model = remember
        self.model_picker.set_loading(str(path))
        self.inference.load_model(path)

    def set_no_model(self, message: str) -> None:
        """Run without predictions and say so."""
        self.model_picker.set_absent(message)
        self.status.set_model("No model")
        self.legend.clear_stats("No model loaded")
        self.notice.show_message(message, "warning")

    def _on_model_changed(self, info: ModelInfo) -> None:
        self.model_picker.set_model(info.card, info.path, info.load_ms)
        self.legend.set_classes(info.class_table)
        self.canvas.set_visible_classes(None)
        self.status.set_model(info.name)
        self._build_accept_menu(info)
        if self.project is not None and self._table_source in ("model", "none"):
            self._use_class_table(info.class_table)
            self._table_source = "model"
        if self.project is not None and self._remember_model:
            self.project.settings.model_path = str(info.path)
            try:
                self.project.save_settings()
            except ProjectError as exc:
                self.notice.show_message(str(exc), "warning")
        self._update_class_filters()
        self.model_settled.emit()
        self._request_prediction()

    def _on_model_failed(self, path: str, reason: str) -> None:
        self.model_picker.set_failed(path, reason)
        current = self.inference.model
        kept = f" Still using {current.name}." if current is not None else " Running without predictions."
        self.notice.show_message(f"Could not load model {Path(path).name}: {reason}.{kept}", "error")
        if current is None:
            self.legend.clear_stats("No model loaded")
        self.model_settled.emit()

    def _build_accept_menu(self, info: ModelInfo) -> None:
        menu = self.actions_.accept_menu
        if menu is None:
            return
        menu.clear()
        for c in info.class_table.classes[1:]:
            action = menu.addAction(f"{c.name} ({c.label})")
            action.triggered.connect(lambda _checked=False, i=c.index: self.accept_prediction([i]))
        menu.setEnabled(True)

    # ============================================================ review
    def record_verdict(self, verdict: str) -> ReviewRecord | None:
        """Record OK/NG for the image on screen (SQLite), then go to the next unreviewed image."""
        project, loaded = self.project, self._current
        if project is None or loaded is None:
            return None
        model = self.inference.model
        areas: dict[str, int] = {}
        model_id = ""
        if self._prediction is not None and model is not None:
            model_id = model.model_id
            labels = model.class_table.labels
            areas = {labels[i]: a for i, (a, _r) in enumerate(self._prediction.stats) if i > 0}
        try:
            digest = content_hash(loaded.path)
        except OSError:
            digest = ""
        record = ReviewRecord(
            image=loaded.name,
            verdict=verdict,
            content_hash=digest,
            category=self.verdict_bar.category_text() if verdict == "NG" else "",
            comment=self.verdict_bar.comment_text(),
            operator=project.settings.operator,
            model_id=model_id,
            class_areas=areas,
        )
        try:
            record = project.review_log().record(record)
        except (ReviewError, ProjectError) as exc:
            self.notice.show_message(f"The verdict was NOT recorded: {exc}", "error")
            return None
        self._reviews[loaded.name] = record
        self.list_model.set_review(loaded.name, record)
        self.verdict_bar.set_current(record)
        self.verdict_bar.clear_inputs()
        self._update_summary()
        self.verdict_recorded.emit(loaded.name, verdict)
        if self.verdict_bar.advance.isChecked():
            self.next_unreviewed()
        return record

    def _update_summary(self) -> None:
        summary = summarize(self._reviews.values(), self.list_model.rowCount())
        model = self.inference.model
        table = model.class_table if model is not None else self.session.class_table
        classes = [(c.label, c.name, c.color) for c in table.classes[1:]]
        self.summary.set_summary(summary, classes)

    def export_csv(self, path: str | Path) -> int:
        """Write the current verdicts as CSV; returns the number of rows."""
        if self.project is None:
            return 0
        try:
            rows = self.project.review_log().export_csv(path)
        except (OSError, ReviewError, ProjectError) as exc:
            self.notice.show_message(f"CSV export failed: {exc}", "error")
            return 0
        self.notice.show_message(f"{rows} verdict(s) written to {path}", "info")
        return rows

    def _choose_csv(self) -> None:
        if self.project is None:
            return
        default = str(self.project.root / "review.csv")
        path, _ = QFileDialog.getSaveFileName(self, "Export reviews", default, "CSV (*.csv)")
        if path:
            self.export_csv(path)

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
        model = self.inference.model
        if self._prediction is not None and model is not None:
            index = int(self._prediction.mask[y, x])
            class_name = model.class_table.by_index(index).name if index < len(model.class_table) else "?"
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

    def edit_settings(self) -> None:
        """Edit ▸ Project settings: saved to ``.inspector/settings.json``."""
        project = self.project
        if project is None:
            return
        dialog = SettingsDialog(project.settings, self)
        if dialog.exec() != SettingsDialog.DialogCode.Accepted:
            return
        dialog.apply_to(project.settings)
        self.apply_settings()

    def apply_settings(self) -> None:
        """Use the project's (changed) settings and save them."""
        project = self.project
        if project is None:
            return
        self.verdict_bar.set_categories(project.categories())
        self._restart_autosave()
        try:
            project.save_settings()
        except ProjectError as exc:
            self.notice.show_message(str(exc), "error")

    def _focus_search(self) -> None:
        self.file_panel.search.setFocus()
        self.file_panel.search.selectAll()

    def _show_shortcuts(self) -> None:
        QMessageBox.information(self, "Keyboard shortcuts", shortcuts_text(self.actions_))

    def _choose_image(self) -> None:
        start = str(self.project.root) if self.project else ""
        path, _ = QFileDialog.getOpenFileName(
            self, "Open image", start, "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp)"
        )
        if path:
            self.open_path(path)

    def _choose_folder(self) -> None:
        start = str(self.project.root) if self.project else ""
        path = QFileDialog.getExistingDirectory(self, "Open folder", start)
        if path:
            self.open_path(path)

    def open_batch_dialog(self) -> None:
        """"Predict folder": the batch dialog for the current model and folder."""
        model = self.inference.model
        if model is None:
            self.notice.show_message("Load a model first (Model ▸ Open model…).", "warning")
            return
        root = self.project.root if self.project else Path.home()
        if self._batch_dialog is None or not (self._batch_dialog.job and self._batch_dialog.job.is_running()):
            self._batch_dialog = BatchDialog(model.path, root, self)
        self._batch_dialog.show()
        self._batch_dialog.raise_()

    def show_model_card(self) -> None:
        """Model ▸ Model card."""
        model = self.inference.model
        if model is not None:
            ModelCardDialog(model.card, model.path, self).exec()

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
