"""Model picker: the current model's name and state, "Open model…", and the model card dialog."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from inspector_app.core.classes import color_hex


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def _kv_table(data: dict[str, Any]) -> str:
    if not data:
        return "<p><i>none recorded</i></p>"
    rows = "".join(
        f"<tr><td style='padding-right:12px'>{html.escape(str(k))}</td><td>{html.escape(_fmt(v))}</td></tr>"
        for k, v in data.items()
    )
    return f"<table>{rows}</table>"


def describe_card(card: Any, path: Path | None = None) -> str:
    """HTML description of a model card: identity, classes with colours, metrics, training."""
    parts = [f"<h3>{html.escape(str(card.name))}</h3>"]
    ident = {
        "architecture": card.architecture,
        "model id": card.model_id,
        "created": card.created,
        "parent": card.parent or "—",
        "input": f"{card.input_channels} channel(s), "
        + (
            f"fixed {card.input_size[1]}x{card.input_size[0]}"
            if card.input_size
            else f"any size, multiple of {card.size_multiple}"
        ),
        "output": card.output + (f" (threshold {card.threshold})" if card.output == "sigmoid" else ""),
    }
    if path is not None:
        ident["file"] = str(path)
    parts.append(_kv_table(ident))
    parts.append("<h4>Classes</h4><table>")
    for info in card.class_table.classes:
        colour = color_hex(info.color)
        parts.append(
            f"<tr><td><span style='background:{colour};color:{colour}'>&nbsp;&nbsp;&nbsp;&nbsp;</span></td>"
            f"<td>{info.index}</td><td>{html.escape(info.name)}</td>"
            f"<td style='color:#888'>{html.escape(info.label)}</td></tr>"
        )
    parts.append("</table>")
    parts.append("<h4>Metrics</h4>" + _kv_table(dict(card.metrics)))
    parts.append("<h4>Training</h4>" + _kv_table(dict(card.training)))
    return "".join(parts)


#: Headline metrics shown under the model name (card key -> label), first found first.
_HEADLINE = (("miou", "mIoU"), ("mdice", "mDice"), ("macc", "mAcc"), ("iou", "IoU"), ("dice", "Dice"))


def short_metrics(card: Any) -> str:
    """One line of the headline validation metrics, e.g. ``mIoU 0.736 · mDice 0.832``."""
    metrics = {str(k).lower(): v for k, v in dict(card.metrics).items()}
    picked = [
        f"{label} {metrics[key]:.3f}"
        for key, label in _HEADLINE
        if isinstance(metrics.get(key), int | float) and not isinstance(metrics.get(key), bool)
    ]
    return " · ".join(picked[:3])


class ModelCardDialog(QDialog):
    """Read-only view of a model card."""

    def __init__(self, card: Any, path: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Model card — {card.name}")
        self.browser = QTextBrowser(self)
        self.browser.setHtml(describe_card(card, path))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
        self.resize(520, 560)


class ModelPicker(QWidget):
    """Shows the current model; ``open_requested(path)`` when the operator picks an ``.onnx``."""

    open_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._card: Any = None
        self._path: Path | None = None
        self.name_label = QLabel("No model", self)
        self.name_label.setObjectName("modelName")
        self.name_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail_label = QLabel("", self)
        self.detail_label.setObjectName("modelDetail")
        self.detail_label.setWordWrap(True)
        self.open_button = QPushButton("Open model…", self)
        self.open_button.setToolTip("Load an ONNX model with its model card (Ctrl+M)")
        self.card_button = QPushButton("Model card…", self)
        self.card_button.setToolTip("Show the model card: classes, metrics, training summary")
        self.card_button.setEnabled(False)
        self.name_label.setWordWrap(True)
        font = self.name_label.font()
        font.setBold(True)
        self.name_label.setFont(font)
        buttons = QHBoxLayout()
        buttons.addWidget(self.card_button)
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.name_label)
        layout.addWidget(self.detail_label)
        layout.addLayout(buttons)
        self.open_button.clicked.connect(self.choose_file)
        self.card_button.clicked.connect(self.show_card)
        self.start_dir = ""

    def choose_file(self) -> None:
        """File dialog for an ``.onnx`` file; emits ``open_requested``."""
        path, _ = QFileDialog.getOpenFileName(self, "Open model", self.start_dir, "ONNX models (*.onnx)")
        if path:
            self.open_requested.emit(path)

    def set_loading(self, path: str) -> None:
        """Show that a model is being loaded."""
        self.detail_label.setText(f"Loading {Path(path).name}…")

    def set_model(self, card: Any, path: Path, load_ms: float = 0.0) -> None:
        """Show a loaded model."""
        self._card, self._path = card, path
        self.name_label.setText(str(card.name))
        self.name_label.setToolTip(str(path))
        metrics = short_metrics(card)
        classes = ", ".join(c.name for c in card.class_table.classes[1:])
        text = f"{card.architecture} · {classes}"
        if metrics:
            text += f" · {metrics}"
        self.detail_label.setText(text)
        self.detail_label.setStyleSheet("")
        self.card_button.setEnabled(True)

    def set_failed(self, path: str, reason: str) -> None:
        """A load failed: keep showing the previous model, say why below it."""
        kept = f"still using {self._card.name}" if self._card is not None else "no model loaded"
        self.detail_label.setText(f"Could not load {Path(path).name}: {reason} ({kept})")
        self.detail_label.setStyleSheet("color: #e53935;")

    def set_absent(self, message: str) -> None:
        """No model at all (e.g. the bundled one is missing)."""
        self._card = None
        self.name_label.setText("No model")
        self.detail_label.setText(message)
        self.card_button.setEnabled(False)

    def show_card(self) -> None:
        """Open the card dialog of the current model."""
        if self._card is not None:
            ModelCardDialog(self._card, self._path, self).exec()
