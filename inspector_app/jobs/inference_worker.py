"""The inference worker (it lives in the inference thread and alone touches the predictor) and the
data that crosses the thread boundary: requests, results, model facts.

The worker's mailbox holds, by priority: model loads; the newest prediction the operator waits for;
one prefetch (the next image); the background pass (image files it decodes itself, one per turn,
so a newer request waits at most for one of them). :mod:`inspector_app.jobs.inference` is the
GUI-side facade.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from inspector_app.core.classes import ClassTable
from inspector_app.core.modelcard import ModelCard
from inspector_app.core.predictor import Predictor, PredictorLike  # onnxruntime loads in Predictor()
from inspector_app.services.class_map import ClassMap

__all__ = [
    "BACKGROUND_PREFIX",
    "InferenceWorker",
    "ModelInfo",
    "PredictRequest",
    "PredictionResult",
    "map_key",
]


@dataclass(frozen=True)
class ModelInfo:
    """A loaded model: its file, id and card."""

    path: Path
    model_id: str
    card: ModelCard
    load_ms: float = 0.0

    @property
    def class_table(self) -> ClassTable:
        """The model's class table (indices of its masks)."""
        return self.card.class_table

    @property
    def name(self) -> str:
        """Display name: the card's name, else the file name."""
        return self.card.name or self.path.stem


@dataclass(frozen=True)
class PredictionResult:
    """One prediction as delivered to the GUI thread."""

    request_id: int
    image_id: str
    model_id: str
    #: uint8 HxW class indices: the project's when a class map was set, else the model's.
    mask: np.ndarray
    elapsed_ms: float  # model run time reported by the predictor
    total_ms: float  # time in the worker, including statistics
    #: Per class index of ``mask``: (area in pixels, connected regions), from
    #: region_stats (may be shorter than the class table: missing = (0, 0)).
    stats: tuple[tuple[int, int], ...] = ()
    #: :attr:`ClassMap.key` of the map applied to ``mask`` ("" = none: the model's indices).
    class_map_key: str = ""
    #: ``threading.get_ident()`` of the thread that ran the model (tests assert it).
    thread_ident: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    #: uint8 HxW: the model's probability of each pixel's predicted class x 255, when the service
    #: was asked for confidences (:meth:`InferenceService.set_confidence`), else None.
    confidence: np.ndarray | None = None


@dataclass(frozen=True)
class PredictRequest:
    request_id: int
    image_id: str
    model_id: str
    image: np.ndarray | None  # None: a background request, decoded from ``path`` in the worker
    prefetch: bool = False
    class_map: ClassMap | None = None
    name: str = ""
    path: Path | None = None
    pass_id: int = 0  # the background pass it belongs to


#: Image-id prefix of background requests (they have no decoded image, hence no content id).
BACKGROUND_PREFIX = "\0background:"


def map_key(class_map: ClassMap | None) -> str:
    return class_map.key if class_map is not None else ""


