"""Prediction: the model, the inference worker, the class map and the prediction on screen.

Class numbering: the model numbers classes in the order of ITS class table, the shapes use the
PROJECT's (the annotation session's, handed in with :meth:`PredictionController.set_project_table`).
When a model arrives or the project's table changes, :meth:`~PredictionController.sync_class_map`
joins the two by label: labels the project lacks are announced with ``labels_missing`` (the
annotation controller adds them, and the grown table comes back through ``set_project_table``),
and the inference worker translates every prediction once into project indices
(:mod:`inspector_app.services.class_map`). From there on overlay colours, legend, visibility,
accept-prediction, list counts and review areas all speak project indices.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from inspector_app.core.classes import ClassInfo, ClassTable
from inspector_app.jobs.inference import InferenceService, ModelInfo, PredictionResult
from inspector_app.jobs.loader import LoadedImage
from inspector_app.services.class_map import ClassMap, ClassMapError, mapped_classes, missing_labels
from inspector_app.services.project import Project, ProjectError


@dataclass(frozen=True)
class ShownPrediction:
    """What a prediction on screen says about its image (project class labels)."""

    name: str
    model_id: str
    #: label -> (area px, regions) of every class the model predicts (zeros included).
    stats: dict[str, tuple[int, int]] = field(default_factory=dict)

    def areas(self) -> dict[str, int]:
        """label -> area in pixels."""
        return {label: area for label, (area, _r) in self.stats.items()}

    def regions(self) -> dict[str, int]:
        """label -> number of regions, classes with none left out."""
        return {label: r for label, (_a, r) in self.stats.items() if r}


class PredictionController(QObject):
    """Model loading and prediction display. Signals (GUI thread):

    ``model_loading(path)``, ``model_loaded(ModelInfo)``, ``model_failed(path, reason)``,
    ``model_settled()`` (a load finished either way); ``prediction_shown(ShownPrediction)``,
    ``prediction_cleared()`` (the shown one is gone or numbered the old way), ``prediction_failed(name)``;
    ``overlay_changed(mask | None, palette)``; ``stats_changed(stats, pixels)``,
    ``stats_cleared(reason)``; ``model_state_changed(name, elapsed_ms, state)``;
    ``model_classes_changed(classes)`` (legend rows, accept menu); ``class_filters_changed(pairs)``;
    ``labels_missing(labels, model name)``; ``notice_posted(text, level)``;
    ``background_counted(name, {label: regions})``, ``background_progressed(images left)`` (the
    background pass, :meth:`count_in_background`).
    """

    model_loading = Signal(str)
    model_loaded = Signal(object)
    model_failed = Signal(str, str)
    model_settled = Signal()
    prediction_shown = Signal(object)
    prediction_cleared = Signal()
    prediction_failed = Signal(str)
    overlay_changed = Signal(object, object)
    stats_changed = Signal(object, int)
    stats_cleared = Signal(str)
    model_state_changed = Signal(str, object, str)
    model_classes_changed = Signal(object)
    class_filters_changed = Signal(list)
    labels_missing = Signal(list, str)
    notice_posted = Signal(str, str)
    background_counted = Signal(str, object)
    background_progressed = Signal(int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.inference = InferenceService(self)
        self._project: Project | None = None
        self._table = ClassTable.from_labels([])
        self._image: LoadedImage | None = None
        self._prediction: PredictionResult | None = None
        self._model_classes: tuple[ClassInfo, ...] | None = None
        self._filters: list[tuple[str, str]] | None = None
        self._remember = False
        #: Images whose regions this model has counted or queued (shown or in the background pass).
        self._counted: set[str] = set()
        self.inference.background_predicted.connect(self._on_inference_background_predicted)
        self.inference.background_progressed.connect(self.background_progressed)
        self.inference.model_changed.connect(self._on_inference_model_changed)
        self.inference.model_failed.connect(self._on_inference_model_failed)
        self.inference.prediction_ready.connect(self._show)
        self.inference.prediction_failed.connect(self._on_inference_prediction_failed)

    # --- state -------------------------------------------------------------------------------
    @property
    def model(self) -> ModelInfo | None:
        """The model in use (None before one is loaded)."""
        return self.inference.model

    @property
    def mask(self) -> np.ndarray | None:
        """Class-index mask (project indices) of the prediction on screen."""
        return self._prediction.mask if self._prediction is not None else None

    @property
    def confidence(self) -> np.ndarray | None:
        """Per-pixel confidence (uint8) of the prediction on screen (see :meth:`set_confidence`)."""
        return self._prediction.confidence if self._prediction is not None else None

    def class_name_at(self, x: int, y: int) -> str:
        """Name of the predicted class under image pixel (x, y); "" without a prediction."""
        if self._prediction is None:
            return ""
        index = int(self._prediction.mask[y, x])
        return self._table.by_index(index).name if index < len(self._table) else "?"

    def visible_classes(self, hidden: Collection[int]) -> list[int] | None:
        """Every class of the project's table except ``hidden`` (None: all).

        Spelled out over the whole table (not "the model's checked ones"), so that shapes of
        classes the model does not predict stay visible.
        """
        if not hidden:
            return None
        return [i for i in range(len(self._table)) if i not in hidden]

    # --- inputs ------------------------------------------------------------------------------
    def attach(self, project: Project | None) -> None:
        """A project was opened: remember the model there when asked, forget the shown image."""
        self._project = project
        self._image = None
        self._drop_prediction()
        self.inference.cancel_pending()
        self.inference.cancel_background()
        self._counted.clear()

    def set_confidence(self, enabled: bool) -> None:
        """Deliver per-pixel confidences with the predictions (the defect navigator's column)."""
        self.inference.set_confidence(enabled)

    def cancel_background(self) -> None:
        """Stop the background count; a later :meth:`count_in_background` starts it over."""
        self.inference.cancel_background()
        self._counted.clear()  # the queued ones were never answered

    def count_in_background(self, items: Iterable[tuple[str, Path]]) -> int:
        """Predict the images this model has not counted yet, one at a time whenever the worker has
        nothing the operator waits for; ``background_counted`` follows for each (the file list's
        region counts). Replaces an earlier pass; returns the number of images queued."""
        if self.inference.model is None or self._project is None:
            return 0
        shown = self._image.name if self._image is not None else None  # predicted anyway
        todo = [(name, path) for name, path in items if name not in self._counted and name != shown]
        # Queued counts as counted: an unreadable file is not tried again at every image switch (a
        # new project or model clears the set, a class-map change re-posts what is left).
        self._counted.update(name for name, _path in todo)
        self.inference.predict_in_background(todo)
        return len(todo)

    def load_model(self, path: Path, *, remember: bool = False) -> None:
        """Load a model in the worker; the current one stays until the new one is ready."""
        self._remember = remember
        self.model_loading.emit(str(path))
        self.inference.load_model(path)

    def set_project_table(self, table: ClassTable) -> None:
        """The project's class table changed (or was adopted): re-join the model's classes."""
        self._table = table
        self._update_filters()
        if self.sync_class_map() and self._image is not None:
            self.predict()  # the shown prediction was numbered the old way

    def leave_image(self) -> None:
        """Another image was selected: drop the shown prediction and queued requests."""
        self._image = None
        self._drop_prediction()
        self.inference.cancel_pending()

    def show_image(self, loaded: LoadedImage | None) -> None:
        """The image on screen (None: unreadable); its prediction follows."""
        self._image = loaded
        self._drop_prediction()
        if loaded is None:
            self.stats_cleared.emit("Image not readable")
            return
        self.predict()

    def predict(self) -> None:
        """Ask for the prediction of the image on screen (answered at once from the cache)."""
        loaded, model = self._image, self.inference.model
        if loaded is None or loaded.image is None:
            return
        if model is None:
            self.stats_cleared.emit("No model loaded")
            return
        result = self.inference.predict(loaded.image_id, loaded.image)
        if result is not None:
            self._show(result)
        else:
            self.stats_cleared.emit("Predicting…")
            self.model_state_changed.emit(model.name, None, "predicting…")

    def prefetch(self, upcoming: LoadedImage | None) -> None:
        """Predict ``upcoming`` in the background when the worker is idle."""
        if upcoming is not None and upcoming.image is not None and self.inference.model is not None:
            self.inference.prefetch(upcoming.image_id, upcoming.image)

    def shutdown(self) -> None:
        """Stop the inference thread."""
        self.inference.shutdown()

    # --- class map ---------------------------------------------------------------------------
    def sync_class_map(self) -> bool:
        """Join the model's classes to the project's table by label; True if the numbering changed."""
        model = self.inference.model
        if model is None or self._project is None:
            self.inference.set_class_map(None)
            self._refresh_model_classes(model.class_table.classes[1:] if model is not None else ())
            return False
        missing = missing_labels(model.class_table, self._table)
        if missing:
            # The annotation controller grows the table; it comes back through set_project_table.
            self.labels_missing.emit(list(missing), model.name)
            return True
        try:
            class_map = ClassMap.between(model.class_table, self._table)
        except ClassMapError as exc:
            self.notice_posted.emit(f"Cannot show the predictions of {model.name}: {exc}", "error")
            class_map = None
        changed = self.inference.set_class_map(class_map)
        if changed:
            self._drop_prediction()  # numbered the old way; the caller asks again
        self._refresh_model_classes(mapped_classes(model.class_table, self._table))
        return changed

    def _refresh_model_classes(self, classes: Iterable[ClassInfo]) -> None:
        infos = tuple(classes)
        if infos == self._model_classes:
            return
        self._model_classes = infos
        self.model_classes_changed.emit(infos)
        if self._prediction is not None:  # same numbering, other colours: recolour the overlay
            self.overlay_changed.emit(self._prediction.mask, self._table.palette())

    def _update_filters(self) -> None:
        labels: dict[str, str] = {c.label: c.name for c in self._table.classes[1:]}
        model = self.inference.model
        if model is not None:
            for c in model.class_table.classes[1:]:
                labels.setdefault(c.label, c.name)
        pairs = list(labels.items())
        if pairs != self._filters:
            self._filters = pairs
            self.class_filters_changed.emit(pairs)

    def _drop_prediction(self) -> None:
        if self._prediction is not None:
            self._prediction = None
            self.prediction_cleared.emit()

    # --- worker answers ----------------------------------------------------------------------
    def _on_inference_model_changed(self, info: ModelInfo) -> None:
        self._counted.clear()  # the service ended the background pass of the previous model
        self._model_classes = None  # another model: the legend starts again, all classes shown
        self.model_loaded.emit(info)  # may adopt the model's table (set_project_table)
        self.sync_class_map()
        if self._project is not None and self._remember:
            self._project.settings.model_path = str(info.path)
            try:
                self._project.save_settings()
            except ProjectError as exc:
                self.notice_posted.emit(str(exc), "warning")
        self._update_filters()
        self.model_settled.emit()
        self.predict()

    def _on_inference_model_failed(self, path: str, reason: str) -> None:
        current = self.inference.model
        kept = f" Still using {current.name}." if current is not None else " Running without predictions."
        self.notice_posted.emit(f"Could not load model {Path(path).name}: {reason}.{kept}", "error")
        self.model_failed.emit(path, reason)
        if current is None:
            self.stats_cleared.emit("No model loaded")
        self.model_settled.emit()

    def _show(self, result: PredictionResult) -> None:
        loaded, model = self._image, self.inference.model
        if loaded is None or model is None or result.image_id != loaded.image_id:
            return
        if result.model_id != model.model_id or result.class_map_key != self.inference.class_map_key:
            return
        self._prediction = result
        # Project indices (the worker applied the class map): the project's colours.
        self.overlay_changed.emit(result.mask, self._table.palette())
        h, w = result.mask.shape
        self.stats_changed.emit(result.stats, int(h * w))
        self.model_state_changed.emit(model.name, result.elapsed_ms, "")
        self._counted.add(loaded.name)
        self.inference.drop_from_background(loaded.name)
        self.prediction_shown.emit(ShownPrediction(loaded.name, model.model_id, self._per_label(result)))

    def _per_label(self, result: PredictionResult) -> dict[str, tuple[int, int]]:
        stats = result.stats
        return {
            c.label: stats[c.index] if c.index < len(stats) else (0, 0) for c in self._model_classes or ()
        }

    def _on_inference_background_predicted(self, name: str, result: PredictionResult) -> None:
        shown = ShownPrediction(name, result.model_id, self._per_label(result))
        self.background_counted.emit(name, shown.regions())

    def _on_inference_prediction_failed(self, image_id: str, reason: str) -> None:
        loaded = self._image
        if loaded is not None and image_id == loaded.image_id:
            self.stats_cleared.emit("Prediction failed")
            self.notice_posted.emit(f"Prediction failed for {loaded.name}: {reason}", "error")
            self.prediction_failed.emit(loaded.name)
