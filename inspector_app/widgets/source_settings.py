"""Capture settings of one Live source: requested resolution, frame rate, exposure and time-outs,
beside the values the backend reports for the running source."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from inspector_app.services.live.sources import SourceSettings

__all__ = ["SourceSettingsDialog"]

#: What each source kind does with the settings (the backend ignores the rest).
_APPLIES = {
    "camera": "Resolution, frame rate and exposure are requested from the camera; it may pick the "
    "nearest mode it supports (see the actual values).",
    "file": "A video file plays at the frame rate set here (0 = the file's own rate, -1 = as fast "
    "as it decodes); resolution and exposure do not apply.",
    "stream": "A stream delivers its own resolution and rate; the time-outs apply.",
    "genicam": "Resolution, frame rate and exposure are set on the GenICam node map where the "
    "camera exposes them.",
    "folder": "A hot folder takes its images as they are; nothing here applies.",
}


class SourceSettingsDialog(QDialog):
    """Edits a :class:`SourceSettings`; :meth:`settings` is the result once accepted."""

    def __init__(
        self,
        spec: str,
        kind: str,
        settings: SourceSettings,
        actual: dict[str, float],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Source settings: {spec}")
        self._base = settings
        self.setMinimumWidth(380)
        self.width_box = QSpinBox()
        self.height_box = QSpinBox()
        for box in (self.width_box, self.height_box):
            box.setRange(0, 16384)
            box.setSpecialValueText("default")
            box.setSuffix(" px")
        self.width_box.setValue(settings.width)
        self.height_box.setValue(settings.height)
        self.fps_box = QDoubleSpinBox()
        self.fps_box.setRange(-1.0, 1000.0)
        self.fps_box.setDecimals(1)
        self.fps_box.setSpecialValueText("as fast as read")
        self.fps_box.setValue(settings.fps)
        self.exposure_check = QCheckBox("Set")
        self.exposure_box = QDoubleSpinBox()
        self.exposure_box.setRange(-100000.0, 1_000_000.0)
        self.exposure_box.setDecimals(3)
        self.exposure_box.setToolTip("In the backend's unit (V4L2: 100 µs steps; GenICam: µs)")
        self.exposure_check.setChecked(settings.exposure is not None)
        self.exposure_box.setValue(settings.exposure or 0.0)
        self.exposure_box.setEnabled(settings.exposure is not None)
        self.exposure_check.toggled.connect(self.exposure_box.setEnabled)
        self.open_timeout = QDoubleSpinBox()
        self.read_timeout = QDoubleSpinBox()
        for timeout, value in (
            (self.open_timeout, settings.open_timeout_s),
            (self.read_timeout, settings.read_timeout_s),
        ):
            timeout.setRange(0.1, 600.0)
            timeout.setSuffix(" s")
            timeout.setValue(value)
        exposure = QHBoxLayout()
        exposure.addWidget(self.exposure_check)
        exposure.addWidget(self.exposure_box, 1)
        self.actual = QLabel(_actual_text(actual))
        self.actual.setWordWrap(True)
        note = QLabel(_APPLIES.get(kind, ""))
        note.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow(note)
        form.addRow("Width", self.width_box)
        form.addRow("Height", self.height_box)
        form.addRow("Frame rate", self.fps_box)
        form.addRow("Exposure", exposure)
        form.addRow("Open time-out", self.open_timeout)
        form.addRow("Read time-out", self.read_timeout)
        form.addRow("Actual", self.actual)
        form.addRow(buttons)

    def settings(self) -> SourceSettings:
        """The settings as edited (FFmpeg options and other fields kept as they were)."""
        return replace(
            self._base,
            width=self.width_box.value(),
            height=self.height_box.value(),
            fps=self.fps_box.value(),
            exposure=self.exposure_box.value() if self.exposure_check.isChecked() else None,
            open_timeout_s=self.open_timeout.value(),
            read_timeout_s=self.read_timeout.value(),
        )


def _actual_text(actual: dict[str, float]) -> str:
    """The backend's report in words ("not running" before the source opens)."""
    if not actual:
        return "not running (start the source to see what the backend delivers)"
    parts = []
    if actual.get("width") and actual.get("height"):
        parts.append(f"{actual['width']:.0f} x {actual['height']:.0f} px")
    if actual.get("fps"):
        parts.append(f"{actual['fps']:.1f} fps")
    parts.extend(f"{k} {v:g}" for k, v in sorted(actual.items()) if k not in ("width", "height", "fps"))
    return ", ".join(parts) or "the backend reports nothing"