class InferenceWorker(QObject):
    """Lives in the worker thread; the only object that touches the predictor."""

    loaded = Signal(int, object)  # request id, ModelInfo
    load_failed = Signal(int, str, str)  # request id, path, reason
    predicted = Signal(object)  # PredictionResult
    predict_failed = Signal(int, str, str, str)  # request id, image id, model id, reason

    def __init__(self, threads: int | None) -> None:
        super().__init__()
        #: ``threading.get_ident()`` of the thread this worker runs in (set when it starts).
        self.thread_ident = 0
        self._threads = threads
        #: Ask the model for probabilities (set from the GUI thread; read once per prediction).
        self.with_confidence = False
        self._predictor: PredictorLike | None = None
        self._lock = threading.Lock()
        self._loads: list[tuple[int, Path]] = []
        self._pending: PredictRequest | None = None
        self._prefetch: PredictRequest | None = None
        #: The background pass (lowest priority: one image between two looks at the mailbox).
        self._background: list[PredictRequest] = []

    # --- called from the GUI thread (mailbox) ---------------------------------------------------
    def post_load(self, request_id: int, path: Path) -> None:
        with self._lock:
            self._loads.append((request_id, path))

    def post_predict(self, request: PredictRequest) -> None:
        with self._lock:
            if request.prefetch:
                self._prefetch = request
            else:
                self._pending = request  # newest wins: an older request not yet started is dropped

    def drop_pending(self) -> None:
        with self._lock:
            self._pending = None
            self._prefetch = None

    def post_background(self, requests: list[PredictRequest]) -> None:
        with self._lock:
            self._background = list(requests)

    # --- worker thread --------------------------------------------------------------------------
    @Slot()
    def announce(self) -> None:
        """Record the worker thread's identity (connected to ``QThread.started``)."""
        self.thread_ident = threading.get_ident()

    @Slot()
    def process(self) -> None:
        """Handle everything in the mailbox: model loads first, then the newest prediction."""
        while True:
            with self._lock:
                if self._loads:
                    load: tuple[int, Path] | None = self._loads.pop(0)
                    request = None
                else:
                    load = None
                    request = self._pending or self._prefetch
                    if request is None and self._background:
                        request = self._background.pop(0)
                    elif request is self._pending:
                        self._pending = None
                    else:
                        self._prefetch = None
            if load is not None:
                self._load(*load)
            elif request is not None:
                self._predict(request)
            else:
                return

    def _load(self, request_id: int, path: Path) -> None:
        start = time.perf_counter()
        try:
            predictor: PredictorLike = Predictor(path, threads=self._threads)
        except Exception as exc:  # any failure keeps the previous model
            self.load_failed.emit(request_id, str(path), _reason(exc))
            return
        self._predictor = predictor  # the previous one is released only on success
        info = ModelInfo(path, predictor.model_id, predictor.card, (time.perf_counter() - start) * 1e3)
        self.loaded.emit(request_id, info)

    def _predict(self, request: PredictRequest) -> None:
        predictor = self._predictor
        if predictor is None or predictor.model_id != request.model_id:
            self.predict_failed.emit(
                request.request_id, request.image_id, request.model_id, "the model is not loaded"
            )
            return
        start = time.perf_counter()
        try:
            image = request.image
            if image is None:  # background pass: decoded here, off the GUI and loader threads
                from inspector_app.core.images import read_image

                assert request.path is not None
                image = read_image(request.path)
            want_confidence = self.with_confidence and request.image is not None
            prediction = predictor.predict(image, probabilities=want_confidence)
            from inspector_app.core.regions import region_stats

            mask = prediction.mask
            confidence = _confidence(mask, prediction.probabilities) if want_confidence else None
            num_classes = int(predictor.card.class_table.num_classes)
            if request.class_map is not None:
                mask = request.class_map.apply(mask)
                num_classes = request.class_map.num_classes
            stats = tuple((int(a), int(r)) for a, r in region_stats(mask, num_classes))
        except Exception as exc:  # reported to the operator, the worker lives on
            self.predict_failed.emit(request.request_id, request.image_id, request.model_id, _reason(exc))
            return
        self.predicted.emit(
            PredictionResult(
                request_id=request.request_id,
                image_id=request.image_id,
                model_id=request.model_id,
                mask=mask,
                elapsed_ms=float(prediction.elapsed_ms),
                total_ms=(time.perf_counter() - start) * 1e3,
                stats=stats,
                class_map_key=map_key(request.class_map),
                thread_ident=threading.get_ident(),
                extra={"prefetch": request.prefetch, "background": request.name, "pass": request.pass_id},
                confidence=confidence,
            )
        )


def _confidence(mask: np.ndarray, probabilities: np.ndarray | None) -> np.ndarray | None:
    """Probability of each pixel's own class (model indices, before any class map), as uint8."""
    if probabilities is None:
        return None
    index = np.clip(mask.astype(np.intp), 0, probabilities.shape[0] - 1)[None]
    chosen = np.take_along_axis(probabilities, index, axis=0)[0]
    return np.asarray(np.rint(np.clip(chosen, 0.0, 1.0) * 255.0), dtype=np.uint8)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) < 600 else text[:600] + "…"
