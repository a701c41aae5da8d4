"""Reading images the way the whole project sees them, and turning them into display pixels.

Conventions (api-contract): an image is a numpy array HxW (grey), HxWx3 (RGB order) or HxWx4
(RGBA), dtype uint8 or uint16, C-contiguous.

Decisions:

* Files are read as bytes by Python and decoded by ``cv2.imdecode(IMREAD_UNCHANGED)``, which
  works for any unicode path on every OS (``cv2.imread`` does not on Windows) and keeps 16-bit
  samples and alpha.
* **EXIF orientation is applied exactly where labelme applies it** (JPEG, PNG ``eXIf``, WebP),
  and ignored for TIFF and BMP like labelme. LabelMe coordinates, ``imageHeight`` and
  ``imageWidth`` refer to the image as labelme shows it, so reading it any other way would shift
  every annotation of a rotated phone/camera JPEG. ``image_size`` follows the same rule.
* Sample types other than uint8/uint16 (float or 32-bit TIFF, ...) raise :class:`ImageReadError`:
  nothing downstream knows how to scale them.
* :func:`to_display_rgb8` drops alpha instead of compositing it: the operator must see the pixel
  values the model sees, and the predictor drops alpha as well.
"""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np

#: File suffixes (lower case) the app lists as images.
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

PathLike = str | os.PathLike[str]


class ImageReadError(OSError):
    """An image file could not be read; ``path`` and ``problem`` say which and why."""

    def __init__(self, path: PathLike, problem: str) -> None:
        super().__init__(f"cannot read image {os.fspath(path)}: {problem}")
        self.path = Path(path)
        self.problem = problem


