"""Defect navigator: the regions of the image on screen, one row each, and a way to step through them.

Pinholes of a few pixels are invisible when a 640x480 part is fitted to the window. The
navigator lists every predicted region (an 8-connected component of one class of the prediction
mask) and, when asked, every annotated shape: class, source, area, bounding box and the mean
confidence of its pixels when the prediction carries confidences. Rows sort by size, confidence or
position. Choosing a row (click, Up/Down, or :meth:`DefectNavigator.next_region` /
:meth:`~DefectNavigator.previous_region`, the window's keys :data:`NEXT_REGION_KEY` /
:data:`PREVIOUS_REGION_KEY`) zooms the canvas to it at 1:1 or more and frames it; regions too small
to see at the current zoom carry a ring on the canvas (:mod:`inspector_app.canvas.markers`).

``nav = DefectNavigator(canvas, session)``; the station calls ``nav.set_prediction(mask,
confidence)`` with the mask it shows (project class indices) and ``nav.set_prediction(None)``
when there is none. Signal: ``region_activated(Region)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector_app.core.defect_regions import Region, find_regions, shape_regions, sort_regions
from inspector_app.editing import AnnotationSession
from inspector_app.widgets.legend import swatch

if TYPE_CHECKING:
    from inspector_app.canvas.view import CanvasView

__all__ = ["COLUMNS", "NEXT_REGION_KEY", "PREVIOUS_REGION_KEY", "SORT_CHOICES", "DefectNavigator"]

#: Window shortcuts for stepping (free in the station and in labelme; ``[``/``]`` are the brush size).
NEXT_REGION_KEY = "G"
PREVIOUS_REGION_KEY = "Shift+G"
COLUMNS = ("Class", "Src", "Area px", "Conf.", "Box (x, y, w×h)")
#: At most this many predicted regions are listed (the largest): a speckled prediction of a weak
#: model has tens of thousands, which would take seconds to list and paint and help nobody.
MAX_LISTED = 500
SORT_CHOICES = (
    ("Largest first", "area_desc"),
    ("Smallest first", "area_asc"),
    ("Most confident", "confidence_desc"),
    ("Least confident", "confidence_asc"),
    ("Top to bottom", "position"),
)


class DefectNavigator(QWidget):
    """See the module docstring."""

    region_activated = Signal(object)

    def __init__(
        self,
        canvas: CanvasView | None = None,
        session: AnnotationSession | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self.session = session
        self.min_scale = 1.0
        self._mask: np.ndarray | None = None
        self._confidence: np.ndarray | None = None
        self._predicted: list[Region] = []
        self._total = 0
        self.regions: list[Region] = []

        self.sort_combo = QComboBox(self)
        for text, key in SORT_CHOICES:
            self.sort_combo.addItem(text, key)
        self.sort_combo.setToolTip("Order of the regions")
        self.annotations_box = QCheckBox("Annotations too", self)
        self.annotations_box.setToolTip("List the annotated shapes as well as the predicted regions")
        self.annotations_box.setEnabled(session is not None)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("regionTable")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        for col in range(len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.caption = QLabel("No prediction", self)
        self.caption.setObjectName("navigatorCaption")
        self.caption.setWordWrap(True)

        top = QHBoxLayout()
        top.addWidget(self.sort_combo, 1)
        top.addWidget(self.annotations_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.caption)

        self.sort_combo.currentIndexChanged.connect(lambda _i: self._rebuild())
        self.annotations_box.toggled.connect(lambda _on: self._rebuild())
        self.table.currentCellChanged.connect(self._on_table_current_cell_changed)
        self.table.cellClicked.connect(lambda row, _col: self.go_to(row))
        if session is not None:
            session.shapes_changed.connect(self._on_session_shapes_changed)
            session.class_table_changed.connect(self._on_session_class_table_changed)

    # ------------------------------------------------------------------ inputs
    def _labels(self) -> tuple[str, ...]:
        return self.session.class_table.labels if self.session is not None else ()

    def _name_and_color(self, region: Region) -> tuple[str, tuple[int, int, int]]:
        if self.session is not None and region.label in self.session.class_table:
            info = self.session.class_table.by_label(region.label)
            return info.name, info.color
        return region.label, (200, 200, 200)

    def set_prediction(self, mask: np.ndarray | None, confidence: np.ndarray | None = None) -> None:
        """The prediction on screen (class indices of the session's table) and, when known, the
        per-pixel confidence of its classes (float 0..1 or uint8 0..255)."""
        self._mask = mask
        self._confidence = confidence
        if mask is None:
            self._predicted, self._total = [], 0
        else:
            self._predicted, self._total = find_regions(mask, self._labels(), confidence, limit=MAX_LISTED)
        self._rebuild()

    def _on_session_shapes_changed(self) -> None:
        if self.annotations_box.isChecked():
            self._rebuild()

    def _on_session_class_table_changed(self) -> None:
        self.set_prediction(self._mask, self._confidence)

    # ------------------------------------------------------------------ rows
    def _rebuild(self) -> None:
        regions = list(self._predicted)
        if self.annotations_box.isChecked() and self.session is not None:
            regions += shape_regions(self.session.state.shapes, self._labels())
        self.regions = sort_regions(regions, str(self.sort_combo.currentData()))
        table = self.table
        table.blockSignals(True)
        table.setRowCount(len(self.regions))
        for row, region in enumerate(self.regions):
            name, color = self._name_and_color(region)
            x, y, w, h = region.bbox
            conf = "" if region.confidence is None else f"{100 * region.confidence:.0f} %"
            texts = (name, "pred" if region.source == "prediction" else "ann", f"{region.area:,.0f}",
                     conf, f"{x:.0f}, {y:.0f}, {w:.0f}×{h:.0f}")  # fmt: skip
            for col, text in enumerate(texts):
                item = QTableWidgetItem(text)
                if col == 0:
                    item.setIcon(swatch(color))
                    item.setToolTip(f"{name} (label {region.label!r})")
                if col in (2, 3):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if region.source == "annotation":
                    item.setForeground(QColor("#9ecbff"))
                table.setItem(row, col, item)
        table.clearSelection()
        table.blockSignals(False)
        if self.canvas is not None:
            rings = [(r.bbox, self._name_and_color(r)[1]) for r in self.regions]
            self.canvas.set_region_markers(rings)
            self.canvas.set_current_region(None)
        self._update_caption()

    def _update_caption(self) -> None:
        if self._mask is None and not self.regions:
            self.caption.setText("No prediction")
            return
        predicted = sum(1 for r in self.regions if r.source == "prediction")
        tiny = sum(1 for r in self.regions if r.source == "prediction" and r.extent < 8)
        parts = [f"{predicted} predicted region{'s' if predicted != 1 else ''}"]
        if self._total > predicted:
            parts = [f"the {predicted:,} largest of {self._total:,} predicted regions"]
        if tiny:
            parts.append(f"{tiny} smaller than 8 px")
        annotated = len(self.regions) - predicted
        if annotated:
            parts.append(f"{annotated} annotated")
        self.caption.setText(" · ".join(parts) + f"  ({NEXT_REGION_KEY} / {PREVIOUS_REGION_KEY} step)")

    # ------------------------------------------------------------------ navigation
    def current_index(self) -> int:
        """Row of the region shown, -1 when none."""
        return self.table.currentRow() if self.table.selectedItems() else -1

    def go_to(self, row: int) -> bool:
        """Show region ``row``: select its row, zoom the canvas to it, frame it. False if none."""
        if not 0 <= row < len(self.regions):
            return False
        region = self.regions[row]
        self.table.blockSignals(True)
        self.table.setCurrentCell(row, 0)
        self.table.selectRow(row)
        self.table.blockSignals(False)
        first = self.table.item(row, 0)
        if first is not None:
            self.table.scrollToItem(first)
        if self.canvas is not None:
            self.canvas.zoom_to_rect(region.bbox, min_scale=self.min_scale)
            self.canvas.set_current_region(region.bbox)
        self.region_activated.emit(region)
        return True

    def next_region(self) -> bool:
        """The next region in the list (the first after the last). False when there is none."""
        if not self.regions:
            return False
        return self.go_to((self.current_index() + 1) % len(self.regions))

    def previous_region(self) -> bool:
        """The previous region (the last before the first). False when there is none."""
        if not self.regions:
            return False
        current = self.current_index()
        return self.go_to((current - 1) % len(self.regions) if current >= 0 else len(self.regions) - 1)

    def _on_table_current_cell_changed(self, row: int, _col: int, previous: int, _pcol: int) -> None:
        # Keys move "current"; a click moves it too but is handled by cellClicked (which also
        # serves a second click on the same row, after the operator panned away).
        if row != previous and row >= 0 and QApplication.mouseButtons() == Qt.MouseButton.NoButton:
            self.go_to(row)

    def row_texts(self) -> list[tuple[str, ...]]:
        """What the table shows (tests, screenshots)."""
        return [
            tuple(item.text() if (item := self.table.item(r, c)) else "" for c in range(len(COLUMNS)))
            for r in range(self.table.rowCount())
        ]
