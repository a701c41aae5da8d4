"""Model loading and prediction display: the worker thread answers, the window shows the overlay,
legend and status, and drops answers for an image the operator has left.

A mixin of :class:`inspector_app.main_window.MainWindow` (methods only; the window owns the state).
"""

from __future__ import annotations

import time
from pathlib import Path

from inspector_app.jobs.inference import ModelInfo, PredictionResult
from inspector_app.project import ProjectError
from inspector_app.station.base import StationBase


class PredictionsMixin(StationBase):
    """See the module docstring."""

    def load_model(self, path: Path, *, remember: bool = False) -> None:
        """Load a model in the worker; the current one stays until the new one is ready."""
        self._remember_model = remember
        self.model_picker.set_loading(str(path))
        self.inference.load_model(path)

    def set_no_model(self, message: str) -> None:
        """Run without predictions and say so."""
        self.model_picker.set_absent("No predictions until a model is opened (Ctrl+M).")
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
        self._update_summary()  # the chart lists the model's classes
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
