"""Live mode: up to four sources tiled in place of the canvas, controls and settings on the side.

The tiles replace the canvas while the mode is active (the canvas comes back on leaving it). The
side page: sources (add by spec: camera index, /dev/videoN, file, rtsp/http URL, folder), run
controls (start, stop, pause, size setting), the verdict-rules editor, NG capture and line
outputs. Everything it shows comes from the :class:`LiveController`'s signals; the model follows
the station's (Model ▸ Open model… switches a running stream without stopping it).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from inspector_app.controllers.live import LiveController, TileStats
from inspector_app.controllers.station import Station
from inspector_app.jobs.inference import ModelInfo
from inspector_app.modes.base import StationMode, group
from inspector_app.services.live.rules import VerdictRules
from inspector_app.services.live.sizing import SIZE_MODES
from inspector_app.widgets.live_tile import LiveTile
from inspector_app.widgets.rules_editor import RulesEditor
from inspector_app.widgets.source_settings import SourceSettingsDialog

__all__ = ["LiveMode"]


class LiveMode(StationMode):
    """See the module doc. ``live``: the controller; ``tiles``: the tile per source id."""

    name = "live"
    title = "Live"

    def __init__(self, live: LiveController, station: Station, canvas: QWidget) -> None:
        self.live = live
        self._canvas = canvas
        self.tiles: list[LiveTile] = []
        self._start_pending = False
        self.grid_widget = QWidget()
        self._grid = QGridLayout(self.grid_widget)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(4)
        self.grid_widget.hide()
        self._page = QWidget()
        layout = QVBoxLayout(self._page)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(group("Sources", self._build_sources()))
        layout.addWidget(group("Run", self._build_run()))
        self.rules_editor = RulesEditor()
        layout.addWidget(group("Verdict rules", self.rules_editor))
        layout.addWidget(group("NG capture and line outputs", self._build_outputs()))
        self.message = QLabel("")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        layout.addStretch(1)
        live.sources_changed.connect(self._on_live_sources_changed)
        live.result_arrived.connect(self._on_live_result_arrived)
        live.stats_changed.connect(self._on_live_stats_changed)
        live.state_changed.connect(self._on_live_state_changed)
        live.rules_changed.connect(self._on_live_rules_changed)
        live.settings_changed.connect(self._on_live_settings_changed)
        live.model_switched.connect(lambda model_id: self._say(f"Model switched: {model_id}", "info"))
        live.notice_posted.connect(self._say)
        self.rules_editor.rules_edited.connect(live.set_rules)
        station.navigation.project_opened.connect(live.attach)
        station.prediction.model_loaded.connect(self._on_prediction_model_loaded)
        if station.navigation.project is not None:
            live.attach(station.navigation.project)
        if station.prediction.model is not None:
            self._on_prediction_model_loaded(station.prediction.model)
        self._on_live_state_changed(live.state)

    # --- page ----------------------------------------------------------------------------------
    def _build_sources(self) -> QWidget:
        box = QWidget()
        self.source_edit = QLineEdit()
        self.source_edit.setPlaceholderText("0, /dev/video0, clip.mp4, rtsp://…, folder")
        self.source_edit.returnPressed.connect(self.add_typed_source)
        add = QPushButton("Add source")
        add.clicked.connect(self.add_typed_source)
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.source_edit, 1)
        row.addWidget(add)
        return box

    def _build_run(self) -> QWidget:
        box = QWidget()
        self.start_button = QPushButton("Start")
        self.stop_button = QPushButton("Stop")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("Freeze the frames with their predictions; wheel zooms, drag pans")
        self.start_button.clicked.connect(self.live.start)
        self.stop_button.clicked.connect(self.live.stop)
        self.pause_button.toggled.connect(self.live.pause)
        self.size_combo = QComboBox()
        self.size_combo.addItems(list(SIZE_MODES))
        self.size_combo.setToolTip("Large frames: infer at full size, downscaled, or in overlapping tiles")
        self.size_combo.currentTextChanged.connect(lambda mode: self.live.update_settings(size_mode=mode))
        buttons = QHBoxLayout()
        for button in (self.start_button, self.pause_button, self.stop_button):
            buttons.addWidget(button)
        form = QFormLayout(box)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(buttons)
        form.addRow("Size", self.size_combo)
        return box

    def _build_outputs(self) -> QWidget:
        box = QWidget()
        self.ng_check = QCheckBox("Save NG frames (live_captures/)")
        self.ng_interval = QDoubleSpinBox()
        self.ng_interval.setRange(0.0, 3600.0)
        self.ng_interval.setSuffix(" s")
        self.ng_quota = QDoubleSpinBox()
        self.ng_quota.setRange(1.0, 1_000_000.0)
        self.ng_quota.setSuffix(" MB")
        self.lines_edit = QLineEdit()
        self.lines_edit.setPlaceholderText("verdicts.jsonl (empty: off)")
        self.tcp_check = QCheckBox("TCP port")
        self.tcp_port = QSpinBox()
        self.tcp_port.setRange(0, 65535)
        self.tcp_port.setToolTip("127.0.0.1 only; 0 = any free port")
        tcp = QHBoxLayout()
        tcp.addWidget(self.tcp_check)
        tcp.addWidget(self.tcp_port, 1)
        form = QFormLayout(box)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.ng_check)
        form.addRow("At most one per", self.ng_interval)
        form.addRow("Disk quota", self.ng_quota)
        form.addRow("JSON lines", self.lines_edit)
        form.addRow(tcp)
        note = QLabel("Outputs take new settings at the next start.")
        note.setWordWrap(True)
        form.addRow(note)
        self.ng_check.toggled.connect(lambda on: self.live.update_settings(ng_capture=on))
        self.ng_interval.editingFinished.connect(
            lambda: self.live.update_settings(ng_interval_s=self.ng_interval.value())
        )
        self.ng_quota.editingFinished.connect(
            lambda: self.live.update_settings(ng_quota_mb=self.ng_quota.value())
        )
        self.lines_edit.editingFinished.connect(
            lambda: self.live.update_settings(lines_path=self.lines_edit.text().strip())
        )
        self.tcp_check.toggled.connect(lambda _on: self._tcp_edited())
        self.tcp_port.editingFinished.connect(self._tcp_edited)
        return box

    def _tcp_edited(self) -> None:
        self.live.update_settings(tcp_port=self.tcp_port.value() if self.tcp_check.isChecked() else None)

    def page(self) -> QWidget:
        """Sources, run controls, rules, outputs."""
        return self._page

    def activate(self) -> None:
        """The tiles take the canvas's place."""
        parent = self._canvas.parentWidget()
        layout = parent.layout() if parent is not None else None
        if layout is not None and isinstance(layout, QVBoxLayout) and layout.indexOf(self.grid_widget) < 0:
            layout.insertWidget(layout.indexOf(self._canvas), self.grid_widget, 1)
        self._canvas.hide()
        self.grid_widget.show()

    def deactivate(self) -> None:
        """The canvas comes back; a running pipeline keeps running."""
        self.grid_widget.hide()
        self._canvas.show()

    # --- operator commands ---------------------------------------------------------------------
    def add_typed_source(self) -> bool:
        """Add the spec typed in the source field (a message names a bad one)."""
        if self.live.add_source(self.source_edit.text()) is None:
            self.source_edit.clear()
            return True
        return False

    def start_when_ready(self, spec: str) -> None:
        """Add ``spec`` and start as soon as the station has a model (now, or when it loads)."""
        if self.live.add_source(spec, remember=False) is not None:
            return
        if self.live.has_model:
            self.live.start()
        else:
            self._start_pending = True

    def open_source_settings(self, source_id: int) -> SourceSettingsDialog | None:
        """Open the settings dialog of a source (window-modal; OK applies and saves them)."""
        sources = self.live.sources
        if not 0 <= source_id < len(sources):
            return None
        spec = sources[source_id]
        dialog = SourceSettingsDialog(
            spec,
            self.live.kind_of(source_id),
            self.live.source_settings(spec),
            self.live.actual_properties(source_id),
            self._page.window(),
        )
        dialog.accepted.connect(lambda: self.live.set_source_settings(spec, dialog.settings()))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    # --- slots ---------------------------------------------------------------------------------
    def _say(self, text: str, level: str = "info") -> None:
        colour = {"error": "#c62828", "warning": "#e65100"}.get(level, "")
        self.message.setStyleSheet(f"color:{colour};" if colour else "")
        self.message.setText(text)

    def _on_prediction_model_loaded(self, info: ModelInfo) -> None:
        self.live.follow_model(info.path, info.class_table)
        if self._start_pending:
            self._start_pending = False
            self.live.start()
        if self.live.state == "stopped":
            self._on_live_rules_changed(self.live.rules)

    def _on_live_sources_changed(self, sources: list[str]) -> None:
        for tile in self.tiles:
            self._grid.removeWidget(tile)
            tile.deleteLater()
        self.tiles = []
        columns = 1 if len(sources) <= 1 else 2
        for i, label in enumerate(sources):
            tile = LiveTile(i, _short(label))
            tile.title.setToolTip(label)
            tile.snapshot_requested.connect(self.live.snapshot)
            tile.remove_requested.connect(self.live.remove_source)
            tile.settings_requested.connect(self.open_source_settings)
            self._grid.addWidget(tile, i // columns, i % columns)
            self.tiles.append(tile)

    def _on_live_result_arrived(self, source_id: int) -> None:
        frame = self.live.take(source_id)
        if frame is None or source_id >= len(self.tiles):
            return
        tile = self.tiles[source_id]
        tile.view.set_image(frame.image)
        verdict = frame.result.verdict
        tile.set_verdict(
            verdict.verdict, ", ".join(f"{label} {verdict.areas[label]} px" for label in verdict.fired)
        )

    def _on_live_stats_changed(self, stats: list[TileStats]) -> None:
        for s in stats:
            if s.source_id < len(self.tiles):
                tile = self.tiles[s.source_id]
                tile.set_state(s.state, s.message)
                tile.set_counters(s.frames, s.ok, s.ng, s.ng_rate)
                tile.set_rates(s.capture_fps, s.infer_fps, s.display_fps, s.latency_p50_ms, s.latency_p95_ms)

    def _on_live_state_changed(self, state: str) -> None:
        self.start_button.setEnabled(state == "stopped")
        self.stop_button.setEnabled(state != "stopped")
        self.pause_button.setEnabled(state in ("running", "paused"))
        if state in ("starting", "running"):
            for tile in self.tiles:
                if tile.state.text() == "stopped" or tile.state.text().startswith("connecting"):
                    tile.set_state("connecting", "loading the model" if state == "starting" else "")
        if state == "stopped":
            self.pause_button.setChecked(False)
            for tile in self.tiles:
                tile.set_state("stopped")

    def _on_live_rules_changed(self, rules: VerdictRules) -> None:
        labels = [c.label for c in self.live.class_table.classes[1:]]
        self.rules_editor.set_rules(rules, labels)

    def _on_live_settings_changed(self) -> None:
        s = self.live.settings
        widgets = (
            self.size_combo,
            self.ng_check,
            self.ng_interval,
            self.ng_quota,
            self.lines_edit,
            self.tcp_check,
            self.tcp_port,
        )
        for w in widgets:
            w.blockSignals(True)
        self.size_combo.setCurrentText(s.size_mode)
        self.ng_check.setChecked(s.ng_capture)
        self.ng_interval.setValue(s.ng_interval_s)
        self.ng_quota.setValue(s.ng_quota_mb)
        self.lines_edit.setText(s.lines_path)
        self.tcp_check.setChecked(s.tcp_port is not None)
        self.tcp_port.setValue(s.tcp_port or 0)
        for w in widgets:
            w.blockSignals(False)


def _short(spec: str) -> str:
    """A tile title: a file's or folder's name; URLs and cameras as typed (the tool tip has it all)."""
    if "://" in spec or spec.isdigit() or spec.startswith("/dev/"):
        return spec
    return Path(spec).name or spec
