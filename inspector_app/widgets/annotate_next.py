"""The "annotate next" queue: unannotated images ordered by the current model's uncertainty.

Scoring predicts every unannotated image with probabilities (seconds to minutes), so it runs in a
:class:`BackgroundCall` thread; clicking an entry emits ``open_requested(name)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from inspector_app.core.images import read_image
from inspector_app.core.predictor import Predictor
from inspector_app.jobs.background import BackgroundCall
from inspector_app.services.training import uncertainty


class AnnotateNextPanel(QWidget):
    """A rank button, a status line and the ranked list. ``rank_requested`` when the button is
    pressed (the owner knows the model and the images and calls :meth:`rank`)."""

    rank_requested = Signal()
    open_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rank_button = QPushButton("Rank unannotated images by uncertainty")
        self.rank_button.clicked.connect(self.rank_requested)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.next_list = QListWidget()
        self.next_list.itemActivated.connect(self._on_next_item_activated)
        self.next_list.itemClicked.connect(self._on_next_item_activated)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.rank_button, self.status, self.next_list):
            layout.addWidget(widget)
        self._call = BackgroundCall(self)
        self._call.succeeded.connect(self._on_call_succeeded)
        self._call.failed.connect(lambda m: self.status.setText(f"ranking failed: {m}"))

    def say(self, text: str) -> None:
        """Show ``text`` in the status line (e.g. why ranking is not possible)."""
        self.status.setText(text)

    def rank(self, model_path: Path, root: Path, names: Sequence[str]) -> None:
        """Score ``names`` (in ``root``) with the model at ``model_path``, in a worker thread."""
        self.status.setText(f"scoring {len(names)} image(s) ...")

        def work() -> list[tuple[str, float]]:
            predictor = Predictor(model_path)

            def probabilities(name: str) -> np.ndarray:
                result = predictor.predict(read_image(root / name), probabilities=True).probabilities
                assert result is not None  # asked for
                return result

            return uncertainty.rank_for_annotation(names, probabilities, cancelled=self._call.cancelled)

        self._call.start(work)

    def _on_call_succeeded(self, ranked: list[tuple[str, float]]) -> None:
        self.next_list.clear()
        for name, score in ranked:
            item = QListWidgetItem(f"{name}  ({score:.3f})")
            item.setData(Qt.ItemDataRole.UserRole, name)
            self.next_list.addItem(item)
        self.status.setText(f"{len(ranked)} image(s), most uncertain first; click one to annotate it")

    def _on_next_item_activated(self, item: QListWidgetItem) -> None:
        self.open_requested.emit(str(item.data(Qt.ItemDataRole.UserRole)))
