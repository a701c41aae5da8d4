"""Memory needed to predict one image, and prediction in tiles for images too large to predict whole.

A model that takes any input size (``card.input_size`` None) is fed the whole image: its input
tensor alone costs ``4 x channels`` bytes per pixel and its output ``4 x classes`` (a 20000x20000
RGB image through a four-class network: 11.2 GB before the network's own activations). Such an
image is predicted in square tiles instead: each tile is predicted with a margin of
``overlap`` pixels of real context on every side that has a neighbour, and only its centre is
kept, so the tiles join without seams as long as the network looks no further than ``overlap``
pixels (the receptive field of the U-Nets used here reaches further, so predictions within a
few pixels of a tile border can differ slightly from a whole-image prediction). Models
exported at one fixed size see a resized image anyway: tiling does not apply to them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from inspector_app.core.modelcard import ModelCard

#: Default context kept around each tile.
TILE_OVERLAP = 64
#: The network's activations counted as this many times its input + output tensors (a rough
#: figure for encoder-decoders; onnxruntime frees most of them as layers finish).
ACTIVATION_FACTOR = 2
#: Post-processing and the mask: 1 byte per pixel for the mask, plus strip buffers.
_MASK_BYTES_PER_PX = 2


def model_input_size(card: ModelCard, height: int, width: int) -> tuple[int, int]:
    """(H', W') of the tensor fed to the graph for an image of ``height`` x ``width``."""
    if card.input_size is not None:
        return card.input_size
    m = card.size_multiple
    return -(-height // m) * m, -(-width // m) * m


def estimate_bytes(
    card: ModelCard, height: int, width: int, *, image_bytes_per_px: int = 3, tile: int | None = None
) -> int:
    """Rough peak memory (bytes) of predicting one image: decoded image, mask, model tensors.

    ``tile``: the tile size of :func:`predict_in_tiles` (ignored for fixed-size models).
    """
    pixels = height * width
    if tile is not None and card.input_size is None:
        side = tile + 2 * TILE_OVERLAP
        mh, mw = model_input_size(card, min(height, side), min(width, side))
    else:
        mh, mw = model_input_size(card, height, width)
    outputs = 1 if card.output == "sigmoid" else card.num_classes
    tensors = (card.input_channels + outputs) * 4 * mh * mw
    return pixels * (image_bytes_per_px + _MASK_BYTES_PER_PX) + tensors * (1 + ACTIVATION_FACTOR)


def predict_in_tiles(
    predict: Callable[[np.ndarray], np.ndarray],
    image: np.ndarray,
    tile: int,
    overlap: int = TILE_OVERLAP,
) -> np.ndarray:
    """uint8 mask of ``image`` predicted tile by tile; ``predict(window) -> mask`` of the window.

    Tiles are ``tile`` x ``tile`` pixels (the last ones smaller), each predicted inside a window
    of ``tile + 2 * overlap`` pixels a side (at least ``overlap`` pixels of context on every side
    that has a neighbour; windows at the borders are shifted inwards).
    """
    if tile < 1 or overlap < 0:
        raise ValueError(f"tile must be >= 1 and overlap >= 0, got {tile} and {overlap}")
    height, width = image.shape[:2]
    mask = np.zeros((height, width), dtype=np.uint8)
    # Every window has the same size (shifted inwards at the borders rather than cut): one tensor
    # shape for the whole image, so onnxruntime's memory arena is reused instead of growing by a
    # new set of buffers for each edge-tile shape (6000x6000 image, 2048 px tiles: peak growth
    # 1.19 -> 0.66 GB, of which about 0.5 GB is the fixed cost of one window's tensors).
    side_y, side_x = min(height, tile + 2 * overlap), min(width, tile + 2 * overlap)
    for y0 in range(0, height, tile):
        y1 = min(height, y0 + tile)
        wy0 = min(max(0, y0 - overlap), height - side_y)
        wy1 = wy0 + side_y
        for x0 in range(0, width, tile):
            x1 = min(width, x0 + tile)
            wx0 = min(max(0, x0 - overlap), width - side_x)
            wx1 = wx0 + side_x
            window = predict(image[wy0:wy1, wx0:wx1])
            mask[y0:y1, x0:x1] = window[y0 - wy0 : y1 - wy0, x0 - wx0 : x1 - wx0]
    return mask
