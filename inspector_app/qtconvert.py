"""The one place where numpy arrays become Qt images and back.

Everything that turns pixels into ``QImage``/``QColor`` goes through here, so that the rules about
formats, strides and buffer lifetime are written down once:

* ``array_to_qimage(arr, *, copy=True) -> QImage``: uint8 HxW (Grayscale8), HxWx3 RGB (RGB888),
  HxWx4 RGBA (RGBA8888). uint16 (or a window) goes through
  :func:`inspector_app.core.images.to_display_rgb8` first (display only). With ``copy=True`` (the
  default) the QImage owns its pixels: it may be stored, passed to other threads or to C++ freely.
  With ``copy=False`` the QImage views the array's memory (no copy); the Python wrapper keeps a
  reference to the array, but a C++ copy of the image that outlives the wrapper would dangle, so
  use it only for immediate drawing / ``QPixmap.fromImage``.
* ``overlay_qimage(mask, palette, opacity=0.5, visible=None) -> QImage``: a class-index mask
  coloured by a palette into ARGB32 premultiplied with one vectorised LUT gather written straight
  into the QImage's own buffer (background and hidden classes transparent).
* ``qimage_to_array(image) -> ndarray``: a copy as HxW / HxWx3 / HxWx4 uint8.
* ``color_to_qcolor(rgb, alpha=255) -> QColor``.
* ``blended_qimage(image, mask, palette, opacity, max_side) -> QImage``: a frame with its class
  overlay painted on, optionally downscaled, as one image that owns its pixels. Safe to call on
  a worker thread (QImage and QPainter on a QImage need no GUI thread), so live views only set it.

Pixel values in the LUT are packed as native-endian 32-bit ``0xAARRGGBB`` words, which is how Qt
stores ``Format_ARGB32*`` on every platform.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPainter

from inspector_app.core.images import to_display_rgb8

__all__ = [
    "argb_lut",
    "array_to_qimage",
    "blended_qimage",
    "color_to_qcolor",
    "overlay_qimage",
    "qimage_to_array",
]

_FORMATS: dict[int, QImage.Format] = {
    1: QImage.Format.Format_Grayscale8,
    3: QImage.Format.Format_RGB888,
    4: QImage.Format.Format_RGBA8888,
}


def _image_view(image: QImage) -> npt.NDArray[np.uint8]:
    """Writable uint8 view (height x bytesPerLine) of a QImage's own pixel buffer."""
    buffer = np.frombuffer(image.bits(), dtype=np.uint8)
    return buffer[: image.height() * image.bytesPerLine()].reshape(image.height(), image.bytesPerLine())


def array_to_qimage(
    arr: np.ndarray, *, copy: bool = True, window: tuple[float, float] | None = None
) -> QImage:
    """A QImage showing ``arr`` (see the module docstring for formats and lifetime).

    uint16 images are windowed to 8 bits for display only (``window`` in image units, default the
    percentile window of ``to_display_rgb8``); grey stays grey when it is uint8 and unwindowed.
    """
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)):
        raise ValueError(f"expected HxW, HxWx3 or HxWx4, got shape {arr.shape}")
    if arr.dtype != np.uint8 or window is not None:
        arr = to_display_rgb8(arr, window)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    height, width = arr.shape[:2]
    channels = 1 if arr.ndim == 2 else arr.shape[2]
    fmt = _FORMATS[channels]
    if height == 0 or width == 0:
        return QImage()
    if not copy:
        arr = np.ascontiguousarray(arr)
        # PySide keeps a reference to the buffer object for as long as the wrapper lives.
        image = QImage(arr.data, width, height, int(arr.strides[0]), fmt)
        image._numpy_buffer = arr  # type: ignore[attr-defined]  # belt and braces
        return image
    image = QImage(width, height, fmt)
    if image.isNull():
        raise MemoryError(f"cannot allocate a {width}x{height} QImage")
    _image_view(image)[:, : width * channels] = arr.reshape(height, width * channels)
    return image


