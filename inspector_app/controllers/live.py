"""Live inspection in the station: owns a :class:`LivePipeline` and hands its results to the views.

Threads: the pipeline's capture threads, inference worker and output thread (Qt-free). Our
subscriber runs on the output thread: it paints the frame with its overlay into a QImage there
(:func:`inspector_app.qtconvert.blended_qimage`), keeps it in a one-slot mailbox per source and
emits ``result_arrived(source_id)`` (queued to the GUI thread) only when the slot was empty, so a
slow event loop never builds a backlog: the view takes the newest frame and older ones are
dropped. The GUI thread only sets an image.

Signals (GUI thread): ``result_arrived(source_id)`` (take it with :meth:`take`),
``stats_changed(list[TileStats])`` twice a second, ``state_changed(state)`` (stopped / starting / running /
paused), ``sources_changed(list[str])``, ``model_switched(model_id)``, ``settings_changed()``,
``rules_changed(VerdictRules)``, ``source_settings_changed(spec)``, ``notice_posted(text, level)``.

Capture settings (resolution, frame rate, exposure, time-outs) are kept per source spec in the
project's ``.inspector/live_sources.json``; changing one restarts a running pipeline so that the
source reopens with them (sources are fixed per pipeline).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QImage

from inspector_app.core.classes import ClassTable
from inspector_app.core.modelcard import ModelError
from inspector_app.core.predictor import Predictor
from inspector_app.qtconvert import blended_qimage
from inspector_app.services.live.capture import SourceHealth
from inspector_app.services.live.ngcapture import NgCapture, ReviewSink
from inspector_app.services.live.outputs import JsonLineFile, Output, TcpLineServer
from inspector_app.services.live.pipeline import MAX_SOURCES, LivePipeline, PipelineOptions
from inspector_app.services.live.result import LiveResult
from inspector_app.services.live.rules import RulesError, VerdictRules, load_rules, rules_path, save_rules
from inspector_app.services.live.sizing import SizePolicy
from inspector_app.services.live.source_store import (
    SourceStoreError,
    load_source_settings,
    save_source_settings,
)
from inspector_app.services.live.sources import SourceSettings, open_source
from inspector_app.services.live.spec import SourceSpec, SourceSpecError, parse_source
from inspector_app.services.live.station_settings import (
    LiveSettings,
    LiveSettingsError,
    load_live_settings,
    save_live_settings,
)
from inspector_app.services.live.stats import SourceReport
from inspector_app.services.project import Project

__all__ = ["LiveController", "LiveFrame", "TileStats"]

#: Longest side of the image handed to a tile (bigger frames are scaled down on the worker).
DISPLAY_MAX_SIDE = 1280
SNAPSHOT_FOLDER = "live_snapshots"
CAPTURE_FOLDER = "live_captures"


@dataclass(frozen=True, eq=False)
class LiveFrame:
    """What a tile draws: the painted image and the result it shows."""

    image: QImage
    result: LiveResult


@dataclass(frozen=True)
class TileStats:
    """One source's counters and health, as a tile shows them."""

    source_id: int
    label: str
    state: str
    message: str
    frames: int
    ok: int
    ng: int
    capture_fps: float
    infer_fps: float
    display_fps: float
    latency_p50_ms: float | None
    latency_p95_ms: float | None

    @property
    def ng_rate(self) -> float:
        """NG share of judged frames, in % (0 before any)."""
        judged = self.ok + self.ng
        return 100.0 * self.ng / judged if judged else 0.0


class _Drawn:
    """Display-side counters of one source (GUI thread only)."""

    def __init__(self) -> None:
        self.times: deque[float] = deque(maxlen=120)
        self.latency: deque[float] = deque(maxlen=600)

    def fps(self, now: float) -> float:
        recent = [t for t in self.times if now - t <= 2.0]
        return (
            (len(recent) - 1) / (recent[-1] - recent[0])
            if len(recent) > 1 and recent[-1] > recent[0]
            else 0.0
        )

    def percentile(self, q: float) -> float | None:
        return float(np.percentile(np.fromiter(self.latency, float), q)) if self.latency else None


