"""Training and validation loaders of a prepared dataset, as the engine uses them."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import DataLoader

from trainer.config import TrainConfig
from trainer.data.augment import Augmenter, AugmentParams
from trainer.data.dataset import (
    SegmentationDataset,
    ShardSampler,
    TrainSampler,
    class_rarity,
    collate,
    sample_weights,
)
from trainer.data.prepare import PreparedData


@dataclass
class Loaders:
    """The training loader (with its epoch-seeded sampler) and the sharded validation loader."""

    train: DataLoader[Any]
    val: DataLoader[Any]
    sampler: TrainSampler


def build_loaders(
    data: PreparedData, config: TrainConfig, device: torch.device, rank: int = 0, world: int = 1
) -> Loaders:
    """Loaders over ``data`` with the config's augmentation, sampling and batch sizes.

    One epoch is a pass over the training split (or ``steps_per_epoch`` steps) across all ranks.
    Loader workers default to 0 on a CPU (they would compete with training for the same cores)
    and 4 on CUDA.
    """
    table = data.table
    augmenter = Augmenter(AugmentParams.from_config(config), class_rarity(data.train, table.num_classes))
    train_set = SegmentationDataset(data.train, config.input_channels, augmenter, seed=config.seed)
    weights = None
    if config.sampling == "rare":
        weights = sample_weights(
            data.train, class_rarity(data.train, table.num_classes, config.sampling_power)
        )
    if config.steps_per_epoch:
        per_epoch = config.steps_per_epoch * config.batch_size * world
    else:
        per_epoch = len(train_set)
    sampler = TrainSampler(
        train_set, num_samples=per_epoch, weights=weights, seed=config.seed, rank=rank, world=world
    )
    workers = config.workers if config.workers is not None else (4 if device.type == "cuda" else 0)
    common: dict[str, Any] = {
        "collate_fn": functools.partial(collate, channels=config.input_channels),
        "num_workers": workers,
        "pin_memory": device.type == "cuda",
    }
    # Dropping a ragged last batch keeps BatchNorm away from batches of one image.
    drop_last = len(sampler) > config.batch_size
    train = DataLoader(
        train_set, batch_size=config.batch_size, sampler=sampler, drop_last=drop_last, **common
    )
    val_set = SegmentationDataset(data.val, config.input_channels)
    val = DataLoader(
        val_set,
        batch_size=config.val_batch_size or config.batch_size,
        sampler=ShardSampler(len(val_set), rank, world),
        **common,
    )
    return Loaders(train, val, sampler)
