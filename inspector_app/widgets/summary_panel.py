"""Review summary: counts, NG rate, per-class frequency among NG images (pyqtgraph bar chart), CSV export.

The chart's bars are horizontal so that class names are written out in full on the left axis
(under vertical bars "contamination" had to be cut to "contamin…").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QFontMetrics
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from inspector_app.services.review_log import ReviewSummary


class SummaryPanel(QWidget):
    """Counts of the review log plus a small bar chart; ``export_requested()`` for "Export CSV…"."""

    export_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values: dict[str, QLabel] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(2)
        fields = (("reviewed", "Reviewed"), ("ok", "OK"), ("ng", "NG"), ("ng_rate", "NG rate"))
        for i, (key, text) in enumerate(fields):
            caption = QLabel(text, self)
            caption.setObjectName("summaryCaption")
            value = QLabel("–", self)
            value.setObjectName(f"summary_{key}")
            self.values[key] = value
            grid.addWidget(caption, 0, i)
            grid.addWidget(value, 1, i)
        self.values["ok"].setStyleSheet("color: #43a047; font-weight: 600;")
        self.values["ng"].setStyleSheet("color: #e53935; font-weight: 600;")

        self.plot = pg.PlotWidget(self)
        self.plot.setObjectName("summaryChart")
        self.plot.setBackground(None)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setMinimumHeight(110)
        self.plot.setMaximumHeight(160)
        self.plot.getPlotItem().setTitle("Classes in NG images", size="9pt")
        small = self.font()
        small.setPointSizeF(max(6.0, small.pointSizeF() * 0.85))
        self._tick_font = small
        for axis in ("left", "bottom"):
            self.plot.getPlotItem().getAxis(axis).setStyle(tickFont=small)
        self._bars: pg.BarGraphItem | None = None
        self.export_button = QPushButton("Export CSV…", self)
        self.export_button.setToolTip("Write the current verdicts as CSV")
        self.export_button.clicked.connect(self.export_requested)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(grid)
        layout.addWidget(self.plot)
        layout.addWidget(self.export_button)

    def set_summary(
        self, summary: ReviewSummary, classes: Sequence[tuple[str, str, tuple[int, int, int]]] = ()
    ) -> None:
        """Show ``summary``; ``classes`` = (label, display name, RGB) in chart order."""
        self.values["reviewed"].setText(f"{summary.reviewed:,} / {summary.total_images:,}")
        self.values["ok"].setText(f"{summary.ok:,}")
        self.values["ng"].setText(f"{summary.ng:,}")
        self.values["ng_rate"].setText(f"{100.0 * summary.ng_rate:.1f} %" if summary.reviewed else "–")
        self._set_chart(summary.class_frequency, classes)

    def _set_chart(
        self, frequency: Mapping[str, int], classes: Sequence[tuple[str, str, tuple[int, int, int]]]
    ) -> None:
        known = [c[0] for c in classes]
        rows = [(label, name, int(frequency.get(label, 0)), color) for label, name, color in classes]
        grey = (150, 150, 150)
        rows += [(label, label, int(n), grey) for label, n in frequency.items() if label not in known]
        item = self.plot.getPlotItem()
        if self._bars is not None:
            item.removeItem(self._bars)
            self._bars = None
        axis = item.getAxis("left")
        if not rows:
            axis.setTicks([[]])
            return
        # First class at the top: y runs upwards, so row i sits at len - 1 - i.
        ys = [len(rows) - 1 - i for i in range(len(rows))]
        counts = [n for _l, _n, n, _c in rows]
        brushes = [pg.mkBrush(QColor(*c)) for _l, _n, _h, c in rows]
        self._bars = pg.BarGraphItem(
            x0=[0] * len(rows), y=ys, width=counts, height=0.65, brushes=brushes, pen=pg.mkPen(None)
        )
        item.addItem(self._bars)
        axis.setTicks([[(y, name) for y, (_l, name, _h, _c) in zip(ys, rows, strict=True)]])
        metrics = QFontMetrics(self._tick_font)
        axis.setWidth(max(metrics.horizontalAdvance(name) for _l, name, _h, _c in rows) + 12)
        item.setYRange(-0.6, len(rows) - 0.4, padding=0)
        item.setXRange(0, max(1, *counts) * 1.1, padding=0)
        # Counts are whole images: whole-number ticks only.
        step = max(1, math.ceil(max(1, *counts) / 5))
        item.getAxis("bottom").setTickSpacing(step, step)
        self.plot.setMinimumHeight(min(60 + 20 * len(rows), 220))
        self.plot.setMaximumHeight(max(160, min(60 + 20 * len(rows), 220)))
