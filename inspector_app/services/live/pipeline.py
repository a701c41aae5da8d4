"""The live pipeline: capture threads -> one inference worker -> an output thread.

* one :class:`~.capture.CaptureWorker` per source (newest frame wins, health, reconnects);
* one inference worker per model session: it takes the newest frame of each source in turn
  (round robin, so four cameras share the model fairly), infers it per the size policy, judges
  it with the verdict rules and publishes a :class:`~.result.LiveResult`;
* one output thread runs the outputs (line files, TCP, NG capture, review log) and the
  subscribers (the GUI's bridge), so slow disks never slow inference. Its queue is bounded: when
  it is full the result is still shown but not written, and counted.

Controls work while running: :meth:`LivePipeline.pause` (frames keep being captured and dropped,
the last result stays), :meth:`LivePipeline.switch_model` (the new model loads in the background;
the old one keeps running until it is ready, and stays when the load fails), rules and size
policy. Results of a replaced model still in flight are dropped as stale.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from inspector_app.core.modelcard import ModelError
from inspector_app.core.predictor import Predictor
from inspector_app.services.live.capture import CaptureWorker, Frame, SourceHealth
from inspector_app.services.live.outputs import Output
from inspector_app.services.live.result import LiveResult
from inspector_app.services.live.rules import VerdictRules, judge
from inspector_app.services.live.sizing import SizePolicy, infer
from inspector_app.services.live.sources import FrameSource
from inspector_app.services.live.stats import LiveReport, LiveStats

__all__ = ["LivePipeline", "PipelineOptions"]

MAX_SOURCES = 4


@dataclass(frozen=True)
class PipelineOptions:
    """Settings of one pipeline (see the module doc)."""

    size: SizePolicy = field(default_factory=SizePolicy)
    rules: VerdictRules = field(default_factory=VerdictRules)
    threads: int | None = None
    stall_s: float = 2.0
    backoff: float = 0.25
    backoff_max: float = 8.0
    output_queue: int = 256


class LivePipeline:
    """Runs sources through a model; see the module doc. Thread-safe controls."""

    def __init__(
        self,
        sources: Sequence[FrameSource],
        model: Predictor,
        options: PipelineOptions | None = None,
        outputs: Sequence[Output] = (),
    ) -> None:
        if not 1 <= len(sources) <= MAX_SOURCES:
            raise ValueError(f"give 1 to {MAX_SOURCES} sources, got {len(sources)}")
        self.options = options or PipelineOptions()
        self.stats = LiveStats()
        self._arrived = threading.Event()
        self.workers = [
            CaptureWorker(
                i,
                s,
                stall_s=self.options.stall_s,
                backoff=self.options.backoff,
                backoff_max=self.options.backoff_max,
                arrived=self._arrived,
            )
            for i, s in enumerate(sources)
        ]
        self._model = model
        self._rules = self.options.rules
        self._size = self.options.size
        self._outputs = list(outputs)
        self._subscribers: list[Callable[[LiveResult], None]] = []
        self._lock = threading.Lock()
        self._latest: dict[int, LiveResult] = {}
        self._last_frame_id: dict[int, int] = {}
        self._queue: queue.Queue[LiveResult | None] = queue.Queue(self.options.output_queue)
        self._stop = threading.Event()
        self._paused = threading.Event()
        self.output_overflow = 0
        self.errors: list[str] = []
        self._threads: list[threading.Thread] = []

    # --- controls -------------------------------------------------------------------------
    @property
    def model(self) -> Predictor:
        """The model now in use."""
        with self._lock:
            return self._model

    def start(self) -> None:
        """Start the capture threads, the inference worker and the output thread."""
        self.stats.restart_clock()
        for w in self.workers:
            w.start()
        loops = (
            (self._infer_loop, "live-infer"),
            (self._output_loop, "live-output"),
            (self._watch_loop, "live-watch"),
        )
        for target, name in loops:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop everything, flush the outputs and close them (idempotent)."""
        if self._stop.is_set():
            return
        self._stop.set()
        for w in self.workers:
            w.stop()
        self._arrived.set()
        if self._threads:
            self._threads[0].join(10.0)
            self._queue.put(None)
            self._threads[1].join(10.0)
        else:
            self._close_outputs()

    def _close_outputs(self) -> None:
        # On the output thread: an output may hold thread-bound resources (SQLite).
        for output in self._outputs:
            try:
                output.close()
            except OSError as exc:
                self.errors.append(str(exc))

    def pause(self, paused: bool = True) -> None:
        """Freeze on the current result (capture continues and drops frames) or resume."""
        if paused:
            self._paused.set()
        else:
            self._paused.clear()
            self._arrived.set()

    @property
    def paused(self) -> bool:
        """True while paused."""
        return self._paused.is_set()

    def set_rules(self, rules: VerdictRules) -> None:
        """Judge the next frames with ``rules``."""
        with self._lock:
            self._rules = rules

    def set_size_policy(self, policy: SizePolicy) -> None:
        """Infer the next frames with ``policy``."""
        with self._lock:
            self._size = policy

    def switch_model(self, path: str | Path) -> Future[str]:
        """Load ``path`` in the background and switch to it; the future gives the new model id.

        The stream keeps running on the old model meanwhile; a load that fails leaves the old
        model in place and sets the future's exception (a :class:`ModelError` naming the file).
        """
        future: Future[str] = Future()

        def load() -> None:
            try:
                predictor = Predictor(path, threads=self.options.threads)
                predictor.warmup()
            except (ModelError, ValueError, OSError) as exc:
                future.set_exception(exc)
                return
            with self._lock:
                self._model = predictor
            future.set_result(predictor.model_id)

        threading.Thread(target=load, name="live-model-load", daemon=True).start()
        return future

    def subscribe(self, callback: Callable[[LiveResult], None]) -> None:
        """Call ``callback(result)`` on the output thread for every result."""
        with self._lock:
            self._subscribers.append(callback)

    def latest(self, source_id: int) -> LiveResult | None:
        """The newest result of a source (what a view draws)."""
        with self._lock:
            return self._latest.get(source_id)

    def health(self) -> list[SourceHealth]:
        """Every source's health (this call also drives the capture watchdogs)."""
        return [w.health() for w in self.workers]

    @property
    def finished(self) -> bool:
        """True when every source has ended or failed (nothing more will come)."""
        return all(w.finished for w in self.workers)

    def report(self) -> LiveReport:
        """Counters so far."""
        return self.stats.report(self.health(), self.model.model_id)

    # --- threads --------------------------------------------------------------------------
    def _next_frame(self, start: int) -> tuple[Frame | None, int]:
        n = len(self.workers)
        for k in range(n):
            i = (start + k) % n
            frame = self.workers[i].take(0)
            if frame is not None:
                return frame, i + 1
        return None, start

    def _infer_loop(self) -> None:
        turn = 0
        while not self._stop.is_set():
            if self._paused.is_set():
                self._stop.wait(0.02)
                continue
            self._arrived.clear()
            frame, turn = self._next_frame(turn)
            if frame is None:
                self._arrived.wait(0.05)
                continue
            with self._lock:
                model, rules, size = self._model, self._rules, self._size
            try:
                started = time.perf_counter()
                mask, probs = infer(model, frame.image, size, probabilities=rules.needs_probabilities)
                infer_ms = (time.perf_counter() - started) * 1000.0
                verdict = judge(mask, model.class_table, rules, probs)
            except Exception as exc:  # one bad frame must not stop the line
                self._error(f"{self.workers[frame.source_id].source.spec.text}: {exc}")
                continue
            result = LiveResult(
                frame.source_id,
                self.workers[frame.source_id].source.spec.label,
                frame.frame_id,
                model.model_id,
                frame.image,
                mask,
                verdict,
                frame.captured,
                time.monotonic(),
                frame.wall,
                infer_ms,
                frame.name,
            )
            self._publish(result, model)

    def _publish(self, result: LiveResult, model: Predictor) -> None:
        with self._lock:
            stale = model is not self._model or result.frame_id <= self._last_frame_id.get(
                result.source_id, 0
            )
            if not stale:
                self._last_frame_id[result.source_id] = result.frame_id
                self._latest[result.source_id] = result
        if stale:
            self.stats.count_stale()
            return
        self.stats.record(result.source_id, result.verdict.verdict, result.latency_ms, result.infer_ms)
        try:
            self._queue.put_nowait(result)
        except queue.Full:
            self.output_overflow += 1

    def _error(self, message: str) -> None:
        # Kept for the report (the first 100); a GUI shows them from here.
        if len(self.errors) < 100:
            self.errors.append(message)

    def _watch_loop(self) -> None:
        # Health is computed on demand; polling it here keeps the stall detection and the capture
        # watchdogs running even when no view or progress line asks.
        while not self._stop.wait(0.25):
            self.health()

    def _output_loop(self) -> None:
        while True:
            result = self._queue.get()
            if result is None:
                self._close_outputs()
                return
            with self._lock:
                subscribers = list(self._subscribers)
            for output in self._outputs:
                try:
                    output.write(result)
                except Exception as exc:  # a full disk or a bad output must not stop the line
                    self._error(str(exc))
            for callback in subscribers:
                try:
                    callback(result)
                except Exception as exc:  # nor a failing subscriber
                    self._error(f"subscriber: {exc}")
            self.stats.count_output()
