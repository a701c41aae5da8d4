"""CanvasView: the zoomable image with prediction overlay and editable LabelMe shapes.

API (the station's side)::

    view = CanvasView(parent)
    view.bind_session(session)                 # shapes come from, and edits go to, the session
    view.set_image(array | DisplayImage)       # HxW / HxWx3 / HxWx4, uint8 or uint16 (windowed);
                                               # canvas.prepare_display(array) may run off-thread
    view.set_prediction(mask | None, palette)  # uint8 class mask + (N, 3) RGB palette
    view.set_overlay_opacity(0.5)              # item opacity: free, no re-colouring
    view.set_visible_classes({1, 2} | None)    # overlay: palette indices; shapes: indices of the
                                               # session's class table (same table in the station)
    view.set_layer_mode("prediction" | "annotation" | "both")   # both: annotations as outlines
    view.set_outline_in_both(True | False)     # over a shown prediction (False: filled too)
    view.set_tool("select" | "polygon" | "freehand" | "rectangle" | "circle" | "linestrip" | "line" | "point"
                  | "brush" | "eraser");  view.set_brush_radius(px)
    view.set_current_label(label | None)       # None: ask with LabelDialog after each new shape
    view.label_provider = fn(table, current) -> label | None   # default: LabelDialog.ask
    view.fit(); view.zoom_1to1(); view.zoom(); view.set_zoom(z, anchor=None)  # screen px / image px
    view.fit_width(); view.zoom_by(+1 | -1)    # labelme's Ctrl+Shift+F, Ctrl++ / Ctrl+-
    view.zoom_to_rect((x, y, w, h), min_scale=1.0)   # centre a region, at least 1:1
    view.set_region_markers([((x, y, w, h), rgb), ...])  # rings around regions too small to see
    view.set_current_region((x, y, w, h) | None)         # dashed frame (the navigator's region)
    view.commit_pending()                      # brush strokes -> session (also on Enter/tool switch)
    signals: cursor_moved(QPointF | None) (image coords), zoom_changed(float), tool_changed(str)

Mouse: wheel zooms at the cursor; middle-drag or Space+left-drag pans. Keys: Enter finishes a
polygon/linestrip or commits brush strokes, Esc cancels, Delete removes the selected vertices (if
any) else the selected shapes, Ctrl+D duplicates, Ctrl+A selects all, [ and ] change the brush
radius; Ctrl+Z / Ctrl+Shift+Z / Ctrl+Y / Ctrl+C / Ctrl+V work here too when the window has no
actions with those shortcuts (window actions win); copy and paste go through the system clipboard
as labelme JSON (:mod:`inspector_app.editing.clipboard`). Right click opens the context menu of
what is under the cursor (:mod:`inspector_app.canvas.context_menu`). The editing gestures are listed in
:mod:`inspector_app.canvas.tools`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QContextMenuEvent, QKeyEvent, QKeySequence, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QGraphicsScene, QGraphicsView, QMenu, QWidget

from inspector_app.canvas.context_menu import build_context_menu
from inspector_app.canvas.layers import (
    DisplayImage,
    OverlayPyramid,
    PaintLayerItem,
    PyramidItem,
    prepare_display,
)
from inspector_app.canvas.markers import RegionMarkerItem
from inspector_app.canvas.shape_item import Hit, ShapeItem
from inspector_app.canvas.shape_layer import ShapeLayer
from inspector_app.canvas.tools import TOOLS, BaseTool, make_tool
from inspector_app.core.classes import ClassTable
from inspector_app.editing import AnnotationSession
from inspector_app.editing.clipboard import copy_to_clipboard, paste_from_clipboard
from inspector_app.widgets.label_dialog import LabelDialog

__all__ = ["LAYER_MODES", "TOOLS", "CanvasView"]

LAYER_MODES = ("prediction", "annotation", "both")
HIT_PX = 6.0  # hit tolerance in screen pixels
MIN_ZOOM, MAX_ZOOM = 1 / 64, 64.0
Z_LAYER = 1e7  # above the shapes (ShapeLayer.Z_SHAPES + index)


class CanvasView(QGraphicsView):
    """See the module docstring."""

    cursor_moved = Signal(object)
    zoom_changed = Signal(float)
    tool_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._scene = QGraphicsScene(self)
        # Shapes change geometry during drags; with few hundred items a linear scan beats a BSP.
        self._scene.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        self.setScene(self._scene)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing, True)
        self.setBackgroundBrush(QColor(48, 48, 52))
        self.setMouseTracking(True)
        # Panning is middle/Space-drag; scroll bars only eat room (they still drive the view).
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._image_item = PyramidItem(smooth_when_reduced=True)
        self._overlay_item = PyramidItem(smooth_when_reduced=False)
        self._overlay_item.setZValue(1)
        self.paint_layer = PaintLayerItem()
        self.paint_layer.setZValue(Z_LAYER)
        #: Rings around tiny regions and the navigator's current region (above the overlay,
        #: below the shapes).
        self.markers = RegionMarkerItem()
        self.markers.setZValue(5)
        for item in (self._image_item, self._overlay_item, self.paint_layer, self.markers):
            self._scene.addItem(item)
        self._image_size = (0, 0)
        self._overlay: OverlayPyramid | None = None
        self._palette: npt.NDArray[np.uint8] = np.zeros((1, 3), np.uint8)
        self._visible: frozenset[int] | None = None
        self._layer_mode = "both"
        #: In "both" mode annotations are drawn as outlines over the filled prediction, so the
        #: two layers never look alike; False keeps their fill (a setting of the station).
        self._outline_in_both = True
        self.shapes = ShapeLayer(self._scene, self)
        self.session: AnnotationSession | None = None
        self._current_label: str | None = None
        self._last_label: str | None = None
        self.label_provider: Callable[[ClassTable, str | None], str | None] = self._ask_label
        #: Called with the context menu and the scene point before it is shown: the window adds
        #: its own actions (see :mod:`inspector_app.canvas.context_menu`).
        self.context_menu_extender: Callable[[QMenu, QPointF], None] | None = None
        #: The menu on screen (tests and the window reach it while it is open).
        self.context_menu: QMenu | None = None
        self.brush_radius = 8.0
        self._space = False
        self._pan_from: QPoint | None = None
        self._tool: BaseTool = make_tool("select", self)
        self._tool.activate()
        self.set_layer_mode(self._layer_mode)

    # ================================================================== image and overlay
    def set_image(self, image: np.ndarray | DisplayImage | None) -> None:
        """Show ``image`` (an array, or a :class:`DisplayImage` prepared in a worker thread).

        The pixmap pyramid is built once here; painting never converts pixels. The view is
        fitted when the image size changes, otherwise zoom and position are kept.
        """
        if image is None:
            self._image_item.set_levels([], 0, 0)
            self._image_size = (0, 0)
            return
        display = image if isinstance(image, DisplayImage) else prepare_display(image)
        height, width = display.height, display.width
        self._image_item.set_levels(list(display.levels), width, height)
        resized = (height, width) != self._image_size
        self._image_size = (height, width)
        margin = max(height, width)
        self._scene.setSceneRect(QRectF(-margin, -margin, width + 2 * margin, height + 2 * margin))
        if resized:
            self.fit()

    @property
    def image_size(self) -> tuple[int, int]:
        """(height, width) of the shown image."""
        return self._image_size

    def set_prediction(
        self, mask: npt.NDArray[np.uint8] | None, palette: npt.ArrayLike | None = None
    ) -> None:
        """Show a predicted class mask coloured by ``palette`` (None hides the overlay)."""
        if palette is not None:
            self._palette = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
        self._overlay = None if mask is None else OverlayPyramid(mask)
        self._refresh_overlay()
        self.set_layer_mode(self._layer_mode)

    @property
    def prediction_mask(self) -> npt.NDArray[np.uint8] | None:
        """The class mask shown as the overlay (None when there is none)."""
        return self._overlay.mask if self._overlay is not None else None

    def set_overlay_opacity(self, opacity: float) -> None:
        """Opacity of the prediction overlay, 0..1 (free: the levels are not recoloured)."""
        self._overlay_item.setOpacity(min(max(float(opacity), 0.0), 1.0))

    def set_visible_classes(self, classes: Collection[int] | None) -> None:
        """Classes shown in the overlay and among the shapes (None = all)."""
        self._visible = None if classes is None else frozenset(classes)
        self._refresh_overlay()
        self.shapes.set_visible_classes(self._visible)

    def set_layer_mode(self, mode: str) -> None:
        """'prediction' (overlay only), 'annotation' (shapes only) or 'both'."""
        if mode not in LAYER_MODES:
            raise ValueError(f"layer mode must be one of {LAYER_MODES}, got {mode!r}")
        self._layer_mode = mode
        self._overlay_item.setVisible(mode != "annotation")
        self.shapes.set_shown(mode != "prediction")
        # Outlines only where there is a filled prediction to tell them from.
        self.shapes.set_outline_only(mode == "both" and self._outline_in_both and self._overlay is not None)

    @property
    def layer_mode(self) -> str:
        """'prediction', 'annotation' or 'both'."""
        return self._layer_mode

    def set_outline_in_both(self, outline: bool) -> None:
        """In "both" mode draw annotations as outlines only (default) or filled like alone."""
        self._outline_in_both = bool(outline)
        self.set_layer_mode(self._layer_mode)

    def _refresh_overlay(self) -> None:
        if self._overlay is None:
            self._overlay_item.set_levels([], 0, 0)
            return
        h, w = self._overlay.mask.shape
        self._overlay_item.set_levels(self._overlay.images(self._palette, self._visible), w, h)

    # ================================================================== zoom and pan
    def zoom(self) -> float:
        """Screen pixels per image pixel."""
        return float(self.transform().m11())

    def pixel_size(self) -> float:
        """Image pixels per screen pixel."""
        return 1.0 / max(self.zoom(), 1e-9)

    def set_zoom(self, zoom: float, anchor: QPoint | None = None) -> None:
        """Zoom to ``zoom`` keeping the image point under ``anchor`` (viewport px) in place."""
        zoom = min(max(zoom, MIN_ZOOM), MAX_ZOOM)
        anchor = anchor if anchor is not None else self.viewport().rect().center()
        before = self.mapToScene(anchor)
        self.resetTransform()
        self.scale(zoom, zoom)
        after = self.mapFromScene(before)
        delta = after - anchor
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + delta.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + delta.y())
        self._on_zoom_changed()

    def fit(self) -> None:
        """Show the whole image."""
        h, w = self._image_size
        if not h or not w:
            return
        port = self.viewport().rect()
        zoom = min((port.width() - 8) / w, (port.height() - 8) / h)
        self.set_zoom(max(zoom, MIN_ZOOM))
        self.centerOn(w / 2, h / 2)

    def fit_width(self) -> None:
        """Image width fills the view (labelme's Ctrl+Shift+F), top edge in view."""
        h, w = self._image_size
        if not h or not w:
            return
        zoom = (self.viewport().width() - 8) / w
        self.set_zoom(max(zoom, MIN_ZOOM))
        port = self.viewport().rect()
        self.centerOn(w / 2, min(h / 2, port.height() / 2 / self.zoom()))

    def zoom_by(self, steps: float) -> None:
        """Zoom in (``steps`` > 0) or out by 1.25 per step around the view centre (Ctrl++ / Ctrl+-)."""
        self.set_zoom(self.zoom() * 1.25**steps)

    def zoom_to_rect(
        self,
        rect: QRectF | tuple[float, float, float, float],
        min_scale: float = 1.0,
        margin: float = 1.0,
        max_scale: float = 8.0,
    ) -> None:
        """Centre ``rect`` (image coordinates; ``(x, y, w, h)`` or a QRectF) and zoom so that it
        fills the view with ``margin`` times its size of context on each side, within
        ``min_scale`` .. ``max_scale`` screen pixels per image pixel: a wide region is shown
        whole at 1:1 or more, a 3-pixel pinhole magnified but with its surroundings (at most
        ``max_scale``, never below ``min_scale``)."""
        r = QRectF(*rect) if isinstance(rect, tuple) else QRectF(rect)
        port = self.viewport().rect()
        w = max(r.width(), 1.0) * (1 + 2 * margin)
        h = max(r.height(), 1.0) * (1 + 2 * margin)
        fit = min(port.width() / w, port.height() / h)
        self.set_zoom(max(min(fit, max_scale), min_scale))
        self.centerOn(r.center())

    def zoom_1to1(self) -> None:
        """One image pixel per screen pixel, around the view centre."""
        self.set_zoom(1.0)

    def set_region_markers(
        self, regions: Sequence[tuple[tuple[float, float, float, float], tuple[int, int, int]]]
    ) -> None:
        """Regions ``((x, y, w, h), rgb)`` that get a ring while too small to see (see
        :mod:`inspector_app.canvas.markers`); [] removes them."""
        self.markers.set_regions(regions)

    def set_current_region(self, rect: tuple[float, float, float, float] | None) -> None:
        """Frame one region (the navigator's current one); None removes the frame."""
        self.markers.set_current(rect)

    def _on_zoom_changed(self) -> None:
        self.markers.set_pixel_size(self.pixel_size())
        self.shapes.set_pixel_size(self.pixel_size())
        self._tool.zoom_changed()
        self.zoom_changed.emit(self.zoom())

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if not steps:
            return
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier and self._tool.name in ("brush", "eraser"):
            self.set_brush_radius(self.brush_radius * 1.15**steps)
            return
        self.set_zoom(self.zoom() * 1.25**steps, event.position().toPoint())

    # ================================================================== session binding
    def bind_session(self, session: AnnotationSession) -> None:
        """Show ``session``'s shapes and send edits to it."""
        if self.session is not None:
            self.session.document_about_to_change.disconnect(self._on_session_document_about_to_change)
            self.session.document_changed.disconnect(self._on_session_document_changed)
        self.session = session
        self.shapes.bind(session)
        session.document_about_to_change.connect(self._on_session_document_about_to_change)
        session.document_changed.connect(self._on_session_document_changed)
        self._tool.reset()

    def _on_session_document_about_to_change(self) -> None:
        self._tool.cancel_or_commit()

    def _on_session_document_changed(self) -> None:
        self._tool.reset()

    def hit_test(self, pos: QPointF) -> tuple[ShapeItem, Hit] | None:
        """Topmost shape part under ``pos`` (tolerance: a few screen pixels)."""
        return self.shapes.hit_test(pos, HIT_PX * self.pixel_size())

    def clamp(self, pos: QPointF) -> QPointF:
        """``pos`` limited to the image rectangle."""
        h, w = self._image_size
        if not h or not w:
            return QPointF(pos)
        return QPointF(min(max(pos.x(), 0.0), float(w)), min(max(pos.y(), 0.0), float(h)))

    # ================================================================== labels
    def set_current_label(self, label: str | None) -> None:
        """Label given to new shapes and brush strokes (None: ask each time)."""
        self._current_label = label

    @property
    def current_label(self) -> str | None:
        """Label for new shapes, or None when asked each time."""
        return self._current_label

    def _ask_label(self, table: ClassTable, current: str | None) -> str | None:
        return LabelDialog.ask(table, self, current)

    def request_label(self) -> str | None:
        """The label for a new shape: the current label, else asked with the label provider."""
        if self._current_label is not None or self.session is None:
            return self._current_label
        label = self.label_provider(self.session.class_table, self._last_label)
        if label:
            self._last_label = label
        return label

    def edit_label(self, ids: Collection[int]) -> None:
        """Ask for a new label for these shapes (LabelDialog) and apply it."""
        if self.session is None or not ids:
            return
        first = self.session.shape(next(iter(ids))).label
        label = self.label_provider(self.session.class_table, first)
        if label:
            self._last_label = label
            self.session.set_label(ids, label)

    # ================================================================== tools
    @property
    def tool(self) -> str:
        """Name of the active tool."""
        return self._tool.name

    def set_tool(self, name: str) -> None:
        """Switch tool; pending brush strokes are committed, an unfinished drawing is dropped."""
        if name not in TOOLS:
            raise ValueError(f"tool must be one of {TOOLS}, got {name!r}")
        if name == self._tool.name:
            return
        self._tool.cancel_or_commit()
        self._tool.deactivate()
        self._tool = make_tool(name, self)
        self._tool.activate()
        self.tool_changed.emit(name)

    def set_brush_radius(self, radius: float) -> None:
        """Brush/eraser radius in image pixels."""
        self.brush_radius = min(max(float(radius), 0.5), 500.0)
        self._tool.zoom_changed()

    def commit_pending(self) -> None:
        """Commit brush strokes not committed yet (call before saving)."""
        self._tool.commit()

    # ================================================================== events
    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus()
        if event.button() == Qt.MouseButton.MiddleButton or (
            event.button() == Qt.MouseButton.LeftButton and self._space
        ):
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        self._tool.press(event, self.mapToScene(event.position().toPoint()))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        if self._pan_from is not None:
            delta = pos - self._pan_from
            self._pan_from = pos
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            return
        scene = self.mapToScene(pos)
        h, w = self._image_size
        inside = 0 <= scene.x() < w and 0 <= scene.y() < h
        self.cursor_moved.emit(QPointF(scene) if inside else None)
        self._tool.move(event, scene)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None and event.button() in (
            Qt.MouseButton.MiddleButton,
            Qt.MouseButton.LeftButton,
        ):
            self._pan_from = None
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor if self._space else self._tool.cursor())
            return
        self._tool.release(event, self.mapToScene(event.position().toPoint()))

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self._tool.double_click(event, self.mapToScene(event.position().toPoint()))

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        """Right click: the menu of what is under the cursor (a drawing in progress is kept)."""
        menu = build_context_menu(self, self.mapToScene(event.pos()))
        self.context_menu = menu
        try:
            menu.exec(event.globalPos())
        finally:
            self.context_menu = None
            menu.deleteLater()

    def leaveEvent(self, event: object) -> None:
        self.cursor_moved.emit(None)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            return
        if self._tool.key(event):
            return
        if self._session_key(event):
            return
        if key == Qt.Key.Key_BracketLeft:
            self.set_brush_radius(self.brush_radius / 1.25)
        elif key == Qt.Key.Key_BracketRight:
            self.set_brush_radius(self.brush_radius * 1.25)
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            if self._pan_from is None:
                self.viewport().setCursor(self._tool.cursor())
            return
        super().keyReleaseEvent(event)

    def _session_key(self, event: QKeyEvent) -> bool:
        session = self.session
        if session is None:
            return False
        stack = session.undo_stack
        if event.matches(QKeySequence.StandardKey.Undo) and stack is not None:
            stack.undo()
        elif event.matches(QKeySequence.StandardKey.Redo) and stack is not None:
            stack.redo()
        elif event.matches(QKeySequence.StandardKey.Copy):
            copy_to_clipboard(session, session.selection)
        elif event.matches(QKeySequence.StandardKey.Paste):
            paste_from_clipboard(session)
        elif event.matches(QKeySequence.StandardKey.SelectAll):
            session.set_selection(it.shape_id for it in self.shapes.items() if self.shapes.editable(it))
        elif event.key() == Qt.Key.Key_D and event.modifiers() == Qt.KeyboardModifier.ControlModifier:
            session.duplicate(session.selection)
        else:
            return False
        return True
