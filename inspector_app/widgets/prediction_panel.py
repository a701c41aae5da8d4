"""The "Prediction" panel: model picker and legend, subscribed to a :class:`PredictionController`.

Shared by several station modes (each places it in its page when activated).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QGroupBox, QVBoxLayout, QWidget

from inspector_app.controllers.prediction import PredictionController
from inspector_app.jobs.inference import ModelInfo
from inspector_app.widgets.legend import LegendPanel
from inspector_app.widgets.model_picker import ModelPicker


class PredictionPanel(QGroupBox):
    """Model name, card and load state; per-class legend with visibility, opacity and layers."""

    def __init__(self, prediction: PredictionController, parent: QWidget | None = None) -> None:
        super().__init__("Prediction", parent)
        self.model_picker = ModelPicker(self)
        self.legend = LegendPanel(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 8)
        layout.addWidget(self.model_picker)
        layout.addWidget(self.legend)
        self.model_picker.open_requested.connect(lambda p: prediction.load_model(Path(p), remember=True))
        prediction.model_loading.connect(self.model_picker.set_loading)
        prediction.model_loaded.connect(self._on_prediction_model_loaded)
        prediction.model_failed.connect(self.model_picker.set_failed)
        prediction.stats_changed.connect(self.legend.set_stats)
        prediction.stats_cleared.connect(self.legend.clear_stats)
        prediction.model_classes_changed.connect(self.legend.set_classes)
        self.legend.set_classes(None)

    def show_no_model(self) -> None:
        """No model: say where to open one."""
        self.model_picker.set_absent("No predictions until a model is opened (Ctrl+M).")
        self.legend.clear_stats("No model loaded")

    def _on_prediction_model_loaded(self, info: ModelInfo) -> None:
        self.model_picker.set_model(info.card, info.path, info.load_ms)
