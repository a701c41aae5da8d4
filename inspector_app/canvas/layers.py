"""Raster layers of the canvas: the image, the prediction overlay and the brush/eraser layer.

Large images stay smooth because nothing is converted while painting:

* :class:`PyramidItem` holds the picture as a pyramid of ``QPixmap`` levels (full size, 1/2,
  1/4, ... down to about 1,024 px) built ONCE when the image is set. ``paint`` picks the level
  that matches the zoom and draws only the exposed rectangle of it: zoomed out, an 8000x6000
  image is drawn from a small level (fast, and area-averaged instead of aliased); zoomed in to
  1:1 and beyond, from the full level with nearest-neighbour sampling, so pixels are seen as they
  are, which is what an annotator needs at the boundary of a defect.
* The prediction overlay is a pyramid too, but its levels are built by 2x2 **max** pooling of the
  class mask (then coloured), so a 3-pixel pinhole stays visible when zoomed out; opacity is the
  item's opacity (a slider move costs nothing), visible classes re-colour the levels via one LUT.
* :class:`PaintLayerItem` is the live brush/eraser stroke: a uint8 numpy mask the size of the
  image, drawn through a zero-copy ``Format_Indexed8`` QImage whose colour table makes 0
  transparent; strokes are drawn with OpenCV and only the stroke's rectangle is repainted.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QImage, QPainter, QPixmap
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from inspector_app.core.images import to_display_rgb8
from inspector_app.qtconvert import overlay_qimage

__all__ = [
    "DisplayImage",
    "PaintLayerItem",
    "PyramidItem",
    "image_levels",
    "mask_levels",
    "prepare_display",
]

MIN_LEVEL_SIDE = 1024


def image_levels(image: np.ndarray) -> list[np.ndarray]:
    """Display pyramid of an image: 8-bit (16-bit windowed), each level half the previous."""
    if image.dtype != np.uint8:
        image = to_display_rgb8(image)
    if image.ndim == 3 and image.shape[2] == 4:
        image = np.ascontiguousarray(image[:, :, :3])
    levels = [image]
    while max(levels[-1].shape[:2]) > MIN_LEVEL_SIDE:
        prev = levels[-1]
        size = (max(1, prev.shape[1] // 2), max(1, prev.shape[0] // 2))
        levels.append(cv2.resize(prev, size, interpolation=cv2.INTER_AREA))
    return levels


def mask_levels(mask: npt.NDArray[np.uint8]) -> list[npt.NDArray[np.uint8]]:
    """Class-mask pyramid by 2x2 max pooling (small defects survive zooming out)."""
    levels = [np.ascontiguousarray(mask, dtype=np.uint8)]
    while max(levels[-1].shape) > MIN_LEVEL_SIDE:
        prev = levels[-1]
        h, w = prev.shape
        if h % 2 or w % 2:
            prev = np.pad(prev, ((0, h % 2), (0, w % 2)))
        # Four strided views and two maxima: ~20 ms for 48 MP (a reshape + max is 30x slower).
        top = np.maximum(prev[0::2, 0::2], prev[0::2, 1::2])
        levels.append(np.maximum(top, np.maximum(prev[1::2, 0::2], prev[1::2, 1::2])))
    return levels


class PyramidItem(QGraphicsItem):
    """A picture of ``width`` x ``height`` image pixels drawn from a pixmap pyramid at (0, 0)."""

    def __init__(self, smooth_when_reduced: bool = True) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._levels: list[QPixmap] = []
        self._rect = QRectF()
        self._smooth = smooth_when_reduced

    def set_levels(self, levels: list[QImage], width: int, height: int) -> None:
        """Show these levels (level 0 = full size); an empty list shows nothing."""
        self.prepareGeometryChange()
        self._levels = [QPixmap.fromImage(im) for im in levels]
        self._rect = QRectF(0, 0, width, height) if levels else QRectF()
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        if not self._levels:
            return
        scale = option.levelOfDetailFromTransform(painter.worldTransform())  # screen px / image px
        level = 0 if scale >= 1 else min(len(self._levels) - 1, math.floor(math.log2(1 / scale)))
        pixmap = self._levels[level]
        exposed = option.exposedRect.intersected(self._rect)
        if exposed.isEmpty():
            return
        # Snap to whole pixels of the chosen level so that partial repaints never leave seams.
        fx = pixmap.width() / self._rect.width()
        fy = pixmap.height() / self._rect.height()
        sx0, sy0 = math.floor(exposed.left() * fx), math.floor(exposed.top() * fy)
        sx1 = min(pixmap.width(), math.ceil(exposed.right() * fx))
        sy1 = min(pixmap.height(), math.ceil(exposed.bottom() * fy))
        source = QRectF(sx0, sy0, sx1 - sx0, sy1 - sy0)
        target = QRectF(sx0 / fx, sy0 / fy, (sx1 - sx0) / fx, (sy1 - sy0) / fy)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self._smooth and scale < 1)
        painter.drawPixmap(target, pixmap, source)


def _rgb32(level: np.ndarray) -> QImage:
    """A Format_RGB32 QImage of an 8-bit grey/RGB level, converted straight into its buffer.

    RGB32 is the raster engine's native format, so ``QPixmap.fromImage`` shares it (no copy, no
    conversion) and drawing it never converts pixels.
    """
    height, width = level.shape[:2]
    image = QImage(width, height, QImage.Format.Format_RGB32)
    if image.isNull():
        raise MemoryError(f"cannot allocate a {width}x{height} image")
    words = np.frombuffer(image.bits(), np.uint8)[: height * width * 4].reshape(height, width, 4)
    code = cv2.COLOR_GRAY2BGRA if level.ndim == 2 else cv2.COLOR_RGB2BGRA
    cv2.cvtColor(np.ascontiguousarray(level), code, dst=words)
    return image


@dataclass(frozen=True)
class DisplayImage:
    """An image ready for :meth:`CanvasView.set_image`: RGB32 pyramid levels (level 0 = full size).

    Made by :func:`prepare_display`, which may run in a worker thread (QImage only, no QPixmap),
    so that a 48-megapixel image costs the GUI thread nothing but a pointer hand-over.
    """

    levels: tuple[QImage, ...]
    height: int
    width: int


def prepare_display(image: np.ndarray) -> DisplayImage:
    """Display pyramid of ``image`` (any thread): see :func:`image_levels` and :class:`DisplayImage`."""
    levels = tuple(_rgb32(level) for level in image_levels(image))
    return DisplayImage(levels, int(image.shape[0]), int(image.shape[1]))


class OverlayPyramid:
    """The prediction mask's levels, re-coloured on demand into QImages for a PyramidItem."""

    def __init__(self, mask: npt.NDArray[np.uint8]) -> None:
        self.mask = mask
        self.levels = mask_levels(mask)

    def images(self, palette: npt.ArrayLike, visible: Collection[int] | None) -> list[QImage]:
        """Coloured levels (opaque colours: the item's opacity does the blending)."""
        return [overlay_qimage(level, palette, 1.0, visible) for level in self.levels]


