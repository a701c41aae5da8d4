"""Scene item for one LabelMe shape: outline, fill, label tag and (when selected) vertex handles.

Items are passive: the view hit-tests them (:meth:`ShapeItem.hit`) and drives edits through the
session. During a drag the view previews the change on the item itself without touching the
session: :meth:`ShapeItem.preview_vertex` moves ONE vertex in place (O(1) plus a local repaint,
which keeps dragging a vertex of a 5,000-vertex polygon smooth), :meth:`ShapeItem.preview_points`
replaces the few points of a rectangle/circle, and ``setPos`` previews a move. When the drag ends
the view commits one command; the session's ``shapes_changed`` brings a new ``Shape`` and
:meth:`ShapeItem.set_shape` rebuilds the item once.

Sizes that must look the same at every zoom (outline width, handles, point markers, hit
tolerance) are in screen pixels: the view tells every item the current scene units per screen
pixel with :meth:`ShapeItem.set_pixel_size`.

Label tags (:mod:`inspector_app.canvas.label_tag`): whether one is shown is decided for all shapes
at once by the layer (:meth:`ShapeItem.set_tag_placed`, rules in
:mod:`inspector_app.canvas.tag_layout`); the shape under the mouse always shows its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from inspector_app.canvas import geometry as geo
from inspector_app.canvas.label_tag import LabelTag
from inspector_app.commands import is_prediction
from inspector_app.core.annotations import AnnotationError, Point, Shape, decode_mask
from inspector_app.qtconvert import overlay_qimage

__all__ = ["Hit", "LabelTag", "ShapeItem", "ShapeStyle"]

HANDLE_PX = 8  # handle square side, screen pixels
MARKER_PX = 9  # point marker diameter, screen pixels
TINY_PX = 16  # shapes smaller than this on screen show a selection box instead of handles
#: Above this many vertices outlines are drawn without antialiasing (an antialiased 5,000-vertex
#: stroke costs ~25 ms per paint, an aliased one ~5 ms; the jaggies are invisible at that density).
AA_MAX_VERTICES = 1500


@dataclass(frozen=True)
class ShapeStyle:
    """How a shape's class is drawn: RGB colour, display name, open-shape width in image px."""

    color: tuple[int, int, int] = (255, 0, 255)
    name: str = ""
    line_width: int = 1
    draw_as: str | None = None


@dataclass(frozen=True)
class Hit:
    """What a point hits on a shape: ``kind`` is 'vertex', 'edge' or 'body'."""

    kind: str
    index: int = -1  # handle index (vertex) or insert position (edge)
    point: Point = (0.0, 0.0)


def _poly(points: np.ndarray) -> QPolygonF:
    return QPolygonF([QPointF(x, y) for x, y in points.tolist()])


