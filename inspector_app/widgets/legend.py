"""Overlay controls and legend: layer mode, opacity, and per class colour / name / area / regions.

The legend lists the classes the model predicts, as the *project's* class table numbers, names and
colours them (the station maps the model's indices onto the project's, see
:mod:`inspector_app.services.class_map`): a check box per class toggles its visibility on the canvas,
and the statistics of the image on screen are shown as pixels, percent of the image and connected
regions (``region_stats``, computed in the inference worker, indexed by project class index).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSlider,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

LAYER_MODE_BUTTONS = (("prediction", "Prediction"), ("annotation", "Annotation"), ("both", "Both"))
_COLUMNS = ("Class", "px", "%", "Reg.")
_COLUMN_TIPS = ("Class (check to show)", "Predicted area in pixels", "Predicted area, % of the image",
                "Connected regions")

#: The layer buttons as one segmented control: the active one filled with the accent colour,
#: bold and underlined by a bright bar, the others flat and dim, so the mode reads at a glance.
LAYER_BUTTON_STYLE = """
QPushButton[layerMode="true"] { background: #2f3035; color: #a9abb2; border: 1px solid #55575e;
  padding: 4px 10px; font-weight: 400; }
QPushButton[layerMode="true"]:hover { background: #3a3c42; color: #e1e1e4; }
QPushButton[layerMode="true"]:checked { background: #1f6fd1; color: #ffffff; font-weight: 700;
  border: 1px solid #7fb3ff; border-bottom: 3px solid #bcd8ff; }
QPushButton#layer_prediction { border-top-left-radius: 4px; border-bottom-left-radius: 4px; }
QPushButton#layer_both { border-top-right-radius: 4px; border-bottom-right-radius: 4px; }
"""


def swatch(color: Sequence[int], size: int = 14) -> QIcon:
    """A square colour icon."""
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(int(color[0]), int(color[1]), int(color[2])))
    return QIcon(pixmap)


def format_area(area: int, pixels: int) -> tuple[str, str]:
    """``("1,234", "0.40 %")``; percent with more digits for tiny areas (pinholes)."""
    if pixels <= 0:
        return f"{area:,}", ""
    pct = 100.0 * area / pixels
    if area == 0:
        text = "0"
    elif pct < 0.01:
        text = f"{pct:.4f}"
    elif pct < 1:
        text = f"{pct:.3f}"
    else:
        text = f"{pct:.2f}"
    return f"{area:,}", f"{text} %"


class LegendPanel(QWidget):
    """Layer mode buttons, opacity slider and the class legend table.

    Signals: ``opacity_changed(float 0..1)``, ``layer_mode_changed(str)``,
    ``visibility_changed(list[int])`` (visible class indices of the listed classes, background
    excluded; :meth:`hidden_classes` gives the unchecked ones).
    """

    opacity_changed = Signal(float)
    layer_mode_changed = Signal(str)
    visibility_changed = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._classes: list[Any] = []  # ClassInfo (project indices) of the listed classes
        self._updating = False

        self.mode_buttons: dict[str, QPushButton] = {}
        self._mode_group = QButtonGroup(self)
        self._mode_group.setExclusive(True)
        mode_row = QHBoxLayout()
        mode_row.setSpacing(0)
        for key, text in LAYER_MODE_BUTTONS:
            button = QPushButton(text, self)
            button.setCheckable(True)
            button.setObjectName(f"layer_{key}")
            button.setProperty("layerMode", True)
            button.setStyleSheet(LAYER_BUTTON_STYLE)
            button.setToolTip(f"Show {text.lower()} layer" + (" (L cycles)" if key == "both" else ""))
            self._mode_group.addButton(button)
            self.mode_buttons[key] = button
            mode_row.addWidget(button)
            button.clicked.connect(lambda _checked=False, k=key: self._on_mode(k))
        self.mode_buttons["both"].setChecked(True)

        self.opacity = QSlider(Qt.Orientation.Horizontal, self)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(50)
        self.opacity.setToolTip("Opacity of the prediction overlay")
        self.opacity_label = QLabel("50 %", self)
        self.opacity_label.setMinimumWidth(40)
        opacity_row = QHBoxLayout()
        opacity_row.addWidget(QLabel("Opacity", self))
        opacity_row.addWidget(self.opacity, 1)
        opacity_row.addWidget(self.opacity_label)
        self.opacity.valueChanged.connect(self._on_opacity)

        self.table = QTableWidget(0, len(_COLUMNS), self)
        self.table.setHorizontalHeaderLabels(list(_COLUMNS))
        for col, tip in enumerate(_COLUMN_TIPS):
            header_item = self.table.horizontalHeaderItem(col)
            if header_item is not None:
                header_item.setToolTip(tip)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        # Every column as wide as its contents: names are never cut ("contamin…") and numbers
        # never wrap; a panel too narrow for all scrolls sideways instead.
        for col in range(len(_COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setMinimumSectionSize(24)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.table.setMaximumHeight(170)  # about 6 classes; the panel scrolls for more
        self.table.itemChanged.connect(self._on_item_changed)
        self.caption = QLabel("No prediction", self)
        self.caption.setObjectName("legendCaption")
        self.caption.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(mode_row)
        layout.addLayout(opacity_row)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.caption)

    # --- controls ----------------------------------------------------------------------------------
    def set_opacity(self, value: float) -> None:
        """Set the slider (0..1) without echoing a change back when unchanged."""
        self.opacity.setValue(round(max(0.0, min(1.0, value)) * 100))

    def set_layer_mode(self, mode: str) -> None:
        """Check the button of ``mode`` and emit ``layer_mode_changed``."""
        if mode in self.mode_buttons:
            self.mode_buttons[mode].setChecked(True)
            self.layer_mode_changed.emit(mode)

    def layer_mode(self) -> str:
        """The checked layer mode."""
        return next((k for k, b in self.mode_buttons.items() if b.isChecked()), "both")

    def cycle_layer_mode(self) -> None:
        """prediction -> annotation -> both -> prediction."""
        keys = [k for k, _ in LAYER_MODE_BUTTONS]
        self.set_layer_mode(keys[(keys.index(self.layer_mode()) + 1) % len(keys)])

    def _on_mode(self, mode: str) -> None:
        self.layer_mode_changed.emit(mode)

    def _on_opacity(self, value: int) -> None:
        self.opacity_label.setText(f"{value} %")
        self.opacity_changed.emit(value / 100.0)

    # --- legend ------------------------------------------------------------------------------------
    def set_classes(self, classes: Iterable[Any] | None) -> None:
        """List these ``ClassInfo`` (background left out by the caller), all visible, no statistics."""
        self._classes = list(classes) if classes is not None else []
        self._updating = True
        self.table.setRowCount(len(self._classes))
        for row, info in enumerate(self._classes):
            item = QTableWidgetItem(swatch(info.color), info.name)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            item.setToolTip(f"{info.name} (label {info.label!r}, index {info.index}); click to show/hide")
            item.setData(Qt.ItemDataRole.UserRole, info.index)
            self.table.setItem(row, 0, item)
            for col in range(1, len(_COLUMNS)):
                cell = QTableWidgetItem("–")
                cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                cell.setFlags(Qt.ItemFlag.ItemIsEnabled)
                self.table.setItem(row, col, cell)
        self._updating = False
        self._fit_columns()
        self.caption.setText("No prediction" if self._classes else "No model")

    def set_stats(self, stats: Sequence[tuple[int, int]], image_pixels: int, caption: str = "") -> None:
        """Per class index ``(area px, regions)`` of the image on screen (index 0 ignored)."""
        self._updating = True
        total_defect = 0
        for row, info in enumerate(self._classes):
            area, regions = stats[info.index] if info.index < len(stats) else (0, 0)
            total_defect += area
            area_text, pct_text = format_area(area, image_pixels)
            values = (area_text, pct_text, f"{regions:,}")
            for col, text in enumerate(values, start=1):
                cell = self.table.item(row, col)
                if cell is not None:
                    cell.setText(text)
                    cell.setForeground(QColor("#888888") if area == 0 else QColor())
        self._updating = False
        self._fit_columns()
        if not caption:
            _a, pct = format_area(total_defect, image_pixels)
            caption = f"Defect area: {total_defect:,} px ({pct})"
        self.caption.setText(caption)

    def _fit_columns(self) -> None:
        """Each column as wide as its widest text plus padding (Qt's own content hint measures
        the cells a few pixels short under the station's style, which cut "30,211" to "0,211")."""
        metrics = self.table.fontMetrics()
        header = self.table.horizontalHeader()
        for col in range(len(_COLUMNS)):
            texts = [_COLUMNS[col]] + [
                item.text() for row in range(self.table.rowCount()) if (item := self.table.item(row, col))
            ]
            width = max(metrics.horizontalAdvance(t) for t in texts) + 14
            if col == 0:
                width += 36  # check box and colour swatch
            header.resizeSection(col, width)

    def clear_stats(self, caption: str = "No prediction") -> None:
        """Dashes instead of numbers (no prediction for this image yet)."""
        self._updating = True
        for row in range(self.table.rowCount()):
            for col in range(1, len(_COLUMNS)):
                cell = self.table.item(row, col)
                if cell is not None:
                    cell.setText("–")
        self._updating = False
        self.caption.setText(caption)

    def visible_classes(self) -> list[int]:
        """Indices of the checked classes."""
        out = []
        for row, info in enumerate(self._classes):
            item = self.table.item(row, 0)
            if item is not None and item.checkState() == Qt.CheckState.Checked:
                out.append(info.index)
        return out

    def hidden_classes(self) -> list[int]:
        """Indices of the unchecked classes."""
        visible = set(self.visible_classes())
        return [info.index for info in self._classes if info.index not in visible]

    def set_class_visible(self, index: int, visible: bool) -> None:
        """Check or uncheck one class (emits ``visibility_changed``)."""
        for row, info in enumerate(self._classes):
            item = self.table.item(row, 0)
            if info.index == index and item is not None:
                item.setCheckState(Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked)

    def row_texts(self) -> list[tuple[str, str, str, str]]:
        """What the table shows, row by row (for tests and screenshots)."""
        rows = []
        for row in range(self.table.rowCount()):
            texts = [self.table.item(row, c).text() for c in range(len(_COLUMNS))]  # type: ignore[union-attr]
            rows.append((texts[0], texts[1], texts[2], texts[3]))
        return rows

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if not self._updating and item.column() == 0:
            self.visibility_changed.emit(self.visible_classes())