def argb_lut(
    palette: npt.ArrayLike, opacity: float = 1.0, visible: Collection[int] | None = None
) -> npt.NDArray[np.uint32]:
    """256-entry premultiplied ARGB32 LUT: entry i = class i's colour at ``opacity``.

    Entry 0 (background), entries past the palette and classes not in ``visible`` (when given)
    are fully transparent.
    """
    pal = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)[:256].astype(np.uint32)
    alpha = round(min(max(float(opacity), 0.0), 1.0) * 255)
    # Premultiply with rounding: c * a / 255.
    pre = (pal * alpha + 127) // 255
    words = (alpha << 24) | (pre[:, 0] << 16) | (pre[:, 1] << 8) | pre[:, 2]
    lut = np.zeros(256, dtype=np.uint32)
    lut[: len(words)] = words
    lut[0] = 0
    if visible is not None:
        keep = np.zeros(256, dtype=bool)
        idx = [i for i in visible if 0 <= i < 256]
        keep[idx] = True
        lut[~keep] = 0
    return lut


def overlay_qimage(
    mask: npt.NDArray[np.uint8],
    palette: npt.ArrayLike,
    opacity: float = 0.5,
    visible: Collection[int] | None = None,
) -> QImage:
    """Colour a uint8 class mask (HxW) into an ARGB32-premultiplied QImage that owns its pixels."""
    if mask.ndim != 2:
        raise ValueError(f"expected a 2-D class mask, got shape {mask.shape}")
    if mask.dtype != np.uint8:
        mask = np.clip(mask, 0, 255).astype(np.uint8)
    height, width = mask.shape
    image = QImage(width, height, QImage.Format.Format_ARGB32_Premultiplied)
    if height == 0 or width == 0:
        return image
    lut = argb_lut(palette, opacity, visible)
    # ARGB32 rows are always 4-byte aligned, so bytesPerLine == 4 * width: a flat uint32 view.
    words = np.frombuffer(image.bits(), dtype=np.uint32)[: height * width].reshape(height, width)
    # mode='wrap': with the default 'raise' numpy buffers ``out`` (5x slower); uint8 < 256 anyway.
    np.take(lut, mask, out=words, mode="wrap")
    return image


def qimage_to_array(image: QImage) -> np.ndarray:
    """A numpy copy of ``image``: Grayscale8 -> HxW, RGB888 -> HxWx3, anything else -> HxWx4 RGBA."""
    if image.isNull():
        return np.zeros((0, 0, 4), dtype=np.uint8)
    fmt = image.format()
    if fmt == QImage.Format.Format_Grayscale8:
        channels = 1
    elif fmt == QImage.Format.Format_RGB888:
        channels = 3
    else:
        image = image.convertToFormat(QImage.Format.Format_RGBA8888)
        channels = 4
    height, width = image.height(), image.width()
    rows = np.frombuffer(image.constBits(), dtype=np.uint8)[: height * image.bytesPerLine()]
    data = rows.reshape(height, image.bytesPerLine())[:, : width * channels].copy()
    return data.reshape(height, width) if channels == 1 else data.reshape(height, width, channels)


def color_to_qcolor(color: Sequence[int] | QColor, alpha: int = 255) -> QColor:
    """``(r, g, b)`` (0..255) -> QColor with ``alpha``; a QColor is returned as a copy."""
    if isinstance(color, QColor):
        out = QColor(color)
        out.setAlpha(alpha)
        return out
    r, g, b = (int(c) for c in color[:3])
    return QColor(r, g, b, alpha)


def blended_qimage(
    image: np.ndarray,
    mask: npt.NDArray[np.uint8] | None,
    palette: npt.ArrayLike,
    opacity: float = 0.5,
    max_side: int | None = None,
) -> QImage:
    """``image`` (HxW / HxWx3 / HxWx4) with ``mask`` coloured by ``palette`` painted over it.

    With ``max_side`` the result is scaled down (smoothly) so its longer side is at most that:
    a 4096x3000 frame is never handed to a small tile at full size. Thread-safe (see module doc).
    """
    frame = array_to_qimage(image).convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
    if mask is not None and mask.shape[:2] == image.shape[:2]:
        painter = QPainter(frame)
        painter.drawImage(0, 0, overlay_qimage(mask, palette, opacity))
        painter.end()
    if max_side is not None and max(frame.width(), frame.height()) > max_side:
        frame = frame.scaled(
            max_side,
            max_side,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
    return frame