def is_image_file(path: PathLike) -> bool:
    """True when the file name has one of :data:`IMAGE_SUFFIXES` (case-insensitive)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


# --------------------------------------------------------------------------------------------
# Header parsing: size and EXIF orientation without decoding pixels.


def _exif_orientation(tiff: bytes) -> int:
    """The Orientation tag (0x0112) of IFD0 of an EXIF TIFF block, 1 when absent or unreadable."""
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return 1
    order = "<" if tiff[:2] == b"II" else ">"
    try:
        (ifd,) = struct.unpack_from(order + "I", tiff, 4)
        (count,) = struct.unpack_from(order + "H", tiff, ifd)
        for i in range(count):
            tag, kind, _n = struct.unpack_from(order + "HHI", tiff, ifd + 2 + 12 * i)
            if tag == 0x0112:
                fmt = "H" if kind == 3 else "I"  # SHORT per spec; tolerate LONG
                (value,) = struct.unpack_from(order + fmt, tiff, ifd + 2 + 12 * i + 8)
                return int(value) if 1 <= value <= 8 else 1
    except struct.error:
        return 1
    return 1


def _read_exact(fh: BinaryIO, n: int) -> bytes:
    data = fh.read(n)
    if len(data) != n:
        raise EOFError
    return data


def _probe_jpeg(fh: BinaryIO) -> tuple[int | None, int | None, int]:
    orientation = 1
    fh.seek(2)
    while True:
        byte = _read_exact(fh, 1)
        if byte != b"\xff":
            return None, None, orientation  # lost sync: let the decoder judge
        marker = _read_exact(fh, 1)[0]
        while marker == 0xFF:  # fill bytes
            marker = _read_exact(fh, 1)[0]
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            continue  # markers without a length
        if marker in (0xD9, 0xDA):  # end of image / start of scan before any frame header
            return None, None, orientation
        (length,) = struct.unpack(">H", _read_exact(fh, 2))
        if length < 2:
            return None, None, orientation
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            _precision, height, width = struct.unpack(">BHH", _read_exact(fh, 5))
            return width, height, orientation
        if marker == 0xE1 and orientation == 1:
            body = _read_exact(fh, length - 2)
            if body.startswith(b"Exif\x00\x00"):
                orientation = _exif_orientation(body[6:])
            continue
        fh.seek(length - 2, io.SEEK_CUR)


def _probe_png(fh: BinaryIO) -> tuple[int | None, int | None, int]:
    fh.seek(8)
    length, kind = struct.unpack(">I4s", _read_exact(fh, 8))
    if kind != b"IHDR":
        return None, None, 1
    width, height = struct.unpack(">II", _read_exact(fh, 8))
    fh.seek(length - 8 + 4, io.SEEK_CUR)  # rest of IHDR + CRC
    # eXIf must precede IDAT (PNG 1.5); stop there, as Pillow (hence labelme) does before load().
    orientation = 1
    while True:
        head = fh.read(8)
        if len(head) < 8:
            break
        length, kind = struct.unpack(">I4s", head)
        if kind in (b"IDAT", b"IEND"):
            break
        if kind == b"eXIf":
            body = _read_exact(fh, length)
            orientation = _exif_orientation(body[6:] if body.startswith(b"Exif\x00\x00") else body)
            break
        fh.seek(length + 4, io.SEEK_CUR)
    return width, height, orientation


def _probe_webp(fh: BinaryIO) -> tuple[int | None, int | None, int]:
    # Size is left to the decoder (three bitstream variants); only the EXIF chunk is looked up.
    fh.seek(12)
    while True:
        head = fh.read(8)
        if len(head) < 8:
            return None, None, 1
        kind, length = struct.unpack("<4sI", head)
        if kind == b"EXIF":
            body = _read_exact(fh, length)
            return None, None, _exif_orientation(body[6:] if body.startswith(b"Exif\x00\x00") else body)
        fh.seek(length + (length & 1), io.SEEK_CUR)


def _probe_bmp(fh: BinaryIO) -> tuple[int | None, int | None, int]:
    fh.seek(14)
    (size,) = struct.unpack("<I", _read_exact(fh, 4))
    if size == 12:  # BITMAPCOREHEADER
        width, height = struct.unpack("<HH", _read_exact(fh, 4))
    else:
        width, height = struct.unpack("<ii", _read_exact(fh, 8))
    return abs(width), abs(height), 1  # negative height = top-down rows


def _probe_tiff(fh: BinaryIO) -> tuple[int | None, int | None, int]:
    fh.seek(0)
    head = _read_exact(fh, 8)
    order = "<" if head[:2] == b"II" else ">"
    magic, ifd = struct.unpack(order + "HI", head[2:])
    if magic != 42:  # BigTIFF and friends: let the decoder judge
        return None, None, 1
    fh.seek(ifd)
    (count,) = struct.unpack(order + "H", _read_exact(fh, 2))
    entries = _read_exact(fh, 12 * count)
    width = height = None
    for i in range(count):
        tag, kind = struct.unpack_from(order + "HH", entries, 12 * i)
        if tag in (256, 257):
            fmt = "H" if kind == 3 else "I"
            (value,) = struct.unpack_from(order + fmt, entries, 12 * i + 8)
            if tag == 256:
                width = value
            else:
                height = value
    # Orientation of TIFF files is ignored, as by labelme.
    return width, height, 1


def _probe(fh: BinaryIO) -> tuple[str, int | None, int | None, int]:
    """(format, width, height, orientation to apply); sizes None where the header did not say."""
    magic = fh.read(12)
    fh.seek(0)
    probes = {
        "jpeg": _probe_jpeg,
        "png": _probe_png,
        "webp": _probe_webp,
        "bmp": _probe_bmp,
        "tiff": _probe_tiff,
    }
    if magic.startswith(b"\xff\xd8"):
        kind = "jpeg"
    elif magic.startswith(b"\x89PNG\r\n\x1a\n"):
        kind = "png"
    elif magic.startswith(b"RIFF") and magic[8:12] == b"WEBP":
        kind = "webp"
    elif magic.startswith(b"BM"):
        kind = "bmp"
    elif magic[:4] in (b"II*\x00", b"MM\x00*"):
        kind = "tiff"
    else:
        return "other", None, None, 1
    try:
        return (kind, *probes[kind](fh))
    except (EOFError, struct.error, OSError, ValueError):
        return kind, None, None, 1


def _apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Turn a decoded image the way EXIF ``orientation`` says (same result as labelme/Pillow)."""
    if orientation == 2:
        image = image[:, ::-1]
    elif orientation == 3:
        image = image[::-1, ::-1]
    elif orientation == 4:
        image = image[::-1]
    elif orientation == 5:
        image = image.swapaxes(0, 1)
    elif orientation == 6:
        image = np.rot90(image, k=-1)
    elif orientation == 7:
        image = image[::-1, ::-1].swapaxes(0, 1)
    elif orientation == 8:
        image = np.rot90(image, k=1)
    else:
        return image
    return np.ascontiguousarray(image)


# --------------------------------------------------------------------------------------------
# Public API