class PaintLayerItem(QGraphicsItem):
    """Live brush/eraser strokes over the image (value 1 = painted); see the module docstring."""

    def __init__(self) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._mask: npt.NDArray[np.uint8] = np.zeros((0, 0), np.uint8)
        self._image = QImage()
        self._rect = QRectF()
        self._painted = False
        self._painted_box = QRectF()

    def reset(self, height: int, width: int, rgb: tuple[int, int, int], alpha: int = 150) -> None:
        """Clear the layer to an empty mask of this size, painted pixels shown in ``rgb``."""
        self.prepareGeometryChange()
        if self._mask.shape != (height, width):
            self._mask = np.zeros((height, width), np.uint8)
        else:
            self._mask[:] = 0
        self._image = QImage(self._mask.data, width, height, width, QImage.Format.Format_Indexed8)
        r, g, b = rgb
        # Colour table entries are premultiplied-agnostic ARGB words; 0 stays fully transparent.
        self._image.setColorTable([0, (alpha << 24) | (r << 16) | (g << 8) | b])
        self._rect = QRectF(0, 0, width, height)
        self._painted = False
        self._painted_box = QRectF()
        self.update()

    @property
    def mask(self) -> npt.NDArray[np.uint8]:
        """The painted pixels (a view: copy it before keeping it)."""
        return self._mask

    @property
    def is_painted(self) -> bool:
        """True once anything was painted since the last reset."""
        return self._painted

    def stroke(self, start: QPointF, end: QPointF, radius: float) -> None:
        """Paint a round-capped segment of ``radius`` image pixels and repaint just that area."""
        if self._mask.size == 0:
            return
        # A point anywhere in [x, x + 1) is pixel x (the core's truncation rule).
        p0 = (math.floor(start.x()), math.floor(start.y()))
        p1 = (math.floor(end.x()), math.floor(end.y()))
        r = max(0, round(radius))
        if r == 0:
            cv2.line(self._mask, p0, p1, 1, 1, cv2.LINE_8)
        else:
            cv2.line(self._mask, p0, p1, 1, 2 * r + 1, cv2.LINE_8)
            cv2.circle(self._mask, p0, r, 1, -1, cv2.LINE_8)
            cv2.circle(self._mask, p1, r, 1, -1, cv2.LINE_8)
        self._painted = True
        x0, x1 = min(p0[0], p1[0]) - r - 2, max(p0[0], p1[0]) + r + 3
        y0, y1 = min(p0[1], p1[1]) - r - 2, max(p0[1], p1[1]) + r + 3
        dirty = QRectF(x0, y0, x1 - x0, y1 - y0)
        self._painted_box = self._painted_box.united(dirty) if not self._painted_box.isNull() else dirty
        self.update(dirty)

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        if not self._painted:
            return
        # Only where strokes are: a full-image indexed draw would cost a lot on big images.
        exposed = option.exposedRect.intersected(self._rect).intersected(self._painted_box)
        if exposed.isEmpty():
            return
        x0, y0 = max(0, math.floor(exposed.left())), max(0, math.floor(exposed.top()))
        x1 = min(int(self._rect.width()), math.ceil(exposed.right()))
        y1 = min(int(self._rect.height()), math.ceil(exposed.bottom()))
        source = QRectF(x0, y0, x1 - x0, y1 - y0)
        painter.drawImage(source, self._image, source)
