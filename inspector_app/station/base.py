"""Typed base of the main window: its signals, the state every behaviour module reads, and the
cross-module methods (implemented by the mixins, declared here so that each module type-checks)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QMainWindow, QSplitter, QToolBar

if TYPE_CHECKING:
    from inspector_app.canvas import CanvasView
    from inspector_app.core.classes import ClassInfo, ClassTable
    from inspector_app.editing import AnnotationSession
    from inspector_app.filelist.model import FileListModel
    from inspector_app.filelist.scanner import FolderScanner
    from inspector_app.filelist.view import FileListPanel
    from inspector_app.jobs.inference import InferenceService, PredictionResult
    from inspector_app.jobs.loader import ImageLoader, LoadedImage
    from inspector_app.services.file_entries import FileEntry
    from inspector_app.services.project import Project
    from inspector_app.services.review_log import ReviewRecord
    from inspector_app.widgets.batch_dialog import BatchDialog
    from inspector_app.widgets.legend import LegendPanel
    from inspector_app.widgets.model_picker import ModelPicker
    from inspector_app.widgets.notice import NoticeBar
    from inspector_app.widgets.station_actions import StationActions
    from inspector_app.widgets.status_bar import StationStatusBar
    from inspector_app.widgets.summary_panel import SummaryPanel
    from inspector_app.widgets.verdict_bar import VerdictBar


class StationBase(QMainWindow):
    """Signals (for screenshot mode, tests and benchmarks): ``image_shown(name)``,
    ``prediction_shown(name)``, ``verdict_recorded(name, verdict)``, ``model_settled()`` (a model
    load finished, either way)."""

    image_shown = Signal(str)
    prediction_shown = Signal(str)
    verdict_recorded = Signal(str, str)
    model_settled = Signal()

    # --- state (assigned in MainWindow.__init__) -----------------------------------------------
    project: Project | None
    _operator_override: str | None
    _reviews: dict[str, ReviewRecord]
    _current: LoadedImage | None
    _current_name: str | None
    _prediction: PredictionResult | None
    #: The model's classes as the project numbers them (legend rows, accept menu); None until
    #: worked out for the current model and table.
    _model_classes: tuple[ClassInfo, ...] | None
    _batch_dialog: BatchDialog | None
    #: Where the session's class table came from: project | folder | model | none.
    _table_source: str
    _remember_model: bool
    _filter_labels: dict[str, str] | None
    _shut_down: bool
    _adopting_table: bool
    _request_started: float
    last_switch_ms: float | None

    # --- parts ------------------------------------------------------------------------------------
    inference: InferenceService
    loader: ImageLoader
    scanner: FolderScanner
    session: AnnotationSession
    list_model: FileListModel
    file_panel: FileListPanel
    canvas: CanvasView
    notice: NoticeBar
    model_picker: ModelPicker
    verdict_bar: VerdictBar
    legend: LegendPanel
    summary: SummaryPanel
    status: StationStatusBar
    splitter: QSplitter
    actions_: StationActions
    toolbar: QToolBar
    autosave_timer: QTimer

    # --- implemented by the behaviour modules ---------------------------------------------------
    def open_path(self, path: str | Path) -> bool:
        """Open an image, a folder or a project folder (main_window)."""
        raise NotImplementedError

    def next_unreviewed(self) -> bool:
        """Go to the next image without a verdict (navigation)."""
        raise NotImplementedError

    def current_entry(self) -> FileEntry | None:
        """The list entry of the image on screen (navigation)."""
        raise NotImplementedError

    def load_model(self, path: Path, *, remember: bool = False) -> None:
        """Load a model in the worker (predictions)."""
        raise NotImplementedError

    def accept_prediction(self, classes: list[int] | None) -> int:
        """Turn the shown prediction into polygons (annotations)."""
        raise NotImplementedError

    def _next_loaded(self) -> LoadedImage | None:
        raise NotImplementedError

    def _request_prediction(self) -> None:
        raise NotImplementedError

    def _autosave_leaving(self) -> None:
        raise NotImplementedError

    def _session_name(self) -> str | None:
        raise NotImplementedError

    def _restart_autosave(self) -> None:
        raise NotImplementedError

    def _save_all_dirty(self) -> bool:
        raise NotImplementedError

    def _use_class_table(self, table: ClassTable) -> None:
        raise NotImplementedError

    def _persist_class_table(self) -> bool:
        raise NotImplementedError

    def _sync_class_map(self) -> bool:
        raise NotImplementedError

    def _apply_class_visibility(self) -> None:
        raise NotImplementedError

    def _update_summary(self) -> None:
        raise NotImplementedError

    def prediction_stats(self, result: PredictionResult) -> dict[str, tuple[int, int]]:
        """label -> (area px, regions) of every class the model predicts (predictions)."""
        raise NotImplementedError

    def _update_class_filters(self) -> None:
        raise NotImplementedError

    def _update_title(self) -> None:
        raise NotImplementedError
