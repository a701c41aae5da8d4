"""Cheap, deterministic augmentation of uint8 image/mask pairs (numpy + OpenCV, no torchvision).

Images are uint8 HxW (grey) or HxWx3, masks uint8 HxW. Order of the steps:

1. scale/rotate (one ``cv2.warpAffine``; linear for the image, nearest for the mask, reflected
   borders) - only when enabled, it is the one costly step (~2 ms at 480x640);
2. crop (a view): random, or with probability ``rare_crop`` centred (with jitter) on a pixel of a
   class drawn by rarity, so that 0.01 %-of-pixels pinholes are actually seen in crops;
3. brightness/contrast/gamma as one 256-entry look-up table (``cv2.LUT``);
4. rot90 and flips (``cv2.rotate``/``cv2.flip``: contiguous results, ~10x faster than numpy
   copying negative-stride views).

rot90 by an odd multiple swaps height and width, so it is only drawn when the result keeps the
batch shape: square images, or a crop (then a crop of swapped size is cut and rotated).
Randomness comes only from the ``numpy.random.Generator`` passed in, so a (seed, epoch, draw) triple
always gives the same result, with any number of loader workers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

#: uint8 images and masks (cv2 returns untyped arrays, so the dtype is documented, not typed)
U8 = np.ndarray
#: quarter turns (counter-clockwise, as np.rot90) -> cv2.rotate codes
ROTATIONS = {1: cv2.ROTATE_90_COUNTERCLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_CLOCKWISE}


@dataclass(frozen=True)
class AugmentParams:
    """Augmentation settings (see :class:`trainer.config.TrainConfig` for their meaning)."""

    hflip: float = 0.0
    vflip: float = 0.0
    rot90: bool = False
    brightness: float = 0.0
    contrast: float = 0.0
    gamma: float = 0.0
    scale: float = 0.0
    rotate: float = 0.0
    crop_size: tuple[int, int] | None = None
    rare_crop: float = 0.0

    @classmethod
    def from_config(cls, config: Any) -> AugmentParams:
        """The augmentation fields of a :class:`~trainer.config.TrainConfig`."""
        return cls(
            hflip=config.hflip,
            vflip=config.vflip,
            rot90=config.rot90,
            brightness=config.brightness,
            contrast=config.contrast,
            gamma=config.gamma,
            scale=config.scale,
            rotate=config.rotate,
            crop_size=tuple(config.crop_size) if config.crop_size else None,
            rare_crop=config.rare_crop,
        )

    @property
    def photometric(self) -> bool:
        """True when a look-up table has to be applied."""
        return self.brightness > 0 or self.contrast > 0 or self.gamma > 0


def photometric_lut(rng: np.random.Generator, params: AugmentParams, mean: float) -> U8:
    """256-entry table: gamma, then contrast around the image mean, then a brightness shift."""
    x = np.arange(256, dtype=np.float64) / 255.0
    gamma = 1.0 + rng.uniform(-params.gamma, params.gamma) if params.gamma > 0 else 1.0
    contrast = 1.0 + rng.uniform(-params.contrast, params.contrast) if params.contrast > 0 else 1.0
    shift = rng.uniform(-params.brightness, params.brightness) if params.brightness > 0 else 0.0
    gamma = max(gamma, 0.1)
    y = np.power(x, gamma)
    centre = mean**gamma
    y = (y - centre) * contrast + centre + shift
    return np.clip(np.rint(y * 255.0), 0, 255).astype(np.uint8)


def _pad_to(image: U8, mask: U8, height: int, width: int) -> tuple[U8, U8]:
    """Reflect-pad a pair that is smaller than a crop (a dataset of mixed sizes without input_size)."""
    dh, dw = max(0, height - image.shape[0]), max(0, width - image.shape[1])
    if not dh and not dw:
        return image, mask
    pad = (dh // 2, dh - dh // 2, dw // 2, dw - dw // 2)
    image = cv2.copyMakeBorder(image, *pad, cv2.BORDER_REFLECT_101)
    return image, cv2.copyMakeBorder(mask, *pad, cv2.BORDER_REFLECT_101)


class Augmenter:
    """Callable ``(image, mask, focus, rng) -> (image, mask)`` for training samples.

    ``focus_weights[c]`` is the chance weight of centring a crop on class ``c`` (from
    :func:`trainer.data.dataset.class_rarity`); classes missing from an image are skipped.
    """

    def __init__(self, params: AugmentParams, focus_weights: npt.NDArray[np.float64] | None = None) -> None:
        self.params = params
        self.focus_weights = focus_weights

    def _warp(self, image: U8, mask: U8, rng: np.random.Generator) -> tuple[U8, U8, np.ndarray | None]:
        p = self.params
        if p.scale <= 0 and p.rotate <= 0:
            return image, mask, None
        zoom = (
            math.exp(rng.uniform(math.log1p(-min(p.scale, 0.9)), math.log1p(p.scale))) if p.scale > 0 else 1.0
        )
        angle = rng.uniform(-p.rotate, p.rotate) if p.rotate > 0 else 0.0
        h, w = mask.shape
        matrix = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), angle, zoom)
        warped = cv2.warpAffine(
            image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
        )
        warped_mask = cv2.warpAffine(
            mask, matrix, (w, h), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT_101
        )
        return warped, warped_mask, matrix

    def _focus(
        self,
        focus: dict[int, npt.NDArray[np.int32]],
        matrix: np.ndarray | None,
        rng: np.random.Generator,
    ) -> tuple[float, float] | None:
        """A (row, col) to centre the crop on, or None for a uniformly random crop."""
        p = self.params
        if p.rare_crop <= 0 or not focus or rng.random() >= p.rare_crop:
            return None
        classes = sorted(focus)
        weights = np.array(
            [self.focus_weights[c] if self.focus_weights is not None else 1.0 for c in classes],
            dtype=np.float64,
        )
        weights = weights / weights.sum() if weights.sum() > 0 else np.full(len(classes), 1.0 / len(classes))
        cls = classes[int(rng.choice(len(classes), p=weights))]
        points = focus[cls]
        row, col = points[int(rng.integers(len(points)))]
        if matrix is not None:
            x, y = matrix @ np.array([col, row, 1.0])
            return float(y), float(x)
        return float(row), float(col)

    def __call__(
        self,
        image: U8,
        mask: U8,
        focus: dict[int, npt.NDArray[np.int32]],
        rng: np.random.Generator,
    ) -> tuple[U8, U8]:
        """Augment one pair (the results may be the inputs themselves when nothing changes them)."""
        p = self.params
        h, w = mask.shape
        turns = 0
        if p.rot90:
            turns = int(rng.integers(4))
            square = p.crop_size[0] == p.crop_size[1] if p.crop_size else h == w
            if turns % 2 and not square and p.crop_size is None:
                turns = 0  # would change the batch shape
        image, mask, matrix = self._warp(image, mask, rng)
        if p.crop_size is not None:
            ch, cw = p.crop_size
            if turns % 2:
                ch, cw = cw, ch  # cut the swapped size; rotating it restores (crop H, crop W)
            image, mask = _pad_to(image, mask, ch, cw)
            h, w = mask.shape
            centre = self._focus(focus, matrix, rng)
            if centre is None:
                top = int(rng.integers(h - ch + 1))
                left = int(rng.integers(w - cw + 1))
            else:
                jitter_r = rng.uniform(-ch / 4, ch / 4)
                jitter_c = rng.uniform(-cw / 4, cw / 4)
                top = int(np.clip(round(centre[0] + jitter_r - ch / 2), 0, h - ch))
                left = int(np.clip(round(centre[1] + jitter_c - cw / 2), 0, w - cw))
            image = image[top : top + ch, left : left + cw]
            mask = mask[top : top + ch, left : left + cw]
        if p.photometric:
            lut = photometric_lut(rng, p, float(image[::8, ::8].mean()) / 255.0)  # subsampled: cheap
            image = cv2.LUT(np.ascontiguousarray(image), lut)
        # OpenCV flips/rotations write contiguous arrays ~10x faster than numpy copies a
        # negative-stride view, and the collation would copy anyway.
        if turns:
            code = ROTATIONS[turns]
            image = cv2.rotate(np.ascontiguousarray(image), code)
            mask = cv2.rotate(np.ascontiguousarray(mask), code)
        flip = None
        if p.hflip > 0 and rng.random() < p.hflip:
            flip = 1
        if p.vflip > 0 and rng.random() < p.vflip:
            flip = -1 if flip == 1 else 0
        if flip is not None:
            image = cv2.flip(np.ascontiguousarray(image), flip)
            mask = cv2.flip(np.ascontiguousarray(mask), flip)
        return image, mask
