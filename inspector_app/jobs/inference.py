"""Interactive inference: ONE worker thread owns the predictor; the GUI thread never runs a model.

Requests go through a mailbox rather than the Qt event queue: the GUI puts the newest prediction
request in a slot (replacing an older one that has not started) and wakes the worker, so paging
quickly through 50 images runs the model for the image the operator stops on, not for all 50.

Every request carries ``(request id, image id, model id)`` and the current
:class:`~inspector_app.services.class_map.ClassMap` (model class indices -> the project's, applied
in the worker, once per prediction). The worker returns results with the same ids; the service on
the GUI thread delivers only the result of the newest request for the current model and class
map, and caches results per ``(image id, model id, class map key)`` in a byte-bounded LRU, so
going back to an image shows its prediction immediately.

Below those, the background pass (:meth:`InferenceService.predict_in_background`) counts the
predicted regions of whole folders for the file list. The worker and the data crossing the thread
boundary are in :mod:`inspector_app.jobs.inference_worker`.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from inspector_app.jobs.inference_worker import (
    BACKGROUND_PREFIX,
    InferenceWorker,
    ModelInfo,
    PredictionResult,
    PredictRequest,
    map_key,
)
from inspector_app.services.cache import LruCache
from inspector_app.services.class_map import ClassMap

__all__ = ["InferenceService", "ModelInfo", "PredictionResult"]


def _result_bytes(result: PredictionResult) -> int:
    """What a cached result costs (mask, confidences, bookkeeping)."""
    extra = int(result.confidence.nbytes) if result.confidence is not None else 0
    return int(result.mask.nbytes) + extra + 256


class InferenceService(QObject):
    """GUI-side facade of the inference worker thread.

    Signals (GUI thread): ``model_changed(ModelInfo)``, ``model_failed(path, reason)``,
    ``prediction_ready(PredictionResult)`` (only the newest request, current model and class map),
    ``prediction_failed(image_id, reason)``, ``busy_changed(bool)``;
    ``background_predicted(name, PredictionResult)`` and ``background_progressed(left)`` for the
    background pass (:meth:`predict_in_background`; only for the current model and class map).
    """

    model_changed = Signal(object)
    model_failed = Signal(str, str)
    prediction_ready = Signal(object)
    prediction_failed = Signal(str, str)
    busy_changed = Signal(bool)
    background_predicted = Signal(str, object)
    background_progressed = Signal(int)  # images of the background pass not answered yet
    _wake = Signal()

    def __init__(
        self, parent: QObject | None = None, *, threads: int | None = None, cache_bytes: int = 12 << 20
    ) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._thread = QThread()
        self._thread.setObjectName("inference-worker")
        self._worker = InferenceWorker(threads)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.announce)
        self._wake.connect(self._worker.process)
        self._worker.loaded.connect(self._on_loaded)
        self._worker.load_failed.connect(self._on_load_failed)
        self._worker.predicted.connect(self._on_predicted)
        self._worker.predict_failed.connect(self._on_predict_failed)
        self._thread.start()
        self.model: ModelInfo | None = None
        #: Applied to every prediction in the worker (None: masks keep the model's indices).
        self.class_map: ClassMap | None = None
        self._latest_request = 0
        #: (image id, model id, class map key) of the newest request and whether its result was
        #: delivered.
        self._latest_key: tuple[str, str, str] | None = None
        self._delivered = False
        self._loads_pending = 0
        self._busy = False
        self.cache: LruCache[tuple[str, str, str], PredictionResult] = LruCache(cache_bytes, _result_bytes)
        #: Results that arrived for a superseded request or another model (tests read it).
        self.stale_dropped = 0
        #: (name, path) of the background pass not answered yet, in order.
        self._background: dict[str, Path] = {}
        #: Id of the current background pass: an answer of an earlier one (another project with
        #: the same image names) is never taken for this one.
        self._pass = 0

    # --- requests --------------------------------------------------------------------------------
    def load_model(self, path: str | Path) -> int:
        """Load a model in the worker; ``model_changed`` or ``model_failed`` follows. Returns its id."""
        request_id = next(self._ids)
        self._loads_pending += 1
        self._worker.post_load(request_id, Path(path))
        self._wake.emit()
        return request_id

    def set_class_map(self, class_map: ClassMap | None) -> bool:
        """Number the classes of the following predictions with ``class_map``; True if it changed.

        Cached results made with another map are dropped, and so are results of requests made
        before the change that are still running: the caller asks again for what it shows.
        """
        if map_key(class_map) == map_key(self.class_map):
            self.class_map = class_map
            return False
        self.class_map = class_map
        key = map_key(class_map)
        self.cache.discard(lambda k: k[2] != key)
        if self._background:
            self._post_background()  # queued ones would be numbered the old way
        return True

    def set_confidence(self, enabled: bool) -> None:
        """Deliver per-pixel confidences with the following predictions (the defect navigator's
        mean confidence per region); costs a softmax per prediction. Cached results made
        without them are dropped when turned on."""
        if enabled and not self._worker.with_confidence:
            self.cache.clear()
        self._worker.with_confidence = bool(enabled)

    @property
    def class_map_key(self) -> str:
        """Key of the class map applied to new predictions ("" = none)."""
        return map_key(self.class_map)

    def _key(self, image_id: str, model: ModelInfo) -> tuple[str, str, str]:
        return (image_id, model.model_id, map_key(self.class_map))

    def predict(self, image_id: str, image: np.ndarray) -> PredictionResult | None:
        """Ask for the current model's prediction of ``image``.

        Returns the cached result at once when there is one (no signal then); otherwise queues
        the request (replacing an older one not started yet) and returns None:
        ``prediction_ready`` follows unless a newer request supersedes it. Asking again for what
        the newest request, still outstanding, asks for queues nothing more.
        """
        model = self.model
        if model is None:
            return None
        key = self._key(image_id, model)
        if key == self._latest_key and self._busy and not self._delivered:
            return None
        request_id = next(self._ids)
        self._latest_request = request_id
        self._latest_key = key
        cached = self.cache.get(key)
        if cached is not None:
            self._delivered = True
            self._worker.drop_pending()
            self._set_busy(False)
            return cached
        self._delivered = False
        self._worker.post_predict(
            PredictRequest(request_id, image_id, model.model_id, image, class_map=self.class_map)
        )
        self._set_busy(True)
        self._wake.emit()
        return None

    def prefetch(self, image_id: str, image: np.ndarray) -> None:
        """Predict ``image`` into the cache when the worker has nothing newer to do."""
        model = self.model
        if model is None or self._key(image_id, model) in self.cache:
            return
        self._worker.post_predict(
            PredictRequest(
                next(self._ids), image_id, model.model_id, image, prefetch=True, class_map=self.class_map
            )
        )
        self._wake.emit()

    def predict_in_background(self, items: list[tuple[str, Path]]) -> None:
        """Predict these image files one by one whenever nothing the operator waits for is queued
        (replacing an earlier pass); ``background_predicted`` follows for each. The worker decodes
        them itself and the results are not cached (their masks would evict the images the
        operator visited); a model change ends the pass, a class-map change re-posts what is left.
        """
        self._background = dict(items)
        self._pass += 1
        self._post_background()
        self.background_progressed.emit(len(self._background))

    def cancel_background(self) -> None:
        """Forget the background pass (one running prediction completes and is dropped)."""
        self._background = {}
        self._pass += 1
        self._worker.post_background([])
        self.background_progressed.emit(0)

    def drop_from_background(self, name: str) -> None:
        """Leave ``name`` out of the background pass (e.g. its prediction is on screen already)."""
        if self._background.pop(name, None) is not None:
            self._post_background()

    @property
    def background_left(self) -> int:
        """Images of the background pass not answered yet."""
        return len(self._background)

    def _post_background(self) -> None:
        model, class_map, pass_id = self.model, self.class_map, self._pass
        requests = []
        if model is not None:
            for name, path in self._background.items():
                image_id = f"{BACKGROUND_PREFIX}{pass_id}:{name}"
                request = PredictRequest(next(self._ids), image_id, model.model_id, None)
                requests.append(replace(request, class_map=class_map, name=name, path=path, pass_id=pass_id))
        self._worker.post_background(requests)
        if requests:
            self._wake.emit()

    def cancel_pending(self) -> None:
        """Forget queued requests (a running one completes and is dropped as stale)."""
        self._latest_request = next(self._ids)
        self._latest_key = None
        self._worker.drop_pending()
        self._set_busy(False)

    def cached(self, image_id: str) -> PredictionResult | None:
        """The current model's cached result for ``image_id`` (current class map)."""
        if self.model is None:
            return None
        return self.cache.get(self._key(image_id, self.model))

    @property
    def loading(self) -> bool:
        """True while a model load has been asked for and has not answered yet."""
        return self._loads_pending > 0

    @property
    def busy(self) -> bool:
        """True while a delivered-to-GUI request is outstanding."""
        return self._busy

    @property
    def worker_thread(self) -> QThread:
        """The thread that owns the predictor."""
        return self._thread

    @property
    def worker_ident(self) -> int:
        """``threading.get_ident()`` of the worker thread (0 until it has started)."""
        return self._worker.thread_ident

    def shutdown(self, wait_ms: int = 10_000) -> None:
        """Stop the worker thread (a running prediction finishes first)."""
        self._worker.drop_pending()
        self._thread.quit()
        self._thread.wait(wait_ms)

    # --- results (GUI thread) ---------------------------------------------------------------------
    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)

    @Slot(int, object)
    def _on_loaded(self, request_id: int, info: ModelInfo) -> None:
        self._loads_pending = max(0, self._loads_pending - 1)
        self.model = info
        # The previous model's class map numbers another table: masks keep the new model's
        # indices until the owner sets the new model's map (on model_changed).
        self.class_map = None
        self.cache.discard(lambda key: key[1] != info.model_id)
        self.cancel_background()  # the owner starts a new pass for the new model
        self.model_changed.emit(info)

    @Slot(int, str, str)
    def _on_load_failed(self, request_id: int, path: str, reason: str) -> None:
        self._loads_pending = max(0, self._loads_pending - 1)
        self.model_failed.emit(path, reason)

    @Slot(object)
    def _on_predicted(self, result: PredictionResult) -> None:
        key = (result.image_id, result.model_id, result.class_map_key)
        current = self.model is not None and key == self._key(result.image_id, self.model)
        background = result.extra.get("background")
        if background:
            if (
                self.model is not None
                and result.model_id == self.model.model_id
                and result.class_map_key == self.class_map_key
                and result.extra.get("pass") == self._pass
                and self._background.pop(background, None) is not None
            ):
                self.background_predicted.emit(background, result)
                self.background_progressed.emit(len(self._background))
            return
        if current:
            # Results of another model or class map are never asked for again: not cached.
            self.cache.put(key, result)
        if result.extra.get("prefetch"):
            # A prefetch that finishes after the operator already moved to its image serves as
            # the answer (the duplicate request then arrives already delivered and is dropped).
            if not (current and key == self._latest_key and not self._delivered):
                return
        elif result.request_id != self._latest_request or not current or self._delivered:
            self.stale_dropped += 1
            return
        self._delivered = True
        self._set_busy(False)
        self.prediction_ready.emit(result)

    @Slot(int, str, str, str)
    def _on_predict_failed(self, request_id: int, image_id: str, model_id: str, reason: str) -> None:
        if image_id.startswith(BACKGROUND_PREFIX):  # an unreadable background image: no count, no notice
            pass_id, _, name = image_id[len(BACKGROUND_PREFIX) :].partition(":")
            if pass_id == str(self._pass):
                self._background.pop(name, None)
                self.background_progressed.emit(len(self._background))
            return
        if request_id != self._latest_request:
            return
        self._set_busy(False)
        self.prediction_failed.emit(image_id, reason)
