"""Model loading and prediction display: the worker thread answers, the window shows the overlay,
legend and status, and drops answers for an image the operator has left.

Class numbering: the model numbers classes in the order of ITS class table, the shapes use the
PROJECT's (the session's). When a model arrives or the project's table changes,
:meth:`PredictionsMixin._sync_class_map` joins the two by label: labels the project lacks are
added to it (with a notice, as for unknown labels in JSON files), and the inference worker
translates every prediction once into project indices (:mod:`inspector_app.services.class_map`).
From there on overlay colours, legend, visibility, accept-prediction, list counts and review
areas all speak project indices.

A mixin of :class:`inspector_app.main_window.MainWindow` (methods only; the window owns the state).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from inspector_app.core.classes import ClassInfo
from inspector_app.jobs.inference import ModelInfo, PredictionResult
from inspector_app.services.class_map import ClassMap, ClassMapError, mapped_classes, missing_labels
from inspector_app.services.project import ProjectError
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
        self.status.set_model(info.name)
        self._model_classes = None  # another model: the legend starts again, all classes shown
        if self.project is not None and self._table_source in ("model", "none"):
            self._use_class_table(info.class_table)
            self._table_source = "model"
        self._sync_class_map()
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

    def _sync_class_map(self) -> bool:
        """Join the model's classes to the project's table by label; True if the numbering changed.

        Adds the model's labels the project lacks (persisted, with a notice), hands the
        index map to the inference worker, and refreshes what lists the model's classes (legend,
        accept menu) when their project index, name or colour changed. Called when a model is
        loaded, a project opened, and whenever the session's class table changes.
        """
        model = self.inference.model
        if model is None or self.project is None:
            self.inference.set_class_map(None)
            self._refresh_model_classes(model.class_table.classes[1:] if model is not None else ())
            return False
        table = self.session.class_table
        missing = missing_labels(model.class_table, table)
        if missing:
            # Re-enters through class_table_changed with the grown table, which does the rest.
            self._use_class_table(table.with_labels(missing)[0])
            saved = self._persist_class_table()
            where = " (saved to .inspector/classes.yaml)" if saved else ""
            self.notice.show_message(
                f"Model {model.name} predicts label(s) {', '.join(missing)} that the project's classes "
                f"lacked: added{where}.",
                "warning",
            )
            return True
        try:
            class_map = ClassMap.between(model.class_table, table)
        except ClassMapError as exc:
            self.notice.show_message(f"Cannot show the predictions of {model.name}: {exc}", "error")
            class_map = None
        changed = self.inference.set_class_map(class_map)
        if changed:
            self._prediction = None  # numbered the old way; the caller asks again
        self._refresh_model_classes(mapped_classes(model.class_table, table))
        return changed

    def _refresh_model_classes(self, classes: Iterable[ClassInfo]) -> None:
        """Legend rows and accept menu: the model's classes as the project numbers and colours them."""
        infos = tuple(classes)
        if infos == self._model_classes:
            return
        self._model_classes = infos
        self.legend.set_classes(infos)
        self._apply_class_visibility()
        self._build_accept_menu()
        prediction = self._prediction
        if prediction is not None:  # same numbering, other colours: recolour the overlay
            self.canvas.set_prediction(prediction.mask, self.session.class_table.palette())

    def _apply_class_visibility(self) -> None:
        """Canvas: every class of the project's table except those unchecked in the legend."""
        hidden = set(self.legend.hidden_classes())
        if not hidden:
            self.canvas.set_visible_classes(None)
            return
        # Spelled out over the whole table (not "the checked ones"), so that shapes of classes
        # the model does not predict stay visible; redone whenever the table grows.
        everything = range(len(self.session.class_table))
        self.canvas.set_visible_classes([i for i in everything if i not in hidden])

    def _build_accept_menu(self) -> None:
        menu = self.actions_.accept_menu
        if menu is None:
            return
        menu.clear()
        for c in self._model_classes or ():
            action = menu.addAction(f"{c.name} ({c.label})")
            action.triggered.connect(lambda _checked=False, i=c.index: self.accept_prediction([i]))
        menu.setEnabled(bool(self._model_classes))

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
        if result.model_id != model.model_id or result.class_map_key != self.inference.class_map_key:
            return
        self._prediction = result
        # Project indices (the worker applied the class map): the project's colours.
        self.canvas.set_prediction(result.mask, self.session.class_table.palette())
        h, w = result.mask.shape
        self.legend.set_stats(result.stats, int(h * w))
        self.status.set_model(model.name, result.elapsed_ms)
        regions = {label: r for label, (_a, r) in self.prediction_stats(result).items() if r}
        self.list_model.set_predicted(loaded.name, regions)
        self.last_switch_ms = (time.perf_counter() - self._request_started) * 1e3
        self.prediction_shown.emit(loaded.name)
        upcoming = self._next_loaded()
        if upcoming is not None and upcoming.image is not None:
            self.inference.prefetch(upcoming.image_id, upcoming.image)

    def prediction_stats(self, result: PredictionResult) -> dict[str, tuple[int, int]]:
        """label -> (area px, regions) of every class the model predicts (zeros included)."""
        stats = result.stats
        return {
            c.label: stats[c.index] if c.index < len(stats) else (0, 0) for c in self._model_classes or ()
        }

    def _on_prediction_failed(self, image_id: str, reason: str) -> None:
        if self._current is not None and image_id == self._current.image_id:
            self.legend.clear_stats("Prediction failed")
            self.notice.show_message(f"Prediction failed for {self._current.name}: {reason}", "error")
            self.prediction_shown.emit(self._current.name)