class LiveController(QObject):
    """Sources, the pipeline, rules and settings of the Live mode (see the module doc)."""

    result_arrived = Signal(int)
    stats_changed = Signal(list)
    state_changed = Signal(str)
    sources_changed = Signal(list)
    model_switched = Signal(str)
    settings_changed = Signal()
    rules_changed = Signal(object)
    source_settings_changed = Signal(str)
    notice_posted = Signal(str, str)
    _start_loaded = Signal(object, str)  # (Predictor | None, error), from the loading thread

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._specs: list[SourceSpec] = []
        self._project: Project | None = None
        self._model_path: Path | None = None
        self._table = ClassTable.from_labels([])
        self._palette = np.zeros((1, 3), np.uint8)
        self.rules = VerdictRules()
        self.settings = LiveSettings()
        self._source_settings: dict[str, SourceSettings] = {}
        #: The project's live_sources.json did not parse: it is never overwritten.
        self._source_store_broken = False
        self.opacity = 0.5
        #: onnxruntime threads of the live session (None: its default, every core).
        self.threads: int | None = None
        self.pipeline: LivePipeline | None = None
        self.tcp_port: int | None = None
        self._lock = threading.Lock()
        self._mailbox: dict[int, LiveFrame] = {}
        self._shown: dict[int, LiveFrame] = {}
        self._drawn: dict[int, _Drawn] = {}
        self._starting = False
        self._cancel_start = False
        self._start_loaded.connect(self._on_start_loaded)
        self._timer = QTimer(self)
        self._timer.setInterval(500)
        self._timer.timeout.connect(self._on_timer_timeout)

    # --- state ---------------------------------------------------------------------------------
    @property
    def sources(self) -> list[str]:
        """The source specs, as typed."""
        return [s.text for s in self._specs]

    @property
    def state(self) -> str:
        """``stopped``, ``starting``, ``running`` or ``paused``."""
        if self._starting:
            return "starting"
        if self.pipeline is None:
            return "stopped"
        return "paused" if self.pipeline.paused else "running"

    @property
    def has_model(self) -> bool:
        """True once the station has given a model to follow."""
        return self._model_path is not None

    @property
    def class_table(self) -> ClassTable:
        """The running model's class table (the rules editor's rows)."""
        return self._table

    def shown(self, source_id: int) -> LiveFrame | None:
        """The frame a tile shows now (frozen while paused)."""
        return self._shown.get(source_id)

    # --- inputs --------------------------------------------------------------------------------
    def attach(self, project: Project | None) -> None:
        """A project was opened: read its rules and Live settings (messages for bad files)."""
        self._project = project
        if project is None:
            return
        try:
            self.rules = load_rules(rules_path(project.meta_dir))
        except RulesError as exc:
            self.notice_posted.emit(f"{exc}; using the default rules (file left untouched)", "warning")
            self.rules = VerdictRules()
        try:
            self.settings = load_live_settings(project.meta_dir)
        except LiveSettingsError as exc:
            self.notice_posted.emit(f"{exc}; using defaults (file left untouched)", "warning")
            self.settings = LiveSettings()
        try:
            self._source_settings = load_source_settings(project.meta_dir)
            self._source_store_broken = False
        except SourceStoreError as exc:
            self.notice_posted.emit(f"{exc}; using defaults (file left untouched)", "warning")
            self._source_settings, self._source_store_broken = {}, True
        if self.pipeline is None and self.settings.sources and not self._specs:
            for text in self.settings.sources:
                self.add_source(text, remember=False)
        self.rules_changed.emit(self.rules)
        self.settings_changed.emit()

    def follow_model(self, path: Path, table: ClassTable) -> None:
        """The station's model changed: use it, switching a running pipeline without stopping."""
        self._model_path = Path(path)
        if self.pipeline is None:
            self._set_table(table)
            self.rules_changed.emit(self.rules)  # the editor's rows are the model's classes
            return
        future = self.pipeline.switch_model(path)

        def done(f: object) -> None:  # on the loader thread: only signals and plain assignments
            exc = future.exception()
            if exc is not None:
                self.notice_posted.emit(f"Live: model not switched: {exc}", "error")
                return
            self._set_table(table)
            self.rules_changed.emit(self.rules)
            self.model_switched.emit(future.result())

        future.add_done_callback(done)

    def _set_table(self, table: ClassTable) -> None:
        self._table = table
        self._palette = table.palette() if len(table) else np.zeros((1, 3), np.uint8)

    def add_source(self, text: str, *, remember: bool = True) -> str | None:
        """Add a source spec; returns the error message (also posted) or None.

        A running pipeline is restarted with the new list (sources are fixed per pipeline).
        """
        if len(self._specs) >= MAX_SOURCES:
            message = f"at most {MAX_SOURCES} sources"
        elif text.strip() in self.sources:
            message = f"{text.strip()!r} is already a source"
        else:
            try:
                spec = parse_source(text, loop=True)
            except SourceSpecError as exc:
                message = str(exc)
            else:
                self._specs.append(spec)
                self._sources_edited(remember)
                return None
        self.notice_posted.emit(f"Live: {message}", "error")
        return message

    def remove_source(self, index: int) -> None:
        """Remove the source at ``index``."""
        if 0 <= index < len(self._specs):
            del self._specs[index]
            self._sources_edited(True)

    def _sources_edited(self, remember: bool) -> None:
        self.sources_changed.emit(self.sources)
        if remember:
            self.update_settings(sources=tuple(self.sources))
        if self.pipeline is not None:
            self.stop()
            if self._specs:
                self.start()

    def update_settings(self, **changes: object) -> bool:
        """Change Live settings (saved in the project); the outputs take them at the next start."""
        try:
            self.settings = replace(self.settings, **changes)  # type: ignore[arg-type]
        except (LiveSettingsError, TypeError) as exc:
            self.notice_posted.emit(f"Live settings: {exc}", "error")
            return False
        if "size_mode" in changes and self.pipeline is not None:
            self.pipeline.set_size_policy(SizePolicy(self.settings.size_mode))
        self._save(lambda meta: save_live_settings(meta, self.settings))
        self.settings_changed.emit()
        return True

    def source_settings(self, spec: str) -> SourceSettings:
        """The capture settings of source ``spec`` (defaults when none were saved)."""
        return self._source_settings.get(spec.strip(), SourceSettings())

    def set_source_settings(self, spec: str, settings: SourceSettings) -> bool:
        """Use ``settings`` for source ``spec`` and save them in the project; a running pipeline
        restarts so that the source reopens with them. False (and a message) when not saved."""
        spec = spec.strip()
        if self._source_store_broken:
            self.notice_posted.emit(
                "Live: source settings not saved: the project's live_sources.json is unreadable "
                "(fix or delete it)",
                "error",
            )
            return False
        self._source_settings[spec] = settings
        stored = dict(self._source_settings)
        self._save(lambda meta: save_source_settings(meta, stored))
        self.source_settings_changed.emit(spec)
        if self.pipeline is not None and spec in self.sources:
            self.stop()
            self.start()
        return True

    def kind_of(self, source_id: int) -> str:
        """camera, file, stream, folder or genicam."""
        return self._specs[source_id].kind

    def actual_properties(self, source_id: int) -> dict[str, float]:
        """What the backend reports for a running source (width, height, fps, ...); {} when stopped."""
        pipeline = self.pipeline
        if pipeline is None or not 0 <= source_id < len(pipeline.workers):
            return {}
        try:
            return pipeline.workers[source_id].source.properties()
        except Exception:  # a backend that fails to report must not break the dialog
            return {}

    def set_rules(self, rules: VerdictRules) -> None:
        """Judge with ``rules`` from the next frame on and save them in the project."""
        self.rules = rules
        if self.pipeline is not None:
            self.pipeline.set_rules(rules)
        self._save(lambda meta: save_rules(rules, rules_path(meta)))
        self.rules_changed.emit(rules)

    def _save(self, write: Callable[[Path], object]) -> None:
        if self._project is None:
            return
        try:
            write(self._project.ensure_meta_dir())
        except (OSError, ValueError) as exc:
            self.notice_posted.emit(f"Live: cannot save: {exc}", "error")

    # --- run -----------------------------------------------------------------------------------
    def start(self) -> bool:
        """Start the pipeline on the sources with the current model; False (and a message) if not.

        The model session loads on a worker thread (state ``starting``); the pipeline starts when
        it is ready (``state_changed``), or a message says why it could not.
        """
        if self.pipeline is not None or self._starting:
            return True
        if not self._specs:
            self.notice_posted.emit("Live: add a source first", "warning")
            return False
        if self._model_path is None:
            self.notice_posted.emit("Live: load a model first (Model ▸ Open model…)", "warning")
            return False
        self._starting, self._cancel_start = True, False
        self.state_changed.emit(self.state)
        path = self._model_path

        def load() -> None:  # a worker thread: the window keeps running while the model loads
            try:
                model = Predictor(path, threads=self.threads)
                model.warmup()
            except (ModelError, ValueError, OSError) as exc:
                self._start_loaded.emit(None, str(exc))
                return
            self._start_loaded.emit(model, "")

        threading.Thread(target=load, name="live-start-model", daemon=True).start()
        return True

    def _on_start_loaded(self, model: Predictor | None, error: str) -> None:
        self._starting = False
        if model is None or self._cancel_start or not self._specs:
            if model is None:
                self.notice_posted.emit(f"Live: cannot start: {error}", "error")
            self.state_changed.emit(self.state)
            return
        try:
            outputs = self._outputs(model.class_table)
        except (ValueError, OSError) as exc:
            self.notice_posted.emit(f"Live: cannot start: {exc}", "error")
            self.state_changed.emit(self.state)
            return
        self._set_table(model.class_table)
        self.rules_changed.emit(self.rules)
        size = SizePolicy(self.settings.size_mode)
        options = PipelineOptions(size=size, rules=self.rules, threads=self.threads)
        self.pipeline = LivePipeline(
            [open_source(s, self.source_settings(s.text)) for s in self._specs], model, options, outputs
        )
        self.pipeline.subscribe(self._on_pipeline_result)
        with self._lock:
            self._mailbox.clear()
        self._shown.clear()
        self._drawn = {i: _Drawn() for i in range(len(self._specs))}
        self.pipeline.start()
        self._timer.start()
        self.state_changed.emit(self.state)

    def _outputs(self, table: ClassTable) -> list[Output]:
        s, outputs = self.settings, list[Output]()
        self.tcp_port = None
        if s.lines_path:
            outputs.append(JsonLineFile(s.lines_path))
        if s.tcp_port is not None:
            server = TcpLineServer(s.tcp_port)
            self.tcp_port = server.port
            outputs.append(server)
        if self._project is not None:
            if s.ng_capture:
                folder = self._project.root / CAPTURE_FOLDER
                outputs.append(
                    NgCapture(folder, table, min_interval_s=s.ng_interval_s, quota_mb=s.ng_quota_mb)
                )
            outputs.append(ReviewSink(self._project.review_path))
        return outputs

    def stop(self) -> None:
        """Stop the pipeline and close the outputs (the last frames stay shown)."""
        if self._starting:
            self._cancel_start = True
            return
        if self.pipeline is None:
            return
        pipeline, self.pipeline = self.pipeline, None
        self._timer.stop()
        pipeline.stop()
        for error in pipeline.errors[:3]:
            self.notice_posted.emit(f"Live: {error}", "warning")
        self.state_changed.emit(self.state)

    def pause(self, paused: bool) -> None:
        """Freeze every tile on its current frame and prediction (capture goes on) or resume."""
        if self.pipeline is None:
            return
        self.pipeline.pause(paused)
        self.state_changed.emit(self.state)

    def snapshot(self, source_id: int) -> Path | None:
        """Save the shown frame of a source and its predicted LabelMe JSON into the project."""
        frame = self._shown.get(source_id)
        if frame is None or self._project is None:
            self.notice_posted.emit("Live: no frame to save (or no project open)", "warning")
            return None
        try:
            path = NgCapture(self._project.root / SNAPSHOT_FOLDER, self._table).snapshot(frame.result)
        except OSError as exc:
            self.notice_posted.emit(f"Live: snapshot failed: {exc}", "error")
            return None
        self.notice_posted.emit(f"Live: saved {path.name} (open it in Annotate mode)", "info")
        return path

    def take(self, source_id: int) -> LiveFrame | None:
        """The newest painted frame of a source (None when taken already); counts it as drawn."""
        with self._lock:
            frame = self._mailbox.pop(source_id, None)
        if frame is None or self.state == "paused":
            return None
        self._shown[source_id] = frame
        drawn = self._drawn.setdefault(source_id, _Drawn())
        now = time.monotonic()
        drawn.times.append(now)
        drawn.latency.append((now - frame.result.captured) * 1000.0)
        return frame

    def shutdown(self) -> None:
        """Stop everything (window closing)."""
        self.stop()

    # --- threads -------------------------------------------------------------------------------
    def _on_pipeline_result(self, result: LiveResult) -> None:
        # Output thread: paint here, so the GUI thread only sets the image.
        image = blended_qimage(result.image, result.mask, self._palette, self.opacity, DISPLAY_MAX_SIDE)
        with self._lock:
            was_empty = result.source_id not in self._mailbox
            self._mailbox[result.source_id] = LiveFrame(image, result)
        if was_empty:
            self.result_arrived.emit(result.source_id)

    def _on_timer_timeout(self) -> None:
        pipeline = self.pipeline
        if pipeline is None:
            return
        report = pipeline.report()
        now = time.monotonic()
        tiles = []
        for i, (src, health) in enumerate(zip(report.sources, pipeline.health(), strict=False)):
            drawn = self._drawn.setdefault(i, _Drawn())
            tiles.append(_tile_stats(i, src, health, drawn, now))
        self.stats_changed.emit(tiles)


def _tile_stats(i: int, src: SourceReport, health: SourceHealth, drawn: _Drawn, now: float) -> TileStats:
    return TileStats(
        i,
        health.label,
        health.state,
        health.message,
        src.inferred,
        src.ok,
        src.ng,
        src.capture_fps,
        src.infer_fps,
        drawn.fps(now),
        drawn.percentile(50),
        drawn.percentile(95),
    )
