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
  overlay blended in, optionally downscaled, as one RGB32 image that owns its pixels. Made on a
  worker thread with OpenCV/numpy (they release the GIL), so live views only set it.

Pixel values in the LUT are packed as native-endian 32-bit ``0xAARRGGBB`` words, which is how Qt
stores ``Format_ARGB32*`` on every platform.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import cv2
import numpy as np
import numpy.typing as npt
from PySide6.QtGui import QColor, QImage

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
    """``image`` (HxW / HxWx3 / HxWx4, uint8 or uint16) with ``mask`` coloured by ``palette``
    blended over it (class 0 and classes past the palette left clear), as an opaque ``RGB32``
    image that owns its pixels (what a pixmap is made from without another conversion).

    With ``max_side`` the result is scaled down (area interpolation; the mask nearest) so that
    its longer side is at most that: a 4096x3000 frame is never handed to a small tile at full
    size. Made for worker threads: every pixel operation is OpenCV or numpy, which release the
    GIL while they run. QPainter and ``QImage.scaled`` hold it for their whole call under
    PySide6, and on the live output thread that stalled the GUI thread waiting for the GIL.
    """
    rgb = to_display_rgb8(image)
    if mask is not None and mask.shape[:2] != rgb.shape[:2]:
        mask = None
    height, width = rgb.shape[:2]
    if height == 0 or width == 0:
        return QImage()
    if max_side is not None and max(height, width) > max_side:
        scale = max_side / max(height, width)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        if mask is not None:
            mask = np.asarray(cv2.resize(_mask_u8(mask), size, interpolation=cv2.INTER_NEAREST), np.uint8)
    # B, G, R, 255 bytes are the 32-bit words 0xffRRGGBB of Format_RGB32 on a little-endian CPU
    bgra = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA), np.uint8)
    if mask is not None:
        _blend_into(bgra, _mask_u8(mask), palette, opacity)
    out = QImage(bgra.shape[1], bgra.shape[0], QImage.Format.Format_RGB32)
    if out.isNull():
        raise MemoryError(f"cannot allocate a {bgra.shape[1]}x{bgra.shape[0]} QImage")
    _image_view(out)[:, : bgra.shape[1] * 4] = bgra.reshape(bgra.shape[0], -1)
    return out


def _mask_u8(mask: np.ndarray) -> npt.NDArray[np.uint8]:
    return mask if mask.dtype == np.uint8 else np.clip(mask, 0, 255).astype(np.uint8)


def _blend_into(
    bgra: npt.NDArray[np.uint8], mask: npt.NDArray[np.uint8], palette: npt.ArrayLike, opacity: float
) -> None:
    """Blend the class colours into ``bgra`` in place, within the mask's bounding box only."""
    colours = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)[:256]
    x, y, w, h = cv2.boundingRect(mask)  # of the non-zero pixels; (0, 0, 0, 0) for none
    if w == 0 or h == 0 or len(colours) < 2:
        return
    lut = np.full((256, 4), 255, np.uint8)
    lut[: len(colours), :3] = colours[:, ::-1]  # RGB palette -> BGR(A) pixels
    roi, classes = bgra[y : y + h, x : x + w], mask[y : y + h, x : x + w]
    alpha = min(max(float(opacity), 0.0), 1.0)
    blended = cv2.addWeighted(roi, 1.0 - alpha, lut[classes], alpha, 0.0)
    painted = (classes > 0) & (classes < len(colours))
    np.copyto(roi, blended, where=painted[:, :, None])