def read_image(path: PathLike) -> np.ndarray:
    """Read an image file as HxW grey, HxWx3 RGB or HxWx4 RGBA, uint8 or uint16.

    Raises :class:`ImageReadError` (naming the file and the problem) for a missing or unreadable
    file, an unknown format, corrupt or truncated data and unsupported sample types.
    """
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ImageReadError(path, "no such file") from None
    except IsADirectoryError:
        raise ImageReadError(path, "is a folder, not a file") from None
    except OSError as exc:
        raise ImageReadError(path, exc.strerror or str(exc)) from None
    if not data:
        raise ImageReadError(path, "the file is empty")
    try:
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise ImageReadError(path, f"the decoder failed ({str(exc).strip().splitlines()[-1]})") from None
    if image is None or image.size == 0:
        raise ImageReadError(path, "unknown image format or corrupt/truncated data")
    if image.dtype not in (np.uint8, np.uint16):
        raise ImageReadError(path, f"unsupported sample type {image.dtype} (only 8- and 16-bit images)")
    if image.ndim == 3:
        channels = image.shape[2]
        if channels == 1:
            image = image[:, :, 0]
        elif channels == 3:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        elif channels == 4:
            image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
        else:
            raise ImageReadError(path, f"unsupported channel count {channels}")
    kind, _w, _h, orientation = _probe(io.BytesIO(data))
    if kind in ("jpeg", "png", "webp"):
        image = _apply_orientation(image, orientation)
    return np.ascontiguousarray(image)


def image_size(path: PathLike) -> tuple[int, int]:
    """``(height, width)`` of an image as :func:`read_image` would return it.

    Parses only the header for PNG, JPEG, BMP and TIFF (EXIF orientation included); other formats
    and unusual headers fall back to decoding. Raises :class:`ImageReadError` like ``read_image``.
    """
    try:
        with open(path, "rb") as fh:
            _kind, width, height, orientation = _probe(fh)
    except FileNotFoundError:
        raise ImageReadError(path, "no such file") from None
    except IsADirectoryError:
        raise ImageReadError(path, "is a folder, not a file") from None
    except OSError as exc:
        raise ImageReadError(path, exc.strerror or str(exc)) from None
    if width and height:
        return (width, height) if orientation in (5, 6, 7, 8) else (height, width)
    shape = read_image(path).shape
    return int(shape[0]), int(shape[1])


def display_window(image: np.ndarray, low: float = 0.5, high: float = 99.5) -> tuple[int, int]:
    """Percentile window ``(lo, hi)`` of an image's samples (alpha excluded), with ``hi > lo``.

    Computed from a histogram of at most about a million samples, so it is cheap on large frames.
    Keep one window for a whole camera stream to avoid flicker.
    """
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    step = max(1, int(np.sqrt(image.shape[0] * image.shape[1] / 1_000_000)))
    sample = image[::step, ::step]
    levels = 65536 if image.dtype == np.uint16 else 256
    hist = np.bincount(sample.ravel(), minlength=levels)
    cdf = np.cumsum(hist)
    total = int(cdf[-1])
    lo = int(np.searchsorted(cdf, total * low / 100.0, side="left"))
    hi = int(np.searchsorted(cdf, total * high / 100.0, side="left"))
    if hi <= lo:
        hi = lo + 1
    return lo, hi


def to_display_rgb8(image: np.ndarray, window: tuple[float, float] | None = None) -> np.ndarray:
    """HxWx3 uint8 RGB for display only (never feed this to a model).

    * grey is repeated to three channels; alpha is dropped (see the module docstring);
    * uint16 is mapped linearly from ``window = (lo, hi)`` (image units) to 0..255, by default
      the 0.5/99.5 percentile window of :func:`display_window`;
    * uint8 ignores ``window`` unless one is given. An input that is already contiguous uint8 RGB
      without a window is returned as is (no copy): do not modify the result.
    """
    if image.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"to_display_rgb8 expects uint8 or uint16, got {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    elif not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise ValueError(f"to_display_rgb8 expects HxW, HxWx3 or HxWx4, got shape {image.shape}")
    if image.dtype == np.uint16 and window is None:
        window = display_window(image)
    if window is not None:
        lo, hi = float(window[0]), max(float(window[1]), float(window[0]) + 1e-6)
        levels = np.arange(65536 if image.dtype == np.uint16 else 256, dtype=np.float32)
        lut = np.clip((levels - lo) * (255.0 / (hi - lo)) + 0.5, 0, 255).astype(np.uint8)
        image = lut[image]  # one gather: fast and exact for integer samples
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    return np.ascontiguousarray(image)
