"""Losses: known values and the properties each one must have (trainer.losses)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from trainer.losses import (
    CrossEntropy,
    DiceLoss,
    FocalLoss,
    build_loss,
    median_frequency_weights,
)


@pytest.fixture
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 4, 8, 10, generator=generator)
    target = torch.randint(0, 4, (2, 8, 10), generator=generator).to(torch.uint8)
    return logits, target


def test_ce_matches_torch_with_weights(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    logits, target = batch
    weight = torch.tensor([0.1, 0.2, 0.3, 0.4])
    expected = F.cross_entropy(logits, target.long(), weight=weight)
    assert float(CrossEntropy(weight)(logits, target)) == pytest.approx(float(expected))


def test_binary_ce_is_bce_with_pos_weight_from_class_weights() -> None:
    logits = torch.tensor([[[[2.0, -1.0], [0.5, -3.0]]]])
    target = torch.tensor([[[3, 0], [1, 0]]], dtype=torch.uint8)  # any non-zero class = defect
    binary = torch.tensor([[[[1.0, 0.0], [1.0, 0.0]]]])
    expected = F.binary_cross_entropy_with_logits(logits, binary, pos_weight=torch.tensor([4.0]))
    got = CrossEntropy(torch.tensor([0.5, 2.0]))(logits, target)
    assert float(got) == pytest.approx(float(expected))


def test_focal_with_gamma_zero_is_cross_entropy(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    logits, target = batch
    weight = torch.tensor([1.0, 2.0, 3.0, 4.0])
    expected = F.cross_entropy(logits, target.long(), weight=weight)
    assert float(FocalLoss(0.0, weight)(logits, target)) == pytest.approx(float(expected), rel=1e-5)


def test_focal_down_weights_easy_pixels(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    logits, target = batch
    assert float(FocalLoss(2.0)(logits, target)) < float(FocalLoss(0.0)(logits, target))


def test_dice_is_zero_for_a_perfect_prediction_and_high_for_a_wrong_one() -> None:
    target = torch.zeros(1, 8, 8, dtype=torch.uint8)
    target[0, 2:5, 2:5] = 1
    perfect = F.one_hot(target.long(), 2).permute(0, 3, 1, 2).float() * 40 - 20
    assert float(DiceLoss()(perfect, target)) == pytest.approx(0.0, abs=1e-6)
    wrong = -perfect
    assert float(DiceLoss()(wrong, target)) > 0.9


def test_binary_dice_bce_is_dice_plus_half_bce() -> None:
    generator = torch.Generator().manual_seed(1)
    logits = torch.randn(2, 1, 6, 6, generator=generator)
    target = (torch.rand(2, 6, 6, generator=generator) > 0.7).to(torch.uint8)
    combined = build_loss("dice_bce", bce_weight=0.5)(logits, target)
    bce = F.binary_cross_entropy_with_logits(logits, target.float().unsqueeze(1))
    assert float(combined) == pytest.approx(float(DiceLoss()(logits, target) + 0.5 * bce))


def test_every_loss_gives_gradients(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    logits, target = batch
    for name in ("ce", "focal", "dice", "ce_dice"):
        x = logits.clone().requires_grad_(True)
        build_loss(name, class_weights=[1, 1, 2, 2])(x, target).backward()
        assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0, name


def test_losses_run_in_float32_under_bf16_logits(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    logits, target = batch
    value = build_loss("ce")(logits.to(torch.bfloat16), target)
    assert value.dtype == torch.float32


def test_unknown_loss_name() -> None:
    with pytest.raises(ValueError, match="unknown loss"):
        build_loss("hinge")


def test_median_frequency_weights_known_answer() -> None:
    # 2 images of 100 px: class 1 has 10 px in image 0 only; class 2 has 1 px in each.
    pixels = np.array([[89, 10, 1], [99, 0, 1]])
    weights = median_frequency_weights(pixels, pixels.sum(axis=1), damping=1.0)
    freq = np.array([188 / 200, 10 / 100, 2 / 200])
    np.testing.assert_allclose(weights, np.median(freq) / freq, rtol=1e-5)
    damped = median_frequency_weights(pixels, pixels.sum(axis=1))
    np.testing.assert_allclose(damped, np.sqrt(np.median(freq) / freq), rtol=1e-5)


def test_median_frequency_weights_absent_class_gets_one() -> None:
    pixels = np.array([[90, 10, 0]])
    assert median_frequency_weights(pixels, pixels.sum(axis=1))[2] == 1.0
