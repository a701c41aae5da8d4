"""Annotate mode: the drawing tools as buttons, accept/save, and the shared prediction panel.

Accepting a prediction (all classes, or one from Edit ▸ Accept prediction of one class) is wired
here: it joins the prediction on screen (:class:`PredictionController`) to the editing session
(:class:`AnnotationController`). The actions work in every mode; the page is this mode's.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QGridLayout, QMenu, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from inspector_app.controllers.annotation import AnnotationController
from inspector_app.controllers.prediction import PredictionController
from inspector_app.core.classes import ClassInfo
from inspector_app.modes.base import StationMode, group


def _button(action: QAction, parent: QWidget) -> QToolButton:
    button = QToolButton(parent)
    button.setDefaultAction(action)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    # Ignored: long action texts never widen the side page past the window's column.
    button.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
    return button


class AnnotateMode(StationMode):
    """The operator edits shapes."""

    name = "annotate"
    title = "Annotate"

    def __init__(
        self,
        annotation: AnnotationController,
        prediction: PredictionController,
        prediction_panel: QWidget,
        tools: Mapping[str, QAction],
        accept_all: QAction,
        accept_menu: QMenu | None,
        save: QAction,
    ) -> None:
        self._annotation = annotation
        self._prediction = prediction
        self._panel = prediction_panel
        self._accept_menu = accept_menu
        accept_all.triggered.connect(lambda: self.accept_prediction(None))
        save.triggered.connect(annotation.save_current)
        prediction.model_classes_changed.connect(self._on_prediction_model_classes_changed)
        buttons = QWidget()
        grid = QGridLayout(buttons)
        grid.setContentsMargins(0, 0, 0, 0)
        for i, action in enumerate(tools.values()):
            grid.addWidget(_button(action, buttons), i // 3, i % 3)
        rows = (len(tools) + 2) // 3
        grid.addWidget(_button(accept_all, buttons), rows, 0, 1, 3)
        grid.addWidget(_button(save, buttons), rows + 1, 0, 1, 3)
        self._page = QWidget()
        self._layout = QVBoxLayout(self._page)
        self._layout.setContentsMargins(4, 0, 4, 0)
        self._layout.addWidget(group("Annotate", buttons))
        self._layout.addStretch(1)

    def page(self) -> QWidget:
        """Tools, accept and save, then the shared prediction panel."""
        return self._page

    def activate(self) -> None:
        """Take the shared prediction panel (its legend says which classes are drawn)."""
        self._layout.insertWidget(1, self._panel, 0)
        self._panel.show()  # a re-parented widget is hidden until shown

    def accept_prediction(self, classes: list[int] | None) -> int:
        """Turn the shown prediction (all classes or some project indices) into polygons."""
        return self._annotation.accept_prediction(self._prediction.mask, classes)

    def _on_prediction_model_classes_changed(self, classes: tuple[ClassInfo, ...]) -> None:
        menu = self._accept_menu
        if menu is None:
            return
        menu.clear()
        for c in classes:
            action = menu.addAction(f"{c.name} ({c.label})")
            action.triggered.connect(lambda _checked=False, i=c.index: self.accept_prediction([i]))
        menu.setEnabled(bool(classes))
