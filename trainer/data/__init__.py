"""Datasets for training: discovery, validation, in-memory decoding, split, augmentation, sampling.

Entry point: :func:`prepare_data` (data folder -> validated :class:`PreparedData`), then
:class:`SegmentationDataset` + :class:`TrainSampler` + :func:`collate` for the loaders.
"""

from trainer.data.augment import Augmenter, AugmentParams
from trainer.data.dataloaders import Loaders, build_loaders
from trainer.data.dataset import (
    SegmentationDataset,
    ShardSampler,
    TrainSampler,
    class_rarity,
    collate,
    sample_weights,
)
from trainer.data.decode import BadSample, LoadedSample, channel_stats
from trainer.data.prepare import PreparedData, describe_table, prepare_data
from trainer.data.samples import DataError, Sample, find_class_table, find_samples
from trainer.data.split import Split, load_split, save_split, stratified_split

__all__ = [
    "AugmentParams",
    "Augmenter",
    "BadSample",
    "DataError",
    "LoadedSample",
    "Loaders",
    "PreparedData",
    "Sample",
    "SegmentationDataset",
    "ShardSampler",
    "Split",
    "TrainSampler",
    "build_loaders",
    "channel_stats",
    "class_rarity",
    "collate",
    "describe_table",
    "find_class_table",
    "find_samples",
    "load_split",
    "prepare_data",
    "sample_weights",
    "save_split",
    "stratified_split",
]
