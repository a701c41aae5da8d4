"""Small views of the Training mode: the data/split table, the preset options, the comparison.

Each shows frozen service results (``ProjectDataset``, ``ProjectSplit``, ``Preset``,
``ModelComparison``); editing happens through the mode, which rebuilds the frozen values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from inspector_app.services.training.compare import ModelComparison
from inspector_app.services.training.dataset import ProjectDataset
from inspector_app.services.training.split import ProjectSplit, class_counts


def _table(headers: list[str], parent: QWidget | None) -> QTableWidget:
    table = QTableWidget(0, len(headers), parent)
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    return table


def _item(text: str, *, editable: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if not editable:
        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    return item


def fill_class_table(table: QTableWidget, dataset: ProjectDataset, split: ProjectSplit) -> None:
    """One row per training class: images, train / val counts, and whether it is new."""
    counts = class_counts(dataset, split)
    table.setRowCount(0)
    for label in dataset.training_table().labels:
        if label == "_background_":
            continue
        train, val = counts.get(label, (0, 0))
        row = table.rowCount()
        table.insertRow(row)
        new = "new class (added to the training table)" if label in dataset.new_classes else ""
        for col, text in enumerate((label, str(train + val), str(train), str(val), new)):
            table.setItem(row, col, _item(text))


def class_table_view(parent: QWidget | None = None) -> QTableWidget:
    """The empty per-class table (filled by :func:`fill_class_table`)."""
    return _table(["class", "images", "train", "val", ""], parent)


def split_view(parent: QWidget | None = None) -> QTableWidget:
    """The empty image / side table (filled by :func:`fill_split`)."""
    table = _table(["image", "split", "classes"], parent)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    return table


def fill_split(table: QTableWidget, dataset: ProjectDataset, split: ProjectSplit) -> None:
    """Every training image with its side (pinned sides marked)."""
    table.setRowCount(0)
    for image in dataset.images:
        side = split.side_of(image.name)
        if side is None:
            continue
        row = table.rowCount()
        table.insertRow(row)
        pin = " (moved)" if image.name in split.pinned else ""
        for col, text in enumerate((image.name, side + pin, ", ".join(image.labels))):
            table.setItem(row, col, _item(text))


def options_view(parent: QWidget | None = None) -> QTableWidget:
    """The empty option / value table of a preset (values editable)."""
    return _table(["option", "value"], parent)


def fill_options(table: QTableWidget, options: Mapping[str, Any]) -> None:
    """The preset's trainer options; the value column is editable (JSON: 40, 1e-3, "cosine")."""
    table.setRowCount(0)
    for key, value in options.items():
        row = table.rowCount()
        table.insertRow(row)
        table.setItem(row, 0, _item(key))
        table.setItem(row, 1, _item(json.dumps(value), editable=True))


def read_options(table: QTableWidget) -> dict[str, Any]:
    """The edited options; a value that is not JSON is taken as a string, an empty one as unset."""
    options: dict[str, Any] = {}
    for row in range(table.rowCount()):
        key_item, value_item = table.item(row, 0), table.item(row, 1)
        if key_item is None or value_item is None:
            continue
        key, value = key_item.text(), value_item.text().strip()
        if not value:
            options[key] = None
            continue
        try:
            options[key] = json.loads(value)
        except ValueError:
            options[key] = value
    return options


def comparison_view(parent: QWidget | None = None) -> QTableWidget:
    """The empty per-class IoU table of a comparison."""
    return _table(["class", "current IoU", "candidate IoU", "change"], parent)


def _pct(value: float | None) -> str:
    return "absent" if value is None else f"{100 * value:.1f}"


def fill_comparison(table: QTableWidget, images: QTableWidget, comparison: ModelComparison) -> None:
    """Per-class IoU of both models, and the images sorted by disagreement."""
    table.setRowCount(0)
    for label in comparison.labels:
        now, new = comparison.iou_current.get(label), comparison.iou_candidate.get(label)
        change = "" if now is None or new is None else f"{100 * (new - now):+.1f}"
        row = table.rowCount()
        table.insertRow(row)
        for col, text in enumerate((label, _pct(now), _pct(new), change)):
            table.setItem(row, col, _item(text))
    images.setRowCount(0)
    for result in comparison.images:
        row = images.rowCount()
        images.insertRow(row)
        texts = (
            result.name,
            f"{100 * result.disagreement:.1f} %",
            f"{100 * result.defect_iou_current:.1f}",
            f"{100 * result.defect_iou_candidate:.1f}",
        )
        for col, text in enumerate(texts):
            images.setItem(row, col, _item(text))


def disagreement_view(parent: QWidget | None = None) -> QTableWidget:
    """The empty per-image table of a comparison (most disagreement first)."""
    return _table(["image", "disagreement", "defect IoU current", "defect IoU candidate"], parent)
