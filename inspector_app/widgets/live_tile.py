"""One Live source on screen: the painted frame (zoom and pan), verdict badge, counters, health."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

__all__ = ["LiveTile", "TileView"]

_BADGE = {
    "OK": "background:#2e7d32;color:white;",
    "NG": "background:#c62828;color:white;",
    "": "background:#555;color:#ddd;",
}
_STATE = {
    "live": "#66bb6a",
    "stalled": "#ffa726",
    "reconnecting": "#ffa726",
    "connecting": "#90a4ae",
    "failed": "#ef5350",
    "ended": "#90a4ae",
    "stopped": "#90a4ae",
}


class TileView(QGraphicsView):
    """Shows one image fitted to the view; the wheel zooms and dragging pans (frozen frames).

    The image is fitted again on each new frame until the operator zooms; :meth:`fit` returns
    to the fitted view.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._scene = QGraphicsScene(self)
        self.setScene(self._scene)
        self._item = QGraphicsPixmapItem()
        self._item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self._scene.addItem(self._item)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setBackgroundBrush(Qt.GlobalColor.black)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setMinimumSize(160, 120)
        self.zoomed = False

    def set_image(self, image: QImage) -> None:
        """Show ``image`` (already painted and scaled on a worker thread)."""
        size_changed = image.size() != self._item.pixmap().size()
        self._item.setPixmap(QPixmap.fromImage(image))
        if size_changed:
            self._scene.setSceneRect(self._item.boundingRect())
        if not self.zoomed:
            self.fitInView(self._item, Qt.AspectRatioMode.KeepAspectRatio)

    def fit(self) -> None:
        """Back to the whole frame."""
        self.zoomed = False
        self.fitInView(self._item, Qt.AspectRatioMode.KeepAspectRatio)

    def wheelEvent(self, event: QWheelEvent) -> None:
        """Zoom about the mouse."""
        factor = 1.25 if event.angleDelta().y() > 0 else 0.8
        self.zoomed = True
        self.scale(factor, factor)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Keep a fitted view fitted."""
        super().resizeEvent(event)
        if not self.zoomed:
            self.fitInView(self._item, Qt.AspectRatioMode.KeepAspectRatio)


class LiveTile(QFrame):
    """A source's tile. ``snapshot_requested(source_id)``, ``remove_requested(source_id)``,
    ``settings_requested(source_id)``."""

    snapshot_requested = Signal(int)
    remove_requested = Signal(int)
    settings_requested = Signal(int)

    def __init__(self, source_id: int, label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source_id = source_id
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel(label)
        self.title.setToolTip(label)
        self.badge = QLabel("—")
        self.badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.badge.setMinimumWidth(44)
        self.state = QLabel("stopped")
        self.counters = QLabel("frames 0 · OK 0 · NG 0 · NG 0.0 %")
        self.rates = QLabel("capture – · inference – · display – fps\nlatency capture→drawn –")
        for text in (self.title, self.counters, self.rates):
            # Long texts are cut rather than widening the tile (four tiles share the centre).
            text.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.view = TileView(self)
        snap = QPushButton("Snapshot")
        snap.setToolTip("Save this frame and its prediction into the project (for Annotate mode)")
        snap.clicked.connect(lambda: self.snapshot_requested.emit(self.source_id))
        fit = QPushButton("Fit")
        fit.clicked.connect(self.view.fit)
        self.settings_button = QPushButton("Settings…")
        self.settings_button.setToolTip("Resolution, frame rate, exposure and time-outs of this source")
        self.settings_button.clicked.connect(lambda: self.settings_requested.emit(self.source_id))
        remove = QPushButton("Remove")
        remove.clicked.connect(lambda: self.remove_requested.emit(self.source_id))
        head = QHBoxLayout()
        head.addWidget(self.badge)
        head.addWidget(self.title, 1)
        head.addWidget(self.state)
        buttons = QHBoxLayout()
        for button in (snap, fit, self.settings_button, remove):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        layout.addLayout(head)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.counters)
        layout.addWidget(self.rates)
        layout.addLayout(buttons)
        self.set_verdict("")

    def set_verdict(self, verdict: str, detail: str = "") -> None:
        """Show OK / NG (or nothing yet) and, as tool tip, what fired."""
        self.badge.setText(verdict or "—")
        self.badge.setStyleSheet(_BADGE.get(verdict, _BADGE[""]) + "font-weight:bold;padding:2px 6px;")
        self.badge.setToolTip(detail)

    def set_state(self, state: str, message: str = "") -> None:
        """Stream state (live / stalled / reconnecting / ...) with the backend's message."""
        self.state.setText(state + (f": {message}" if message else ""))
        self.state.setToolTip(message)
        self.state.setStyleSheet(f"color:{_STATE.get(state, '#bbb')};")

    def set_counters(self, frames: int, ok: int, ng: int, ng_rate: float) -> None:
        """This source's frame and verdict counters."""
        self.counters.setText(f"frames {frames} · OK {ok} · NG {ng} · NG {ng_rate:.1f} %")

    def set_rates(
        self, capture: float, inference: float, display: float, p50: float | None, p95: float | None
    ) -> None:
        """Stage rates and the capture-to-drawn latency."""
        latency = f"p50 {p50:.0f} ms · p95 {p95:.0f} ms" if p50 is not None and p95 is not None else "–"
        self.rates.setText(
            f"capture {capture:.1f} · inference {inference:.1f} · display {display:.1f} fps"
            f"\nlatency capture→drawn {latency}"
        )