class ShapeItem(QGraphicsItem):
    """Draws one shape of any labelme type; see the module docstring for the editing protocol."""

    def __init__(self, shape_id: int, shape: Shape, style: ShapeStyle) -> None:
        super().__init__()
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.shape_id = shape_id
        self._px = 1.0
        self._selected = False
        self._locked = False
        self._hover = False
        self._hover_handle: int | None = None
        self._selected_handles: frozenset[int] = frozenset()
        self._tag = LabelTag(self)
        self._tag_enabled = True  # False: never (a drawing preview)
        self._tag_placed = True  # the layer's layout says it fits
        #: Called with this item when its hover state changes (the layer lays tags out again).
        self.on_hover_changed: Callable[[ShapeItem], None] | None = None
        self._geo = QRectF()
        self._draw_as: str | None = None
        self._outline_only = False
        self.annotation = shape
        self.style = style
        self.set_shape(shape, style)

    # ------------------------------------------------------------------ state from the view
    def set_shape(self, shape: Shape, style: ShapeStyle) -> None:
        """Show ``shape`` (rebuilds the geometry: O(vertices), once per committed edit)."""
        self.prepareGeometryChange()
        self.annotation = shape
        self.style = style
        self.setPos(0, 0)
        self._handles = geo.handle_points(shape)
        self._handle_poly = _poly(self._handles)
        self._points = geo.points_array(shape.points)
        self._outline = (
            self._handle_poly if shape.shape_type in geo.POINT_HANDLE_TYPES else _poly(self._points)
        )
        self._mask_image: QImage | None = None
        if shape.shape_type == "mask":
            try:
                bitmap = decode_mask(shape).astype(np.uint8)
                self._mask_image = overlay_qimage(bitmap, [(0, 0, 0), style.color], 0.55)
            except AnnotationError:
                self._mask_image = None
        # A shape's own "draw_as" key (kept in extra) overrides its class' rule, as in core.masks.
        own = shape.extra.get("draw_as")
        self._draw_as = style.draw_as if own not in ("fill", "polyline") else own
        self._selected_handles = frozenset()
        self._hover_handle = None
        self._update_geometry()
        self._update_tag()

    def set_pixel_size(self, px: float) -> None:
        """Scene units per screen pixel (called by the view on zoom)."""
        if px != self._px:
            self.prepareGeometryChange()
            self._px = px

    def set_outline_only(self, outline_only: bool) -> None:
        """Draw closed shapes as outlines over a dark halo, without fill (over a filled
        prediction of the same colours the two stay apart); selected/hovered shapes keep a
        light fill so that what is picked still reads as an area."""
        if outline_only != self._outline_only:
            self._outline_only = outline_only
            self.update()

    @property
    def outline_only(self) -> bool:
        """True while drawn as an outline without fill."""
        return self._outline_only

    def set_state(self, selected: bool, locked: bool) -> None:
        """Selection and lock state (selected unlocked shapes show handles)."""
        if (selected, locked) != (self._selected, self._locked):
            self.prepareGeometryChange()
            self._selected, self._locked = selected, locked
            if not selected:
                self._selected_handles = frozenset()
            self._show_tag()
            self.update()

    def set_hover(self, hover: bool, handle: int | None = None) -> None:
        """Highlight under the mouse (the shape, and optionally one handle)."""
        if (hover, handle) != (self._hover, self._hover_handle):
            changed = hover != self._hover
            self._hover, self._hover_handle = hover, handle
            self._show_tag()
            self.update()
            if changed and self.on_hover_changed is not None:
                self.on_hover_changed(self)

    def set_selected_handles(self, handles: frozenset[int]) -> None:
        """Vertices picked for deletion (drawn highlighted)."""
        if handles != self._selected_handles:
            self._selected_handles = handles
            self.update()

    @property
    def selected_handles(self) -> frozenset[int]:
        """Vertices picked for deletion."""
        return self._selected_handles

    @property
    def handles(self) -> np.ndarray:
        """(n, 2) handle positions in image coordinates (without the preview offset ``pos``)."""
        return self._handles

    # ------------------------------------------------------------------ drag previews
    def preview_vertex(self, handle: int, x: float, y: float) -> None:
        """Move one vertex of a point-handle shape in place and repaint only around it."""
        n = len(self._handles)
        old = self._handles[handle].copy()
        self._handles[handle] = (x, y)
        self._points[handle] = (x, y)
        self._handle_poly[handle] = QPointF(x, y)  # type: ignore[index]  # QList __setitem__, O(1)
        nbrs = [old, self._handles[handle], self._handles[(handle - 1) % n], self._handles[(handle + 1) % n]]
        xs = [p[0] for p in nbrs]
        ys = [p[1] for p in nbrs]
        dirty = QRectF(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
        if not self._geo.contains(QPointF(x, y)):
            self.prepareGeometryChange()
            self._geo = self._geo.united(QRectF(x, y, 0, 0)).normalized()
        m = self._margin()
        self.update(dirty.adjusted(-m, -m, m, m))

    def preview_points(self, points: tuple[Point, ...]) -> None:
        """Show other points for this shape (rectangles/circles during a handle drag)."""
        from dataclasses import replace

        keep_sel, keep_hover = self._selected_handles, self._hover_handle
        self.set_shape(replace(self.annotation, points=points), self.style)
        self._selected_handles, self._hover_handle = keep_sel, keep_hover

    # ------------------------------------------------------------------ geometry
    def _update_geometry(self) -> None:
        x0, y0, x1, y1 = self._bounds()
        self._geo = QRectF(x0, y0, x1 - x0, y1 - y0)

    def _bounds(self) -> tuple[float, float, float, float]:
        shape = self.annotation
        if shape.shape_type == "circle" and len(self._points) == 2:
            (cx, cy), r = self._points[0], geo.circle_radius(shape.points)
            return (cx - r, cy - r, cx + r, cy + r)
        if len(self._points) == 0:
            return (0.0, 0.0, 0.0, 0.0)
        lo, hi = self._points.min(axis=0), self._points.max(axis=0)
        if shape.shape_type == "mask":
            hi = hi + 1
        return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))

    def _margin(self) -> float:
        """Extra scene units around the geometry covered by strokes, handles and markers."""
        screen = max(HANDLE_PX + 4, MARKER_PX + 4) / 2 + 2
        return screen * self._px + self.style.line_width / 2 + 1

    def geometry_rect(self) -> QRectF:
        """Scene rectangle covered by the shape itself (preview offset included)."""
        return self._geo.translated(self.pos())

    def boundingRect(self) -> QRectF:
        m = self._margin()
        return self._geo.adjusted(-m, -m, m, m)

    def _update_tag(self) -> None:
        if len(self._points) == 0:
            self._tag.setVisible(False)
            return
        # Above the shape's topmost point: the whole shape lies below it, so the tag covers none
        # of it, and it stays attached to the shape (a bbox corner floats off diagonal shapes).
        if self.annotation.shape_type in ("circle", "rectangle", "mask"):
            anchor = QPointF(self._geo.center().x(), self._geo.top())
        else:
            top = int(np.argmin(self._points[:, 1]))
            anchor = QPointF(float(self._points[top, 0]), float(self._points[top, 1]))
        self._tag.setPos(anchor)
        text = self.style.name or self.annotation.label
        self._tag.set_text(text, QColor(*self.style.color), is_prediction(self.annotation))
        self._show_tag()

    @property
    def tag(self) -> LabelTag:
        """The label tag (a child item)."""
        return self._tag

    def set_tag_visible(self, visible: bool) -> None:
        """Allow or forbid the label tag altogether (drawing previews have none)."""
        self._tag_enabled = visible
        self._show_tag()

    def set_tag_placed(self, placed: bool) -> None:
        """The layer's decision: the tag fits (shown) or would crowd others (shown only while
        the mouse is over this shape)."""
        if placed != self._tag_placed:
            self._tag_placed = placed
            self._show_tag()

    @property
    def hovered(self) -> bool:
        """Under the mouse: its tag is shown whatever the layout says."""
        return self._hover

    @property
    def selected(self) -> bool:
        """Selected (shown with handles)."""
        return self._selected

    def tag_wanted(self) -> bool:
        """The shape can have a tag (it has points and tags are allowed)."""
        return self._tag_enabled and len(self._points) > 0

    def screen_extent(self) -> float:
        """Largest side of the shape on screen, in screen pixels."""
        return max(self._geo.width(), self._geo.height()) / self._px

    def tag_screen_rect(self) -> QRectF:
        """Where the tag is on screen, in screen pixels up to the view's offset (same for all)."""
        anchor = self._tag.pos() + self.pos()
        return self._tag.boundingRect().translated(anchor.x() / self._px, anchor.y() / self._px)

    def _show_tag(self) -> None:
        self._tag.setVisible(self.tag_wanted() and (self._tag_placed or self._hover))

    # ------------------------------------------------------------------ hit testing
    def hit(self, x: float, y: float, tol: float) -> Hit | None:
        """What (x, y) (scene coords) hits on this shape with tolerance ``tol`` (scene units)."""
        x -= self.pos().x()
        y -= self.pos().y()
        if not self.boundingRect().adjusted(-tol, -tol, tol, tol).contains(QPointF(x, y)):
            return None
        shape = self.annotation
        kind = shape.shape_type
        if self._selected and not self._locked and not self.is_tiny():
            handle = geo.nearest_vertex(self._handles, x, y, tol)
            if handle is not None:
                return Hit(
                    "vertex", handle, (float(self._handles[handle][0]), float(self._handles[handle][1]))
                )
            if kind in geo.INSERTABLE and self._draw_as != "polyline":
                edge = geo.nearest_edge(self._handles, x, y, tol, geo.INSERTABLE[kind])
                if edge is not None:
                    return Hit("edge", edge[0], edge[1])
        return Hit("body", -1, (x, y)) if self._body_contains(x, y, tol) else None

    def _body_contains(self, x: float, y: float, tol: float) -> bool:
        kind = self.annotation.shape_type
        pts = self._points
        open_tol = max(tol, self.style.line_width / 2)
        if kind in ("point", "points"):
            return geo.nearest_vertex(pts, x, y, max(tol, MARKER_PX * self._px)) is not None
        if kind in ("line", "linestrip") or (self._draw_as == "polyline" and kind != "circle"):
            return geo.nearest_edge(pts, x, y, open_tol, kind not in ("line", "linestrip")) is not None
        if kind == "circle" and len(pts) == 2:
            return math.hypot(x - pts[0][0], y - pts[0][1]) <= geo.circle_radius(self.annotation.points) + tol
        if kind in ("rectangle", "mask"):
            return self._geo.adjusted(-tol, -tol, tol, tol).contains(QPointF(x, y))
        if len(pts) >= 3:
            if self._outline.containsPoint(QPointF(x, y), Qt.FillRule.OddEvenFill):
                return True
            return geo.nearest_edge(pts, x, y, tol, True) is not None
        return False

    # ------------------------------------------------------------------ painting
    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        shape, style = self.annotation, self.style
        kind = shape.shape_type
        color = QColor(*style.color)
        n = len(self._points)
        dense = n > AA_MAX_VERTICES
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, not dense)
        # Dense outlines: 1 px cosmetic pens take Qt's fast stroker (~0.2 ms for 5,000 vertices
        # instead of ~5 ms); their handles or fill keep them visible.
        width = 1.0 if dense else 3.0 if self._selected or self._hover else 2.0
        pen = QPen(color, width)
        pen.setCosmetic(True)
        pen.setJoinStyle(Qt.PenJoinStyle.BevelJoin if dense else Qt.PenJoinStyle.RoundJoin)
        if is_prediction(shape):  # unconfirmed model output: long dashes, visible at any zoom
            pen.setDashPattern([4.0, 3.0])
        fill = QColor(color)
        if self._outline_only:
            fill.setAlpha(70 if self._selected else 45 if self._hover else 0)
            if kind in ("polygon", "oriented_rectangle", "rectangle", "circle") and not dense:
                self._paint_halo(painter, kind, width + 3.0)
        else:
            fill.setAlpha(110 if self._selected else 85 if self._hover else 55)
        wide = QColor(color)
        wide.setAlpha(120)
        wide_pen = QPen(
            wide,
            float(style.line_width),
            Qt.PenStyle.SolidLine,
            Qt.PenCapStyle.RoundCap,
            Qt.PenJoinStyle.RoundJoin,
        )
        painter.setPen(pen)
        painter.setBrush(fill)
        if kind in ("polygon", "oriented_rectangle") and self._draw_as == "polyline":
            painter.setPen(wide_pen)
            painter.drawPolyline(self._outline)
            painter.setPen(pen)
            painter.drawPolyline(self._outline)
        elif kind in ("polygon", "oriented_rectangle"):
            # Fill and outline in two calls: one call with both takes a much slower path.
            painter.setPen(Qt.PenStyle.NoPen)
            painter.drawPolygon(self._outline, Qt.FillRule.OddEvenFill)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPolygon(self._outline)
        elif kind == "rectangle" and n == 2:
            painter.drawRect(QRectF(QPointF(*self._points[0]), QPointF(*self._points[1])).normalized())
        elif kind == "circle" and n == 2:
            r = geo.circle_radius(shape.points)
            painter.drawEllipse(QPointF(*self._points[0]), r, r)
        elif kind in ("line", "linestrip"):
            if style.line_width > 1:
                painter.setPen(wide_pen)
                painter.drawPolyline(self._outline)
                painter.setPen(pen)
            painter.drawPolyline(self._outline)
        elif kind in ("point", "points"):
            self._paint_markers(painter, color)
        elif kind == "mask":
            if self._mask_image is not None:
                painter.drawImage(self._geo, self._mask_image)
            if self._selected or self._hover:
                painter.setBrush(Qt.BrushStyle.NoBrush)
                pen.setStyle(Qt.PenStyle.DashLine)
                painter.setPen(pen)
                painter.drawRect(self._geo)
        if self._selected and not self._locked and len(self._handles):
            if self.is_tiny():
                self._paint_selection_box(painter)
            else:
                self._paint_handles(painter, color)

    def _paint_halo(self, painter: QPainter, kind: str, width: float) -> None:
        """A dark band under the outline: it separates the line from a same-coloured overlay."""
        halo = QPen(QColor(10, 10, 10, 190), width)
        halo.setCosmetic(True)
        halo.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        painter.setPen(halo)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if kind in ("polygon", "oriented_rectangle"):
            if self._draw_as == "polyline":
                painter.drawPolyline(self._outline)
            else:
                painter.drawPolygon(self._outline)
        elif kind == "rectangle" and len(self._points) == 2:
            painter.drawRect(QRectF(QPointF(*self._points[0]), QPointF(*self._points[1])).normalized())
        elif kind == "circle" and len(self._points) == 2:
            r = geo.circle_radius(self.annotation.points)
            painter.drawEllipse(QPointF(*self._points[0]), r, r)

    def is_tiny(self) -> bool:
        """Smaller than TINY_PX on screen: handles would hide it, so a box marks the selection
        and the mouse moves the whole shape (zoom in to edit its vertices)."""
        if self.annotation.shape_type in ("point", "points") or len(self._handles) < 3:
            return False
        return max(self._geo.width(), self._geo.height()) < TINY_PX * self._px

    def _paint_selection_box(self, painter: QPainter) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        m = 4 * self._px
        box = self._geo.adjusted(-m, -m, m, m)
        for col, style in (
            (QColor(20, 20, 20), Qt.PenStyle.SolidLine),
            (QColor(255, 255, 255), Qt.PenStyle.DashLine),
        ):
            pen = QPen(col, 1, style)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.drawRect(box)

    def _paint_markers(self, painter: QPainter, color: QColor) -> None:
        for width, col in ((MARKER_PX + 3, QColor(20, 20, 20)), (MARKER_PX, color)):
            pen = QPen(col, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.drawPoints(self._outline)

    def _paint_handles(self, painter: QPainter, color: QColor) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        size = float(HANDLE_PX)
        if len(self._handles) > 8 and self._geo.width() + self._geo.height() > 0:
            # Dense outlines: smaller handles so the outline stays visible between them.
            spacing = 2 * (self._geo.width() + self._geo.height()) / len(self._handles) / self._px
            size = float(min(HANDLE_PX, max(3, int(spacing * 0.7))))
        for width, col in ((size + 2, QColor(20, 20, 20)), (size, QColor(255, 255, 255))):
            pen = QPen(col, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.SquareCap)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.drawPoints(self._handle_poly)
        special = [(i, QColor(255, 140, 0)) for i in self._selected_handles if i < len(self._handles)]
        if self._hover_handle is not None and self._hover_handle < len(self._handles):
            special.append((self._hover_handle, color))
        for i, col in special:
            pen = QPen(col, HANDLE_PX + 2, Qt.PenStyle.SolidLine, Qt.PenCapStyle.SquareCap)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.drawPoint(self._handle_poly.at(i))
