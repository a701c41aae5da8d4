"""Training mode: the engineer's loop — data and split, preset, device, start / cancel, live
curves, run history, candidate vs current, promote / roll back, and an "annotate next" queue.

Everything slow runs elsewhere: the trainer in a QProcess (:class:`TrainingController`), the
device probe, the comparison and the uncertainty ranking in a :class:`BackgroundCall` thread.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from inspector_app.controllers.navigation import NavigationController
from inspector_app.controllers.prediction import PredictionController
from inspector_app.controllers.training import TrainingController
from inspector_app.core.classes import ClassTable
from inspector_app.core.predictor import default_providers
from inspector_app.core.protocol import Metrics, Progress
from inspector_app.jobs.background import BackgroundCall
from inspector_app.modes.base import StationMode, group
from inspector_app.services.training import preflight
from inspector_app.services.training.dataset import ProjectDataset, scan_project
from inspector_app.services.training.job import RUNS_DIR, JobSpec, new_run_id, prepare_job
from inspector_app.services.training.presets import PRESETS
from inspector_app.services.training.registry import ModelRegistry, RegistryError
from inspector_app.services.training.runs import RunSummary, list_runs
from inspector_app.services.training.split import (
    ProjectSplit,
    SplitError,
    load_split,
    move,
    save_split,
    update_split,
)
from inspector_app.widgets import training_widgets as tw
from inspector_app.widgets.annotate_next import AnnotateNextPanel
from inspector_app.widgets.comparison_panel import ComparisonPanel
from inspector_app.widgets.training_curves import TrainingCurves

FRESH = "fresh network (zhong)"


def _row(*widgets: QWidget) -> QWidget:
    box = QWidget()
    layout = QHBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget)
    return box


def _scrolled(page: QWidget) -> QScrollArea:
    """A tab's page in a scroll area: the side panel is narrower and shorter than the page."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setWidget(page)
    return area


