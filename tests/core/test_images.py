"""read_image / image_size / to_display_rgb8 on real files written by OpenCV."""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector_app.core.images import (
    IMAGE_SUFFIXES,
    ImageReadError,
    display_window,
    image_size,
    is_image_file,
    read_image,
    to_display_rgb8,
)

RNG = np.random.default_rng(7)


def _write(path: Path, image_rgb: np.ndarray) -> Path:
    """Write an RGB(A)/grey image with OpenCV (which wants BGR) through bytes (unicode-safe)."""
    if image_rgb.ndim == 3 and image_rgb.shape[2] == 3:
        bgr = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR)
    elif image_rgb.ndim == 3:
        bgr = cv2.cvtColor(image_rgb, cv2.COLOR_RGBA2BGRA)
    else:
        bgr = image_rgb
    ok, buf = cv2.imencode(path.suffix, bgr)
    assert ok
    path.write_bytes(buf.tobytes())
    return path


def _random(shape: tuple[int, ...], dtype: type) -> np.ndarray:
    high = 65536 if dtype == np.uint16 else 256
    return RNG.integers(0, high, size=shape, dtype=np.int64).astype(dtype)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_lossless_formats_round_trip_exactly(tmp_path: Path, suffix: str, dtype: type, channels: int) -> None:
    shape = (37, 53) if channels == 1 else (37, 53, channels)
    image = _random(shape, dtype)
    path = _write(tmp_path / f"img{suffix}", image)
    got = read_image(path)
    assert got.dtype == dtype
    assert got.shape == shape
    assert got.flags.c_contiguous
    np.testing.assert_array_equal(got, image)  # channel order RGB(A), not BGR(A)
    assert image_size(path) == (37, 53)


def test_rgb_order_is_not_bgr(tmp_path: Path) -> None:
    image = np.zeros((4, 5, 3), np.uint8)
    image[..., 0] = 200  # pure red
    path = _write(tmp_path / "red.png", image)
    assert read_image(path)[0, 0].tolist() == [200, 0, 0]
    # And OpenCV's own reader sees BGR, i.e. the file really holds red.
    assert cv2.imread(str(path))[0, 0].tolist() == [0, 0, 200]


@pytest.mark.parametrize("suffix", [".jpg", ".bmp", ".webp"])
def test_other_formats_read_with_the_right_shape(tmp_path: Path, suffix: str) -> None:
    image = np.full((21, 34, 3), (10, 120, 240), np.uint8)
    path = _write(tmp_path / f"img{suffix}", image)
    got = read_image(path)
    assert got.shape == (21, 34, 3) and got.dtype == np.uint8
    assert np.abs(got.astype(int) - image).max() <= 3  # lossy codecs
    assert image_size(path) == (21, 34)


def test_grey_bmp_and_jpeg(tmp_path: Path) -> None:
    grey = _random((15, 22), np.uint8)
    assert read_image(_write(tmp_path / "g.bmp", grey)).shape == (15, 22)
    assert read_image(_write(tmp_path / "g.jpg", grey)).shape == (15, 22)
    assert image_size(tmp_path / "g.jpg") == (15, 22)


def test_unicode_path(tmp_path: Path) -> None:
    folder = tmp_path / "Prüfung 检测 ✓"
    folder.mkdir()
    image = _random((9, 11, 3), np.uint8)
    path = _write(folder / "Oberfläche_缺陷.png", image)
    np.testing.assert_array_equal(read_image(path), image)
    assert image_size(str(path)) == (9, 11)


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match=r"nope\.png.*no such file") as info:
        read_image(tmp_path / "nope.png")
    assert info.value.path == tmp_path / "nope.png"
    with pytest.raises(ImageReadError, match="no such file"):
        image_size(tmp_path / "nope.png")


@pytest.mark.parametrize(
    "content", [b"", b"this is not an image at all", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40]
)
def test_garbage_raises(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(ImageReadError, match=r"bad\.png"):
        read_image(path)
    with pytest.raises(ImageReadError):
        image_size(path)


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif"])
def test_truncated_file_raises(tmp_path: Path, suffix: str) -> None:
    # A camera still writing the file while the app's folder watcher reads it.
    path = _write(tmp_path / f"full{suffix}", _random((64, 64, 3), np.uint8))
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ImageReadError, match=f"cut{suffix}"):
        read_image(cut)


def test_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match="folder"):
        read_image(tmp_path)


def test_float_tiff_is_rejected(tmp_path: Path) -> None:
    ok, buf = cv2.imencode(".tif", np.zeros((4, 4), np.float32))
    assert ok
    (tmp_path / "f.tif").write_bytes(buf.tobytes())
    with pytest.raises(ImageReadError, match="float32"):
        read_image(tmp_path / "f.tif")


def _with_exif_orientation(jpeg: bytes, orientation: int, big_endian: bool) -> bytes:
    order = ">" if big_endian else "<"
    tiff = (b"MM" if big_endian else b"II") + struct.pack(order + "HI", 42, 8)
    tiff += struct.pack(order + "H", 1) + struct.pack(order + "HHIH2x", 0x0112, 3, 1, orientation)
    tiff += struct.pack(order + "I", 0)
    payload = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_jpeg_exif_orientation_is_applied_like_labelme(tmp_path: Path, orientation: int) -> None:
    image = np.zeros((24, 40, 3), np.uint8)
    image[:8, :12] = (255, 255, 255)  # a corner block shows where the top-left went
    ok, buf = cv2.imencode(".jpg", image)
    assert ok
    path = tmp_path / "o.jpg"
    path.write_bytes(_with_exif_orientation(buf.tobytes(), orientation, big_endian=orientation % 2 == 0))
    got = read_image(path)
    # OpenCV's IMREAD_COLOR applies EXIF orientation (the same transforms as Pillow/labelme).
    reference = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    assert got.shape == reference.shape
    assert np.abs(got.astype(int) - reference).max() <= 2
    assert image_size(path) == got.shape[:2]
    assert image_size(path) == ((40, 24) if orientation >= 5 else (24, 40))


