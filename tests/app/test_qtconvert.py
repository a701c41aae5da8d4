"""numpy <-> Qt conversions: formats, strides, ownership, the overlay LUT."""

from __future__ import annotations

import gc

import numpy as np
import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QImage

from inspector_app.qtconvert import (
    argb_lut,
    array_to_qimage,
    blended_qimage,
    color_to_qcolor,
    overlay_qimage,
    qimage_to_array,
)

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("shape", [(7, 5), (7, 5, 3), (7, 5, 4)])
def test_uint8_round_trip_with_odd_widths(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(1)
    arr = rng.integers(0, 256, shape, dtype=np.uint8)
    image = array_to_qimage(arr)
    assert (image.width(), image.height()) == (5, 7)
    np.testing.assert_array_equal(qimage_to_array(image), arr)


def test_pixel_order_is_rgb() -> None:
    arr = np.zeros((2, 2, 3), np.uint8)
    arr[0, 1] = (200, 10, 30)
    image = array_to_qimage(arr)
    assert image.pixelColor(1, 0) == QColor(200, 10, 30)


def test_copy_owns_pixels_and_view_shares_them() -> None:
    arr = np.zeros((4, 6), np.uint8)
    owned = array_to_qimage(arr)
    shared = array_to_qimage(arr, copy=False)
    arr[1, 2] = 99
    assert owned.pixelColor(2, 1).red() == 0
    assert shared.pixelColor(2, 1).red() == 99


def test_view_keeps_its_buffer_alive() -> None:
    image = array_to_qimage(np.full((50, 60, 3), 77, np.uint8), copy=False)
    gc.collect()
    _ = [np.full((50, 60, 3), 1, np.uint8) for _ in range(20)]  # reuse freed memory if it was freed
    assert image.pixelColor(10, 10) == QColor(77, 77, 77)


def test_non_contiguous_input_is_handled() -> None:
    arr = np.arange(10 * 12 * 3, dtype=np.uint8).reshape(10, 12, 3)[:, ::2]
    np.testing.assert_array_equal(qimage_to_array(array_to_qimage(arr)), arr)


def test_uint16_is_windowed_for_display() -> None:
    arr = np.zeros((10, 10), np.uint16)
    arr[:, 5:] = 4000
    image = array_to_qimage(arr, window=(0, 4000))
    assert image.format() == QImage.Format.Format_RGB888
    assert image.pixelColor(0, 0) == QColor(0, 0, 0)
    assert image.pixelColor(9, 0) == QColor(255, 255, 255)


def test_bad_shapes_are_rejected() -> None:
    with pytest.raises(ValueError):
        array_to_qimage(np.zeros((3, 3, 2), np.uint8))


def test_overlay_colours_premultiplied_and_hides_classes() -> None:
    mask = np.array([[0, 1, 2], [2, 1, 0]], np.uint8)
    palette = [(0, 0, 0), (255, 0, 0), (0, 200, 100)]
    image = overlay_qimage(mask, palette, opacity=0.5)
    assert image.format() == QImage.Format.Format_ARGB32_Premultiplied
    assert image.pixelColor(0, 0).alpha() == 0
    c = image.pixelColor(1, 0)
    assert (c.red(), c.green(), c.blue(), c.alpha()) == (255, 0, 0, 128)
    c = image.pixelColor(2, 0)  # premultiplied storage: un-premultiplying may be 1 off
    assert abs(c.green() - 200) <= 1 and abs(c.blue() - 100) <= 1 and c.alpha() == 128
    hidden = overlay_qimage(mask, palette, opacity=0.5, visible={2})
    assert hidden.pixelColor(1, 0).alpha() == 0
    assert hidden.pixelColor(2, 0).alpha() == 128


def test_lut_entries_past_the_palette_are_transparent() -> None:
    lut = argb_lut([(0, 0, 0), (10, 20, 30)], 1.0)
    assert lut[1] == 0xFF0A141E
    assert lut[0] == 0 and lut[2] == 0 and lut[255] == 0


def test_overlay_of_a_large_mask_is_exact() -> None:
    rng = np.random.default_rng(3)
    mask = rng.integers(0, 4, (600, 801), dtype=np.uint8)
    palette = np.array([(0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255)], np.uint8)
    rgba = qimage_to_array(overlay_qimage(mask, palette, 1.0))
    np.testing.assert_array_equal(rgba[..., :3], palette[mask])
    np.testing.assert_array_equal(rgba[..., 3], np.where(mask > 0, 255, 0))


def test_color_to_qcolor() -> None:
    assert color_to_qcolor((1, 2, 3), 40) == QColor(1, 2, 3, 40)
    assert color_to_qcolor(QColor(9, 9, 9), 10).alpha() == 10


def test_many_python_emits_do_not_abort_the_interpreter() -> None:
    """PySide6 6.12.0's emit() drops a reference to True per call and Python 3.11 aborts
    ("bool_dealloc") after a few thousand emits; pyproject pins PySide6 below 6.12 (ADR 0003).
    This guards the installed binding."""
    import subprocess
    import sys

    script = (
                "from PySide6.QtCore import QObject, Signal\n"
        "class O(QObject):\n"
        "    s = Signal(bool)\n"
        "o = O()\n"
        "for _ in range(20000):\n"
        "    o.s.emit(True)\n"
        "print('done')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "done"


def test_blended_frame_on_a_worker_thread_is_painted_and_scaled() -> None:
    import threading

    image = np.full((60, 80, 3), 100, np.uint8)
    mask = np.zeros((60, 80), np.uint8)
    mask[10:20, 10:30] = 1
    palette = np.array([[0, 0, 0], [255, 0, 0]], np.uint8)
    out: list[QImage] = []
    worker = threading.Thread(target=lambda: out.append(blended_qimage(image, mask, palette, 0.5)))
    worker.start()
    worker.join()
    rgba = qimage_to_array(out[0])
    assert rgba.shape == (60, 80, 4)
    assert tuple(rgba[0, 0, :3]) == (100, 100, 100)  # background: the frame as it was
    r, g, b = rgba[15, 20, :3]
    assert 170 <= r <= 180 and 45 <= g <= 55 and 45 <= b <= 55  # half red over grey 100
    small = blended_qimage(image, mask, palette, 0.5, max_side=40)
    assert (small.width(), small.height()) == (40, 30)
    assert blended_qimage(image, None, palette).size() == out[0].size()  # no mask: the frame alone
    assert tuple(qimage_to_array(small)[2, 2, :3]) == (100, 100, 100)
    r, g, b = qimage_to_array(small)[7, 10, :3]  # the region, scaled with the frame
    assert 170 <= r <= 180 and 45 <= g <= 55 and 45 <= b <= 55


def test_blended_frame_leaves_classes_past_the_palette_and_other_inputs_alone() -> None:
    grey = np.full((30, 40), 60, np.uint8)  # one channel in, RGB out
    mask = np.zeros((30, 40), np.uint8)
    mask[0:10, 0:10] = 1
    mask[20:30, 30:40] = 7  # no colour for class 7: left clear
    out = qimage_to_array(blended_qimage(grey, mask, [[0, 0, 0], [0, 0, 255]], 1.0))
    assert tuple(out[5, 5, :3]) == (0, 0, 255) and tuple(out[25, 35, :3]) == (60, 60, 60)
    assert tuple(out[15, 20, :3]) == (60, 60, 60)
    wrong = np.ones((5, 5), np.uint8)  # a mask of another size is not drawn
    drawn = qimage_to_array(blended_qimage(grey, wrong, [[0, 0, 0], [255, 0, 0]]))
    assert tuple(drawn[0, 0, :3]) == (60, 60, 60)
    deep = np.full((30, 40, 3), 1000, np.uint16)  # 16-bit frames are windowed for display
    assert blended_qimage(deep, None, [[0, 0, 0]]).size() == out_size(40, 30)


def out_size(width: int, height: int) -> QSize:
    return QSize(width, height)
