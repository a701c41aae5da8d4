"""torch ``Dataset``/``Sampler``/collate over the in-memory samples.

Items are uint8 numpy pairs (image HxW grey or HxWx3, mask HxW); :func:`collate` writes them
into ``uint8 (B, C, H, W)`` images (grey broadcast to every channel, colour split into planes by
OpenCV - both far faster than numpy copying strided views) and ``uint8 (B, H, W)`` masks.
Conversion to float and normalisation happen once per batch, on the device, in the engine.

Sampling: :class:`TrainSampler` draws the indices of an epoch either uniformly (a permutation) or,
with ``sampling: rare``, with replacement by weight ``max over the classes present of
(images / images with that class) ** power`` - a WeightedRandomSampler by class presence (in the
spirit of LVIS repeat-factor sampling), which shows pinhole images more often. It is also the
distributed sampler: with ``world > 1`` every rank takes every ``world``-th draw of the same
sequence (padded to a multiple of ``world`` so all ranks run the same number of steps). Each
draw carries its own augmentation seed, so repeated images are augmented differently and results
do not depend on the number of loader workers.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import torch
from torch.utils.data import Dataset, DistributedSampler, Sampler

from trainer.data.augment import Augmenter
from trainer.data.decode import LoadedSample

Item = tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]


def class_rarity(
    samples: Sequence[LoadedSample], num_classes: int, power: float = 1.0
) -> npt.NDArray[np.float64]:
    """Per class ``(images / images containing the class) ** power``; 0 for background and absent classes."""
    present = np.zeros(num_classes, dtype=np.float64)
    for s in samples:
        present += s.class_pixels > 0
    rarity = np.zeros(num_classes, dtype=np.float64)
    nonzero = present > 0
    rarity[nonzero] = (len(samples) / present[nonzero]) ** power
    rarity[0] = 0.0
    return rarity


def sample_weights(
    samples: Sequence[LoadedSample], rarity: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Per image: the largest rarity of the classes it contains (1 for an image without defects)."""
    weights = np.ones(len(samples), dtype=np.float64)
    for i, s in enumerate(samples):
        present = rarity[s.class_pixels > 0]
        if present.size and present.max() > 0:
            weights[i] = max(1.0, float(present.max()))
    return weights


class SegmentationDataset(Dataset[Item]):
    """Samples as ``(image, mask)`` uint8 arrays; keys are an index or ``(index, draw)``."""

    def __init__(
        self,
        samples: Sequence[LoadedSample],
        channels: int,
        augmenter: Augmenter | None = None,
        seed: int = 0,
    ) -> None:
        self.samples = list(samples)
        self.channels = channels
        self.augmenter = augmenter
        self.seed = seed

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, key: int | tuple[int, int]) -> Item:
        index, draw = key if isinstance(key, tuple) else (key, 0)
        sample = self.samples[index]
        image, mask = sample.image, sample.mask
        if self.augmenter is not None:
            rng = np.random.default_rng([self.seed, draw])
            image, mask = self.augmenter(image, mask, sample.focus, rng)
        return image, mask


class TrainSampler(DistributedSampler[Any]):
    """Epoch-seeded (uniform or weighted) sampler yielding ``(index, augmentation draw)`` keys.

    Works without a process group: ``rank``/``world`` are passed in (1 process = rank 0 of 1).
    """

    def __init__(
        self,
        dataset: SegmentationDataset,
        *,
        num_samples: int,
        weights: npt.NDArray[np.float64] | None = None,
        seed: int = 0,
        rank: int = 0,
        world: int = 1,
    ) -> None:
        super().__init__(dataset, num_replicas=world, rank=rank, shuffle=True, seed=seed)
        self.size = len(dataset)
        self.weights = None if weights is None else np.asarray(weights, dtype=np.float64)
        self.total = int(math.ceil(num_samples / world) * world)
        self.num_samples = self.total // world

    def __len__(self) -> int:
        return self.num_samples

    def draws(self, epoch: int) -> npt.NDArray[np.int64]:
        """The indices of all ranks for ``epoch`` (rank r takes positions r, r + world, ...)."""
        rng = np.random.default_rng([self.seed, epoch, 7919])
        if self.weights is not None:
            p = self.weights / self.weights.sum()
            return rng.choice(self.size, size=self.total, replace=True, p=p).astype(np.int64)
        rounds = math.ceil(self.total / self.size)
        return np.concatenate([rng.permutation(self.size) for _ in range(rounds)])[: self.total].astype(
            np.int64
        )

    def __iter__(self) -> Iterator[tuple[int, int]]:
        indices = self.draws(self.epoch)
        base = self.epoch * self.total
        for position in range(self.rank, self.total, self.num_replicas):
            yield int(indices[position]), base + position


class ShardSampler(Sampler[int]):
    """Evaluation order: every ``world``-th index from ``rank`` (no padding: the confusion matrices
    of all ranks are summed, so every image must be scored exactly once)."""

    def __init__(self, size: int, rank: int = 0, world: int = 1) -> None:
        self.indices = list(range(rank, size, world))

    def __len__(self) -> int:
        return len(self.indices)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)


def collate(batch: Sequence[Item], channels: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """``uint8 (B, channels, H, W)`` images and ``uint8 (B, H, W)`` masks, one copy each."""
    height, width = batch[0][1].shape
    images = np.empty((len(batch), channels, height, width), dtype=np.uint8)
    for i, (image, _mask) in enumerate(batch):
        if image.ndim == 2:
            images[i] = image  # grey: broadcast to every channel
        elif channels == 1:
            images[i, 0] = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
        else:
            for c, plane in enumerate(cv2.split(np.ascontiguousarray(image))):
                images[i, c] = plane
    masks = np.stack([item[1] for item in batch])
    return torch.from_numpy(images), torch.from_numpy(masks)