def test_is_image_file() -> None:
    assert is_image_file("a/B.PNG") and is_image_file("x.tiff")
    assert not is_image_file("a.json")
    assert ".jpg" in IMAGE_SUFFIXES


def test_display_of_uint8() -> None:
    rgb = _random((5, 6, 3), np.uint8)
    assert to_display_rgb8(rgb) is rgb  # no copy on the per-frame path
    grey = _random((5, 6), np.uint8)
    out = to_display_rgb8(grey)
    assert out.shape == (5, 6, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[..., 1], grey)
    rgba = _random((5, 6, 4), np.uint8)
    np.testing.assert_array_equal(to_display_rgb8(rgba), rgba[..., :3])  # alpha dropped


def test_display_of_uint16_windows_by_percentiles() -> None:
    # 12-bit camera data in a 16-bit container: the window must stretch it to the full 8-bit range.
    grey = np.linspace(1000, 3000, 200 * 300).reshape(200, 300).astype(np.uint16)
    lo, hi = display_window(grey)
    assert 1000 <= lo < 1025 and 2975 < hi <= 3000
    out = to_display_rgb8(grey)
    assert out.dtype == np.uint8 and out.shape == (200, 300, 3)
    assert out.min() == 0 and out.max() == 255
    assert np.all(np.diff(out[..., 0].ravel().astype(int)) >= 0)  # monotonic mapping


def test_display_with_explicit_window() -> None:
    grey = np.array([[0, 100, 200, 300]], np.uint16)
    out = to_display_rgb8(grey, window=(100, 200))
    assert out[0, :, 0].tolist() == [0, 0, 255, 255]
    rgba16 = np.zeros((2, 2, 4), np.uint16)
    rgba16[..., 3] = 65535
    assert to_display_rgb8(rgba16, window=(0, 65535)).max() == 0


def test_display_of_constant_image_does_not_divide_by_zero() -> None:
    flat = np.full((10, 10), 5000, np.uint16)
    lo, hi = display_window(flat)
    assert hi > lo
    assert to_display_rgb8(flat).shape == (10, 10, 3)


def test_display_rejects_other_types() -> None:
    with pytest.raises(TypeError):
        to_display_rgb8(np.zeros((3, 3), np.float32))
    with pytest.raises(ValueError):
        to_display_rgb8(np.zeros((3, 3, 2), np.uint8))


def test_png_exif_orientation_is_applied(tmp_path: Path) -> None:
    import zlib

    image = _random((6, 10, 3), np.uint8)
    png = bytearray(_write(tmp_path / "plain.png", image).read_bytes())
    tiff = b"II" + struct.pack("<HI", 42, 8) + struct.pack("<H", 1)
    tiff += struct.pack("<HHIH2x", 0x0112, 3, 1, 6) + struct.pack("<I", 0)
    chunk = struct.pack(">I", len(tiff)) + b"eXIf" + tiff + struct.pack(">I", zlib.crc32(b"eXIf" + tiff))
    end_of_ihdr = 8 + 8 + 13 + 4
    path = tmp_path / "rotated.png"
    path.write_bytes(bytes(png[:end_of_ihdr]) + chunk + bytes(png[end_of_ihdr:]))
    # Orientation 6 = the camera was turned: show the image rotated 90 degrees clockwise.
    np.testing.assert_array_equal(read_image(path), np.rot90(image, k=-1))
    assert image_size(path) == (10, 6)


def test_aluminium_sizes_agree_with_the_labelme_files(aluminum_dir: Path) -> None:
    import json

    jsons = sorted((aluminum_dir / "labelme").glob("*.json"))
    assert len(jsons) == 400
    for json_path in jsons:
        doc = json.loads(json_path.read_text(encoding="utf-8"))
        image_path = json_path.parent / doc["imagePath"]
        if not image_path.is_file():
            image_path = aluminum_dir / "images" / Path(doc["imagePath"]).name
        assert image_size(image_path) == (doc["imageHeight"], doc["imageWidth"]), image_path
    for json_path in jsons[:10]:
        image = read_image(aluminum_dir / "images" / (json_path.stem + ".jpg"))
        assert image.shape[:2] == (480, 640) and image.dtype == np.uint8


def test_magnetic_tile_headers_agree_with_decoding(magnetic_tile_dir: Path) -> None:
    # Varied sizes: the header probe must give exactly what decoding gives.
    images = sorted((magnetic_tile_dir / "images").iterdir())[::7]
    masks = sorted((magnetic_tile_dir / "masks").iterdir())[::7]
    for path in images + masks:
        image = read_image(path)
        assert image_size(path) == image.shape[:2], path
        reference = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if reference.ndim == 3:
            reference = cv2.cvtColor(reference, cv2.COLOR_BGR2RGB)
        np.testing.assert_array_equal(image, reference)
