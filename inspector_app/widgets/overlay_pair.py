"""Two overlays side by side: the current model's prediction and the candidate's on one image."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter, QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from inspector_app.qtconvert import array_to_qimage, overlay_qimage

SIDE = 220  # longest side of each overlay, pixels


class OverlayPair(QWidget):
    """``show_pair(image, (mask, palette), (mask, palette))``: current left, candidate right."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.titles = (QLabel("current"), QLabel("candidate"))
        self.views = (QLabel(), QLabel())
        for col, (title, view) in enumerate(zip(self.titles, self.views, strict=True)):
            view.setAlignment(Qt.AlignmentFlag.AlignCenter)
            view.setMinimumSize(80, 80)
            layout.addWidget(title, 0, col)
            layout.addWidget(view, 1, col)

    def show_pair(
        self,
        name: str,
        image: np.ndarray,
        current: tuple[np.ndarray, np.ndarray],
        candidate: tuple[np.ndarray, np.ndarray],
    ) -> None:
        """Draw ``image`` with each model's class mask (uint8 HxW) coloured by its palette."""
        base = array_to_qimage(image)
        for title, view, (mask, palette), who in zip(
            self.titles, self.views, (current, candidate), ("current", "candidate"), strict=True
        ):
            pixmap = QPixmap.fromImage(base)
            painter = QPainter(pixmap)
            painter.drawImage(0, 0, overlay_qimage(mask, palette, 0.55))
            painter.end()
            view.setPixmap(
                pixmap.scaled(
                    SIDE, SIDE, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
                )
            )
            title.setText(f"{who}: {name}")

    def has_images(self) -> bool:
        """True once a pair is shown."""
        return all(not view.pixmap().isNull() for view in self.views)
