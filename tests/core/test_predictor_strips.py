"""Strip-wise post-processing (core.logits) gives the masks of the whole-plane resize + argmax."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inspector_app.core.logits import mask_from_logits
from inspector_app.core.tiling import predict_in_tiles


def _reference(logits: np.ndarray, size: tuple[int, int], target: tuple[int, int] | None) -> np.ndarray:
    if target is not None:
        dsize = (target[1], target[0])
        logits = np.stack([cv2.resize(p, dsize, interpolation=cv2.INTER_LINEAR) for p in logits])
    return np.argmax(logits[:, : size[0], : size[1]], axis=0).astype(np.uint8)


@pytest.mark.parametrize(
    ("classes", "source", "size", "target"),
    [
        (4, (17, 23), (70, 91), (70, 91)),  # fixed-size model, upsampled
        (3, (16, 16), (60, 60), (64, 64)),  # low-resolution output, resized then cropped
        (5, (40, 50), (33, 41), None),  # crop only
        (2, (64, 64), (40, 30), (40, 30)),  # downsampled
        (4, (30, 3000), (300, 3000), (300, 3000)),  # wide: several strips
    ],
)
def test_strips_match_the_whole_plane_argmax(classes, source, size, target) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(7)
    logits = rng.standard_normal((classes, *source)).astype(np.float32)
    expected = _reference(logits, size, target)
    np.testing.assert_array_equal(mask_from_logits(logits, size, target=target), expected)


def test_sigmoid_cut_and_ties_go_to_the_lower_class() -> None:
    logits = np.zeros((3, 8, 8), np.float32)
    logits[1, :, 4:] = 1.0
    logits[2, :, 4:] = 1.0  # tie with class 1: the first maximum wins
    np.testing.assert_array_equal(mask_from_logits(logits, (8, 8))[:, 4:], 1)
    one = np.linspace(-1, 1, 64, dtype=np.float32).reshape(1, 8, 8)
    np.testing.assert_array_equal(mask_from_logits(one, (8, 8), cut=0.2), (one[0] > 0.2).astype(np.uint8))


def test_tiles_cover_the_image_with_one_window_shape() -> None:
    image = np.arange(300 * 500, dtype=np.uint32).reshape(300, 500)
    shapes = set()

    def predict(window: np.ndarray) -> np.ndarray:
        shapes.add(window.shape)
        return (window % 7).astype(np.uint8)

    mask = predict_in_tiles(predict, image, tile=128, overlap=16)
    np.testing.assert_array_equal(mask, (image % 7).astype(np.uint8))
    assert shapes == {(160, 160)}
