"""How a large frame is inferred: at full size, downscaled, or in overlapping tiles.

``full`` runs the model on the frame as it is (best detail, cost grows with the pixel count);
``downscale`` shrinks the frame so its longer side is at most ``max_side`` and scales the mask
back (nearest neighbour; fast, small defects may vanish); ``tiles`` cuts the frame into
``tile`` x ``tile`` windows (the model's own input size for a model exported at one fixed size,
so no tile is resized) overlapping by ``overlap`` px, and each output pixel is taken from
the tile where it lies farthest from a seam (no border artefacts, full detail, memory bounded by
the tile size).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from inspector_app.core.predictor import Predictor

__all__ = ["SizeMode", "SizePolicy", "infer"]

SizeMode = Literal["full", "downscale", "tiles"]
SIZE_MODES: tuple[SizeMode, ...] = ("full", "downscale", "tiles")


@dataclass(frozen=True)
class SizePolicy:
    """The size setting (see the module doc)."""

    mode: SizeMode = "full"
    max_side: int = 960
    tile: int = 512
    overlap: int = 64

    def __post_init__(self) -> None:
        if self.mode not in SIZE_MODES:
            raise ValueError(f"size mode must be one of {', '.join(SIZE_MODES)}, got {self.mode!r}")
        if self.max_side < 32 or self.tile < 32:
            raise ValueError("max_side and tile must be at least 32 px")
        if not 0 <= self.overlap < self.tile // 2:
            raise ValueError(f"overlap must be within [0, tile/2), got {self.overlap}")


def _starts(length: int, tile: int, overlap: int) -> list[int]:
    """Tile origins along one axis: step tile - overlap, the last tile flush with the end."""
    if length <= tile:
        return [0]
    step = tile - overlap
    starts = list(range(0, length - tile, step))
    starts.append(length - tile)
    return starts


def _owned(starts: list[int], tile: int, length: int) -> list[tuple[int, int]]:
    """For each tile, the [a, b) range of output it owns: seams midway through each overlap."""
    spans = []
    for i, s in enumerate(starts):
        a = 0 if i == 0 else (starts[i - 1] + tile + s) // 2
        b = length if i == len(starts) - 1 else (s + tile + starts[i + 1]) // 2
        spans.append((a, b))
    return spans


def infer(
    predictor: Predictor, image: np.ndarray, policy: SizePolicy, *, probabilities: bool = False
) -> tuple[np.ndarray, np.ndarray | None]:
    """Class mask (HxW uint8, the frame's size) and optional CxHxW probabilities for ``image``."""
    h, w = image.shape[:2]
    if policy.mode == "downscale" and max(h, w) > policy.max_side:
        scale = policy.max_side / max(h, w)
        small = cv2.resize(
            image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
        )
        p = predictor.predict(small, probabilities=probabilities)
        mask = cv2.resize(p.mask, (w, h), interpolation=cv2.INTER_NEAREST)
        probs = None
        if p.probabilities is not None:
            probs = np.stack([cv2.resize(c, (w, h), interpolation=cv2.INTER_LINEAR) for c in p.probabilities])
        return mask, probs
    th, tw = predictor.card.input_size or (policy.tile, policy.tile)
    if policy.mode == "tiles" and (h > th or w > tw):
        ys, xs = _starts(h, th, policy.overlap), _starts(w, tw, policy.overlap)
        mask = np.zeros((h, w), np.uint8)
        probs_out: np.ndarray | None = None
        for y0, (ya, yb) in zip(ys, _owned(ys, th, h), strict=True):
            for x0, (xa, xb) in zip(xs, _owned(xs, tw, w), strict=True):
                window = image[y0 : y0 + th, x0 : x0 + tw]
                p = predictor.predict(np.ascontiguousarray(window), probabilities=probabilities)
                mask[ya:yb, xa:xb] = p.mask[ya - y0 : yb - y0, xa - x0 : xb - x0]
                if p.probabilities is not None:
                    if probs_out is None:
                        probs_out = np.zeros((p.probabilities.shape[0], h, w), np.float32)
                    probs_out[:, ya:yb, xa:xb] = p.probabilities[:, ya - y0 : yb - y0, xa - x0 : xb - x0]
        return mask, probs_out
    p = predictor.predict(image, probabilities=probabilities)
    return p.mask, p.probabilities
