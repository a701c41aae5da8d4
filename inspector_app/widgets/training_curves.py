"""Live training curves (pyqtgraph): train loss, validation mIoU and per-class IoU per epoch.

Fed either live, one event at a time (:meth:`add_progress`, :meth:`add_metrics`), or from a
finished run's summary (:meth:`show_run`). Points are appended to numpy-free lists and the plot
items updated in place, so a live update costs a fraction of a millisecond.
"""

from __future__ import annotations

import html

import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from inspector_app.core.protocol import Metrics, Progress
from inspector_app.services.training.runs import RunSummary

_CLASS_COLOURS = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6")


class TrainingCurves(QWidget):
    """Two plots: train loss (per epoch: the last progress loss of the epoch) and validation IoU."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.loss_plot = pg.PlotWidget(title="train loss")
        self.iou_plot = pg.PlotWidget(title="validation IoU")
        for plot in (self.loss_plot, self.iou_plot):
            plot.setBackground("w")
            plot.showGrid(x=True, y=True, alpha=0.3)
            plot.setLabel("bottom", "epoch")
            plot.setMinimumHeight(170)
            layout.addWidget(plot)
        # The key is a label, not a pyqtgraph legend: the legend's first paint took ~50 ms on the
        # 2-core machine, a visible stall while a job runs (benchmarks/app_training_stall.py).
        self.key = QLabel()
        layout.addWidget(self.key)
        self._loss = self.loss_plot.plot(pen=pg.mkPen("#333", width=2))
        self._miou = self.iou_plot.plot(pen=pg.mkPen("#000", width=2))
        self._classes: dict[str, pg.PlotDataItem] = {}
        self.clear()

    def clear(self) -> None:
        """Forget every point (a new run)."""
        self._loss_points: dict[float, float] = {}
        self._miou_points: list[tuple[int, float]] = []
        self._class_points: dict[str, list[tuple[int, float]]] = {}
        for item in self._classes.values():
            self.iou_plot.removeItem(item)
        self._classes.clear()
        self.key.setText('<span style="color:#000">&#9632; mIoU</span>')
        self._loss.setData([], [])
        self._miou.setData([], [])

    def point_count(self) -> int:
        """Points plotted so far, over all curves."""
        return len(self._loss_points) + len(self._miou_points) + sum(map(len, self._class_points.values()))

    def add_progress(self, event: Progress) -> None:
        """A training step: the loss curve's x is the fractional epoch."""
        x = event.epoch - 1 + event.step / max(event.steps, 1)
        self._loss_points[x] = event.loss
        xs = sorted(self._loss_points)
        self._loss.setData(xs, [self._loss_points[k] for k in xs])

    def add_metrics(self, event: Metrics) -> None:
        """A validation result: mIoU and each present class's IoU at ``event.epoch``."""
        if event.split != "val":
            return
        if "miou" in event.values:
            self._miou_points.append((event.epoch, event.values["miou"]))
            self._miou.setData(*zip(*self._miou_points, strict=True))
        for label, values in event.per_class.items():
            if values.get("absent") or "iou" not in values:
                continue
            self._class_points.setdefault(label, []).append((event.epoch, values["iou"]))
            self._class_item(label).setData(*zip(*self._class_points[label], strict=True))

    def show_run(self, run: RunSummary) -> None:
        """A run from the history: its loss and mIoU points (per-class IoU: the final values)."""
        self.clear()
        for epoch, loss in run.train_loss:
            self._loss_points[float(epoch)] = loss
        if run.train_loss:
            self._loss.setData(*zip(*run.train_loss, strict=True))
        self._miou_points = list(run.val_miou)
        if run.val_miou:
            self._miou.setData(*zip(*run.val_miou, strict=True))
        last = run.val_miou[-1][0] if run.val_miou else run.epochs_done
        for label, iou in run.per_class_iou.items():
            self._class_points[label] = [(last, iou)]
            self._class_item(label, symbol=True).setData([last], [iou])

    def _class_item(self, label: str, *, symbol: bool = False) -> pg.PlotDataItem:
        item = self._classes.get(label)
        if item is None:
            colour = _CLASS_COLOURS[len(self._classes) % len(_CLASS_COLOURS)]
            item = self.iou_plot.plot(
                pen=pg.mkPen(colour, width=1),
                symbol="o" if symbol else None,
                symbolBrush=colour,
                symbolSize=6,
            )
            self._classes[label] = item
            self.key.setText(
                self.key.text() + f'&nbsp; <span style="color:{colour}">&#9632; {html.escape(label)}</span>'
            )
        return item
