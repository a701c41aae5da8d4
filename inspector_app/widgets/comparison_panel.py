"""Candidate vs current: per-class IoU table, images sorted by disagreement, overlays side by side.

Both models are run with onnxruntime on the same validation images in a worker thread
(:func:`inspector_app.services.training.compare.compare_models`); selecting an image predicts it
with both models (also in a worker) and shows the two overlays.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from inspector_app.core.images import read_image
from inspector_app.core.predictor import Predictor
from inspector_app.jobs.background import BackgroundCall
from inspector_app.services.training.compare import ModelComparison, compare_models
from inspector_app.widgets import training_widgets as tw
from inspector_app.widgets.overlay_pair import OverlayPair


class ComparisonPanel(QWidget):
    """``compare(current, candidate, root, names)`` fills the tables; :attr:`result` keeps it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.table, self.images_table = tw.comparison_view(), tw.disagreement_view()
        self.images_table.currentCellChanged.connect(self._on_images_current_cell_changed)
        self.overlays = OverlayPair()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.status, self.table, self.images_table, self.overlays):
            layout.addWidget(widget)
        self.result: ModelComparison | None = None
        self._models: tuple[Path, Path] | None = None
        self._root: Path | None = None
        self._compare, self._overlay = BackgroundCall(self), BackgroundCall(self)
        self._compare.succeeded.connect(self._on_compare_succeeded)
        self._compare.failed.connect(lambda m: self.status.setText(f"comparison failed: {m}"))
        self._overlay.succeeded.connect(lambda args: self.overlays.show_pair(*args))
        self._overlay.failed.connect(lambda m: self.status.setText(f"overlay failed: {m}"))

    def say(self, text: str) -> None:
        """Show ``text`` in the status line."""
        self.status.setText(text)

    def compare(self, current: Path, candidate: Path, root: Path, names: Sequence[str]) -> None:
        """Score both models on ``names`` (validation images in ``root``) in a worker thread."""
        self._models, self._root = (current, candidate), root
        self.status.setText(f"comparing {candidate.parent.name} with the current model ...")

        def work() -> ModelComparison:
            now, new = Predictor(current), Predictor(candidate)
            table_now, table_new = now.card.class_table, new.card.class_table
            return compare_models(
                root, names, now, table_now, new, table_new, cancelled=self._compare.cancelled
            )

        self._compare.start(work)

    def _on_compare_succeeded(self, result: ModelComparison) -> None:
        self.result = result
        tw.fill_comparison(self.table, self.images_table, result)
        self.status.setText(
            f"mIoU current {100 * result.miou_current:.1f}, candidate {100 * result.miou_candidate:.1f}"
            f" on {len(result.images)} validation image(s)"
        )

    def _on_images_current_cell_changed(self, row: int, *_rest: int) -> None:
        item, models, root = self.images_table.item(row, 0), self._models, self._root
        if item is None or models is None or root is None:
            return
        name = item.text()

        def work() -> tuple[object, ...]:
            image = read_image(root / name)
            pairs = []
            for path in models:
                predictor = Predictor(path)
                pairs.append((predictor.predict(image).mask, predictor.card.class_table.palette()))
            return (name, image, *pairs)

        self._overlay.start(work)