class TrainingMode(StationMode):
    """The Training page. ``open_for_annotation(name)`` shows an image in Annotate mode."""

    name = "training"
    title = "Training"

    def __init__(
        self,
        training: TrainingController,
        navigation: NavigationController,
        prediction: PredictionController,
        open_for_annotation: Callable[[str], None],
    ) -> None:
        self.training, self.navigation, self.prediction = training, navigation, prediction
        self._open_for_annotation = open_for_annotation
        self.dataset: ProjectDataset | None = None
        self.split: ProjectSplit | None = None
        self.runs: tuple[RunSummary, ...] = ()
        self._streamed: str | None = None  # the run whose curves were fed live
        self._page = self._build()
        self._probe, self._prepare = BackgroundCall(), BackgroundCall()
        self._prepare.succeeded.connect(self.training.submit)
        self._prepare.failed.connect(self._on_prepare_failed)
        self._probe.succeeded.connect(self._on_probe_succeeded)
        self._probe.failed.connect(lambda m: self.device.setText(f"device probe failed: {m}"))
        t = training
        t.job_started.connect(self._on_training_job_started)
        t.progress_reported.connect(self._on_training_progress_reported)
        t.metrics_reported.connect(self._on_training_metrics_reported)
        t.best_reported.connect(lambda epoch: self.best.setText(f"best epoch so far: {epoch}"))
        t.log_appended.connect(self.log.appendPlainText)
        t.job_finished.connect(self._on_training_job_finished)
        t.job_queued.connect(lambda _run_id: self._show_queue())
        t.job_started.connect(lambda _run_id: self._show_queue())

    # --- page -----------------------------------------------------------------------------------
    def page(self) -> QWidget:
        return self._page

    def _build(self) -> QWidget:
        tabs = QTabWidget()
        # data
        self.summary = QLabel("open a project")
        self.summary.setWordWrap(True)
        self.include_unconfirmed = QCheckBox("include unconfirmed predictions")
        self.include_unconfirmed.toggled.connect(lambda _on: self.refresh())
        refresh = QPushButton("Rescan")
        refresh.clicked.connect(self.refresh)
        self.classes = tw.class_table_view()
        self.split_table = tw.split_view()
        self.move_button = QPushButton("Move to the other split")
        self.move_button.clicked.connect(self.move_selected)
        data = QWidget()
        lay = QVBoxLayout(data)
        lay.addWidget(group("Data", self.summary, _row(self.include_unconfirmed, refresh)))
        lay.addWidget(group("Classes (per split)", self.classes))
        lay.addWidget(group("Train / validation split", self.split_table, self.move_button))
        tabs.addTab(_scrolled(data), "Data")
        # job
        self.base = QComboBox()
        self.preset = QComboBox()
        for preset in PRESETS.values():
            self.preset.addItem(preset.title, preset.key)
        self.preset.currentIndexChanged.connect(self._on_preset_changed)
        self.preset_text = QLabel()
        self.preset_text.setWordWrap(True)
        self.options = tw.options_view()
        self.device = QLabel("device: not probed")
        self.device.setWordWrap(True)
        probe = QPushButton("Probe device")
        probe.clicked.connect(self.probe_device)
        self.provider = QLabel(f"station inference: {', '.join(default_providers()) or 'none'}")
        self.problems = QListWidget()
        self.problems.setMaximumHeight(90)
        self.start_button, self.cancel_button = QPushButton("Start"), QPushButton("Cancel")
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.training.cancel)
        self.cancel_button.setEnabled(False)
        self.queue = QListWidget()
        self.queue.setMaximumHeight(60)
        self.queue.setToolTip("Queued jobs; double-click one to drop it")
        self.queue.itemDoubleClicked.connect(self._on_queue_item_double_clicked)
        self.progress = QProgressBar()
        self.eta, self.best = QLabel(""), QLabel("")
        self.curves = TrainingCurves()
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setMaximumBlockCount(2000)
        job = QWidget()
        lay = QVBoxLayout(job)
        base = QLabel("base model")
        lay.addWidget(group("Job", base, self.base, self.preset, self.preset_text, self.options))
        lay.addWidget(group("Device", self.device, probe, self.provider))
        start_row = _row(self.start_button, self.cancel_button)
        lay.addWidget(group("Pre-flight", self.problems, start_row, QLabel("queued"), self.queue))
        lay.addWidget(group("Progress", self.progress, _row(self.eta, self.best), self.curves, self.log), 1)
        tabs.addTab(_scrolled(job), "Job")
        # results
        self.history = QListWidget()
        self.history.currentRowChanged.connect(self._on_history_current_row_changed)
        self.run_text = QLabel("")
        self.run_text.setWordWrap(True)
        self.comparison = ComparisonPanel()
        self.promote_button, self.rollback_button = QPushButton("Promote"), QPushButton("Roll back")
        self.promote_button.clicked.connect(self.promote)
        self.rollback_button.clicked.connect(self.rollback)
        self.lineage = QLabel("")
        self.lineage.setWordWrap(True)
        self.annotate_next = AnnotateNextPanel()
        self.annotate_next.rank_requested.connect(self.rank_unannotated)
        self.annotate_next.open_requested.connect(self._open_for_annotation)
        results = QWidget()
        lay = QVBoxLayout(results)
        lay.addWidget(group("Runs", self.history, self.run_text))
        lay.addWidget(
            group(
                "Candidate vs current",
                self.comparison,
                _row(self.promote_button, self.rollback_button),
                self.lineage,
            )
        )
        lay.addWidget(group("Annotate next", self.annotate_next))
        tabs.addTab(_scrolled(results), "Results")
        self.tabs = tabs
        self._on_preset_changed()
        return tabs

    def activate(self) -> None:
        self.refresh()

    # --- data -----------------------------------------------------------------------------------
    @property
    def root(self) -> Path | None:
        project = self.navigation.project
        return project.root if project is not None else None

    def refresh(self) -> None:
        """Rescan the project: dataset, split (stable: the saved one updated), runs, pre-flight."""
        root = self.root
        if root is None:
            return
        project = self.navigation.project
        assert project is not None
        table = project.class_table or ClassTable.from_labels([])
        self.dataset = scan_project(root, table, include_predictions=self.include_unconfirmed.isChecked())
        try:
            previous = load_split(root)
        except SplitError as exc:
            self.summary.setText(f"the saved split is unreadable and was left as it is: {exc}")
            previous = None
        self.split = update_split(self.dataset, previous)
        d = self.dataset
        self.summary.setText(
            f"{len(d.images)} annotated image(s) for training; {len(d.unconfirmed)} with unconfirmed "
            f"predictions ({'included' if d.include_predictions else 'excluded'}); "
            f"{len(d.unannotated)} unannotated; {len(d.unreadable)} unreadable"
            + (f"; new classes: {', '.join(d.new_classes)}" if d.new_classes else "")
        )
        self._show_split()
        self._fill_bases()
        self.refresh_runs()

    def _show_split(self) -> None:
        if self.dataset is None or self.split is None:
            return
        tw.fill_class_table(self.classes, self.dataset, self.split)
        tw.fill_split(self.split_table, self.dataset, self.split)
        self.check()

    def move_selected(self) -> None:
        """Move the selected image to the other split (kept there by later updates)."""
        row = self.split_table.currentRow()
        if row < 0 or self.split is None or self.root is None:
            return
        item = self.split_table.item(row, 0)
        if item is None:
            return
        name = item.text()
        self.split = move(self.split, name, "train" if self.split.side_of(name) == "val" else "val")
        save_split(self.root, self.split)
        self._show_split()

    def _fill_bases(self) -> None:
        self.base.clear()
        model = self.prediction.model
        if model is not None:
            current = self.root and ModelRegistry(self.root).current()
            checkpoint = (
                current.checkpoint_path
                if current and current.onnx_path == model.path
                else model.path.with_suffix(".pt")
                if model.path.with_suffix(".pt").is_file()
                else None
            )
            if checkpoint is not None:
                text = f"current model {model.model_id} ({checkpoint.name})"
                self.base.addItem(text, (checkpoint, model.model_id))
        self.base.addItem(FRESH, None)

    def _on_preset_changed(self, _index: int = 0) -> None:
        preset = PRESETS[self.preset.currentData()]
        self.preset_text.setText(preset.description)
        tw.fill_options(self.options, preset.options)

    def check(self) -> list[preflight.Problem]:
        """Run the pre-flight checks and list them; Start is enabled when none is an error."""
        self.problems.clear()
        if self.dataset is None or self.split is None:
            return []
        model = self.prediction.model
        base = self.base.currentData()
        parents = model.class_table.labels if model is not None and base is not None else ()
        problems = list(preflight.preflight(self.dataset, self.split, parent_classes=parents))
        for p in problems:
            self.problems.addItem(f"{p.severity}: {p.message}")
        if not problems:
            self.problems.addItem("ready")
        self.start_button.setEnabled(not any(p.severity == "error" for p in problems))
        return problems

    def probe_device(self) -> None:
        """Measure the device in a worker (``defect-train devices --warmup``)."""
        self.device.setText("probing the device ...")
        self._probe.start(lambda: preflight.probe_devices(warmup_model="zhong", size=(256, 256)))

    def _on_probe_succeeded(self, info: preflight.DeviceInfo) -> None:
        text = info.describe()
        if not info.gpus and self.split is not None:
            epochs = int(str(self.options_now().get("epochs") or 1))
            seconds = info.estimate_seconds(len(self.split.train), epochs, len(self.split.val))
            if seconds is not None:
                text += f", about {max(1, round(seconds / 60))} min"
        self.device.setText(f"device: {text}")

    # --- job ------------------------------------------------------------------------------------
    def options_now(self) -> dict[str, object]:
        """The preset's options as edited in the table."""
        return tw.read_options(self.options)

    def start(self) -> str | None:
        """Prepare a run folder and queue the job; returns its run id (None when blocked)."""
        if self.root is None or self.dataset is None or self.split is None:
            return None
        if any(p.severity == "error" for p in self.check()):
            return None
        preset = PRESETS[self.preset.currentData()].with_options(**self.options_now())
        base = self.base.currentData()
        spec = JobSpec(preset, base_checkpoint=base[0], parent_model_id=base[1]) if base else JobSpec(preset)
        save_split(self.root, self.split)
        # The run folder gets a copy of the data: file work, so off the GUI thread (the job is
        # queued when it is ready; a failure is listed with the pre-flight messages).
        run_id, n = new_run_id(preset), 1
        while (self.root / RUNS_DIR / run_id).exists():  # two starts within one second
            n += 1
            run_id = f"{new_run_id(preset)}-{n}"
        root, dataset, split = self.root, self.dataset, self.split
        if not self._prepare.start(lambda: prepare_job(root, dataset, split, spec, run_id=run_id)):
            return None
        self.eta.setText(f"{run_id}: preparing the run folder")
        return run_id

    def _show_queue(self) -> None:
        self.queue.clear()
        for job in self.training.queued():
            self.queue.addItem(job.run_id)

    def _on_queue_item_double_clicked(self, item: QListWidgetItem) -> None:
        if self.training.cancel_queued(item.text()):
            self._show_queue()

    def _on_prepare_failed(self, message: str) -> None:
        self.problems.addItem(f"error: could not prepare the run folder: {message}")
        self.eta.setText("")

    def _on_training_job_started(self, run_id: str) -> None:
        self._streamed = run_id
        self.curves.clear()
        self.progress.setValue(0)
        self.best.setText("")
        self.eta.setText(f"{run_id}: starting")
        self.cancel_button.setEnabled(True)

    def _on_training_progress_reported(self, event: Progress) -> None:
        total = max(event.epochs * event.steps, 1)
        self.progress.setValue(int(100 * ((event.epoch - 1) * event.steps + event.step) / total))
        eta = "" if event.eta_s is None else f", about {event.eta_s / 60:.1f} min left"
        self.eta.setText(f"epoch {event.epoch}/{event.epochs}, loss {event.loss:.3f}{eta}")
        self.curves.add_progress(event)

    def _on_training_metrics_reported(self, event: Metrics) -> None:
        self.curves.add_metrics(event)

    def _on_training_job_finished(self, run_id: str, status: str, message: str) -> None:
        self.cancel_button.setEnabled(self.training.current_job() is not None)
        code = self.training.last_exit_code
        self.eta.setText(f"{run_id}: {status} (exit {'-' if code is None else code}) — {message}")
        if status == "ok":
            self.progress.setValue(100)
        self.refresh_runs(select=run_id)
        if status == "ok":
            self.compare_selected()

    # --- results --------------------------------------------------------------------------------
    def refresh_runs(self, select: str | None = None) -> None:
        """Reload the run history from the run folders (newest first)."""
        if self.root is None:
            return
        self.runs = list_runs(self.root)
        self.history.clear()
        for run in self.runs:
            best = (
                ""
                if run.best_metric is None
                else f", best {100 * run.best_metric:.1f} at epoch {run.best_epoch}"
            )
            self.history.addItem(QListWidgetItem(f"{run.run_id}: {run.status}{best}"))
        ids = [r.run_id for r in self.runs]
        if select in ids:
            self.history.setCurrentRow(ids.index(select))
        self._show_lineage()

    def selected_run(self) -> RunSummary | None:
        """The run selected in the history."""
        row = self.history.currentRow()
        return self.runs[row] if 0 <= row < len(self.runs) else None

    def _on_history_current_row_changed(self, _row: int) -> None:
        run = self.selected_run()
        if run is None:
            return
        if not self.training.is_running() and run.run_id != self._streamed:  # streamed: shown already
            self.curves.show_run(run)
        text = f"{run.status}, {run.epochs_done}/{run.epochs or '?'} epochs"
        if run.test_miou is not None:
            text += f", test mIoU {100 * run.test_miou:.1f}"
        if run.error:
            text += f"; {run.error}"
        self.run_text.setText(text)
        self.promote_button.setEnabled(run.status == "ok" and run.model_path is not None)

    def compare_selected(self) -> None:
        """Candidate (the selected run) vs the station's model on the validation images (worker)."""
        run, model, root, split = self.selected_run(), self.prediction.model, self.root, self.split
        if run is None or run.model_path is None or root is None or split is None:
            return
        if model is None:
            self.comparison.say("no current model to compare with")
            return
        self.comparison.compare(model.path, run.model_path, root, split.val)

    def promote(self) -> None:
        """Make the selected run's model the current one everywhere."""
        run, root = self.selected_run(), self.root
        if run is None or root is None:
            return
        try:
            entry = self.training.promote(root, run)
        except RegistryError as exc:
            self.comparison.say(f"promote failed: {exc}")
            return
        self.comparison.say(f"promoted {entry.model_id}")
        self._show_lineage()

    def rollback(self) -> None:
        """Back to the previous model (the project's own when none is left)."""
        root, project = self.root, self.navigation.project
        if root is None or project is None:
            return
        fallback = Path(project.settings.model_path) if project.settings.model_path else None
        entry = self.training.rollback(root, fallback)
        self.comparison.say(f"rolled back to {entry.model_id if entry else 'the project model'}")
        self._show_lineage()

    def _show_lineage(self) -> None:
        if self.root is None:
            return
        registry = ModelRegistry(self.root)
        current = registry.current()
        self.rollback_button.setEnabled(current is not None)
        self.lineage.setText(
            "lineage: " + " <- ".join(registry.lineage(current.model_id)) if current else "no promoted model"
        )

    def rank_unannotated(self) -> None:
        """Order the unannotated images by the current model's uncertainty (in a worker)."""
        model, root, dataset = self.prediction.model, self.root, self.dataset
        if model is None or root is None or dataset is None:
            self.annotate_next.say("needs an open project and a model")
            return
        self.annotate_next.rank(model.path, root, dataset.unannotated)
