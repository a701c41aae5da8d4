"""Status bar: image size, cursor position and class under the cursor, model and inference time."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStatusBar, QWidget


class StationStatusBar(QStatusBar):
    """Permanent fields (left to right): image, cursor, model, save state."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image_label = QLabel("No image", self)
        self.cursor_label = QLabel("", self)
        self.cursor_label.setMinimumWidth(220)
        self.model_label = QLabel("No model", self)
        self.save_label = QLabel("", self)
        for name, label in (
            ("statusImage", self.image_label),
            ("statusCursor", self.cursor_label),
            ("statusModel", self.model_label),
            ("statusSave", self.save_label),
        ):
            label.setObjectName(name)
        self.addWidget(self.image_label)
        self.addWidget(self.cursor_label, 1)
        self.count_label = QLabel("", self)
        self.count_label.setToolTip("Predicted regions of every image are counted in the background")
        self.addPermanentWidget(self.count_label)
        self.addPermanentWidget(self.save_label)
        self.addPermanentWidget(self.model_label)

    def set_image(self, name: str, height: int, width: int, dtype: str = "", channels: int = 0) -> None:
        """``name · W x H · 3 ch uint8``."""
        parts = [name, f"{width} x {height}"]
        if channels or dtype:
            parts.append(f"{channels} ch {dtype}".strip())
        self.image_label.setText(" · ".join(parts))

    def set_no_image(self, text: str = "No image") -> None:
        """No image on screen."""
        self.image_label.setText(text)
        self.cursor_label.setText("")

    def set_cursor(self, x: int | None, y: int | None, class_name: str = "", value: str = "") -> None:
        """Cursor in image pixels (None = outside the image) and what is under it."""
        if x is None or y is None:
            self.cursor_label.setText("")
            return
        text = f"x {x}, y {y}"
        if value:
            text += f"  value {value}"
        if class_name:
            text += f"  ·  {class_name}"
        self.cursor_label.setText(text)

    def set_model(self, name: str, inference_ms: float | None = None, state: str = "") -> None:
        """``model name · 7.5 ms`` (or a state such as "predicting…")."""
        text = name
        if state:
            text += f" · {state}"
        elif inference_ms is not None:
            text += f" · {inference_ms:.1f} ms"
        self.model_label.setText(text)

    def set_background_left(self, left: int) -> None:
        """Images whose regions are still to be counted in the background (0: hidden)."""
        self.count_label.setText(f"Counting regions: {left} left" if left else "")

    def set_save_state(self, text: str) -> None:
        """ "unsaved", "saved 12:30:01", "autosave failed"…"""
        self.save_label.setText(text)
