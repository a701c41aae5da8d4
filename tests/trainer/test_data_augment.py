"""Augmentation, sampling and batching (trainer.data.augment / trainer.data.dataset)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from trainer.data import (
    Augmenter,
    AugmentParams,
    LoadedSample,
    SegmentationDataset,
    ShardSampler,
    TrainSampler,
    class_rarity,
    collate,
    sample_weights,
)
from trainer.data.decode import _focus_points


def make_sample(
    stem: str, height: int = 64, width: int = 96, pit: bool = False, rgb: bool = False
) -> LoadedSample:
    rng = np.random.default_rng(sum(stem.encode()))
    shape = (height, width, 3) if rgb else (height, width)
    image = rng.integers(0, 256, size=shape, dtype=np.uint8)
    mask = np.zeros((height, width), np.uint8)
    mask[10:20, 10:40] = 1
    if pit:
        mask[50:53, 80:83] = 2
    counts = np.bincount(mask.ravel(), minlength=3).astype(np.int64)
    return LoadedSample(stem, image, mask, counts, _focus_points(mask, counts, np.random.default_rng(0)))


FULL = AugmentParams(
    hflip=0.5, vflip=0.5, rot90=True, brightness=0.2, contrast=0.2, gamma=0.2, scale=0.2, rotate=10
)


def test_same_seed_same_result_different_seed_different_result() -> None:
    sample = make_sample("a")
    augment = Augmenter(AugmentParams(**{**FULL.__dict__, "crop_size": (32, 32)}))
    a = augment(sample.image, sample.mask, sample.focus, np.random.default_rng([1, 2]))
    b = augment(sample.image, sample.mask, sample.focus, np.random.default_rng([1, 2]))
    c = augment(sample.image, sample.mask, sample.focus, np.random.default_rng([1, 3]))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_shapes_are_kept_and_mask_values_stay_class_indices() -> None:
    sample = make_sample("b", pit=True)
    augment = Augmenter(FULL)
    for seed in range(20):
        image, mask = augment(sample.image, sample.mask, sample.focus, np.random.default_rng(seed))
        assert image.shape == (64, 96) and mask.shape == (64, 96)
        assert set(np.unique(mask)) <= {0, 1, 2}


def test_rot90_on_non_square_images_only_with_a_crop() -> None:
    sample = make_sample("c")
    no_crop = Augmenter(AugmentParams(rot90=True))
    for seed in range(12):
        image, mask = no_crop(sample.image, sample.mask, {}, np.random.default_rng(seed))
        assert mask.shape == (64, 96)  # only 0/180 degrees: the batch shape is kept
    crop = Augmenter(AugmentParams(rot90=True, crop_size=(32, 64)))
    seen_transposed_content = False
    for seed in range(12):
        image, mask = crop(sample.image, sample.mask, {}, np.random.default_rng(seed))
        assert image.shape == (32, 64) and mask.shape == (32, 64)
        # the labelled bar runs along width; after an odd rotation it runs along height
        rows, cols = np.nonzero(mask == 1)
        if rows.size and np.ptp(rows) > np.ptp(cols):
            seen_transposed_content = True
    assert seen_transposed_content


def test_flip_is_exact() -> None:
    sample = make_sample("d")
    image, mask = Augmenter(AugmentParams(hflip=1.0))(sample.image, sample.mask, {}, np.random.default_rng(0))
    np.testing.assert_array_equal(image, sample.image[:, ::-1])
    np.testing.assert_array_equal(mask, sample.mask[:, ::-1])
    both = Augmenter(AugmentParams(hflip=1.0, vflip=1.0))(
        sample.image, sample.mask, {}, np.random.default_rng(0)
    )
    np.testing.assert_array_equal(both[0], sample.image[::-1, ::-1])


def test_rot90_matches_numpy_rotation() -> None:
    sample = make_sample("r", height=48, width=48)
    augment = Augmenter(AugmentParams(rot90=True))
    seen = set()
    for seed in range(16):
        image, mask = augment(sample.image, sample.mask, {}, np.random.default_rng(seed))
        turns = next(k for k in range(4) if np.array_equal(np.rot90(sample.mask, k), mask))
        np.testing.assert_array_equal(image, np.rot90(sample.image, turns))
        seen.add(turns)
    assert seen == {0, 1, 2, 3}


def test_photometric_lut_changes_pixels_not_mask() -> None:
    sample = make_sample("e")
    augment = Augmenter(AugmentParams(brightness=0.3, contrast=0.3, gamma=0.3))
    image, mask = augment(sample.image, sample.mask, {}, np.random.default_rng(5))
    assert image.dtype == np.uint8 and not np.array_equal(image, sample.image)
    np.testing.assert_array_equal(mask, sample.mask)
    # a look-up table is monotonic: pixel order is preserved
    flat_in, flat_out = sample.image.ravel(), image.ravel()
    order = np.argsort(flat_in, kind="stable")
    assert (np.diff(flat_out[order].astype(int)) >= 0).all()


def test_rare_crops_are_centred_on_the_rare_class() -> None:
    sample = make_sample("f", height=128, width=192, pit=True)
    rarity = np.array([0.0, 1.0, 50.0])
    plain = Augmenter(AugmentParams(crop_size=(32, 32)))
    focused = Augmenter(AugmentParams(crop_size=(32, 32), rare_crop=1.0), rarity)
    hits = Counter()
    for seed in range(40):
        for name, augment in (("plain", plain), ("focused", focused)):
            _, mask = augment(sample.image, sample.mask, sample.focus, np.random.default_rng(seed))
            hits[name] += int((mask == 2).any())
    assert hits["focused"] >= 36  # the pit is picked with chance 50/51, and then always inside
    assert hits["plain"] < 10


def test_train_sampler_is_deterministic_and_shards_without_overlap() -> None:
    dataset = SegmentationDataset([make_sample(str(i)) for i in range(10)], channels=1)
    single = TrainSampler(dataset, num_samples=10, seed=3)
    single.set_epoch(1)
    first = list(single)
    single.set_epoch(1)
    assert list(single) == first
    single.set_epoch(2)
    assert [k[0] for k in single] != [k[0] for k in first]
    assert sorted(k[0] for k in first) == list(range(10))  # uniform = a permutation
    assert len({k[1] for k in first}) == 10  # every draw has its own augmentation seed
    shards = []
    for rank in range(3):
        sampler = TrainSampler(dataset, num_samples=10, seed=3, rank=rank, world=3)
        sampler.set_epoch(1)
        shards.append(list(sampler))
    assert all(len(s) == 4 for s in shards)  # padded to 12 so every rank runs the same steps
    seeds = [k[1] for s in shards for k in s]
    assert len(set(seeds)) == 12


def test_weighted_sampling_favours_rare_class_images() -> None:
    samples = [make_sample(str(i), pit=(i == 0)) for i in range(20)]
    rarity = class_rarity(samples, 3, power=1.0)
    assert rarity[2] == pytest.approx(20.0) and rarity[0] == 0.0
    weights = sample_weights(samples, rarity)
    assert weights[0] == pytest.approx(20.0) and weights[1] == pytest.approx(1.0)
    dataset = SegmentationDataset(samples, channels=1)
    sampler = TrainSampler(dataset, num_samples=2000, weights=weights, seed=0)
    sampler.set_epoch(0)
    counts = Counter(k[0] for k in sampler)
    # image 0 has weight 20 of a total 39: about half of the draws
    assert 800 < counts[0] < 1250


def test_collate_gives_nchw_and_expands_grey() -> None:
    grey, rgb = make_sample("g"), make_sample("h", rgb=True)
    dataset = SegmentationDataset([grey, rgb], channels=3, augmenter=Augmenter(FULL))
    images, masks = collate([dataset[(0, 11)], dataset[(1, 12)]])
    assert images.dtype == torch.uint8 and images.shape == (2, 3, 64, 96)
    assert masks.dtype == torch.uint8 and masks.shape == (2, 64, 96)
    assert torch.equal(images[0, 0], images[0, 2])  # grey copied to every channel
    plain = collate([(rgb.image, rgb.mask)])[0][0]
    assert torch.equal(plain, torch.from_numpy(rgb.image).permute(2, 0, 1))  # planes in RGB order
    single = collate([(rgb.image, rgb.mask)], channels=1)[0]
    assert single.shape == (1, 1, 64, 96)


def test_shard_sampler_scores_every_image_once() -> None:
    parts = [list(ShardSampler(11, rank, 3)) for rank in range(3)]
    assert sorted(i for p in parts for i in p) == list(range(11))
