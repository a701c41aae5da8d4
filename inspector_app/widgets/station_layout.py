"""The station's layout: file list | notice bar over the canvas | the active mode's side page."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QScrollArea, QSplitter, QVBoxLayout, QWidget


def build_splitter(
    parent: QWidget, file_panel: QWidget, notice: QWidget, canvas: QWidget, pages: QWidget
) -> QSplitter:
    """Three resizable columns; the side pages scroll vertically when the window is short."""
    center = QWidget(parent)
    center_layout = QVBoxLayout(center)
    center_layout.setContentsMargins(0, 0, 0, 0)
    center_layout.setSpacing(4)
    center_layout.addWidget(notice)
    center_layout.addWidget(canvas, 1)
    side = QScrollArea(parent)
    side.setWidget(pages)
    side.setWidgetResizable(True)
    side.setFrameShape(QScrollArea.Shape.NoFrame)
    side.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    side.setMinimumWidth(330)
    splitter = QSplitter(Qt.Orientation.Horizontal, parent)
    for i, (widget, stretch) in enumerate(((file_panel, 0), (center, 1), (side, 0))):
        splitter.addWidget(widget)
        splitter.setStretchFactor(i, stretch)
    splitter.setSizes([250, 810, 340])
    return splitter
