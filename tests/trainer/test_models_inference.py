"""``optimize_for_inference``: BN folding and sub-pixel transposed convs keep the function."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from trainer.models import create_model
from trainer.models.inference import (
    SubPixelConvTranspose2d,
    optimize_for_inference,
    pixel_shuffle_by_transposes,
)


def _calibrated(model: nn.Module) -> nn.Module:
    """Give every BN non-trivial statistics and affine parameters, PReLUs varied slopes; eval."""
    generator = torch.Generator().manual_seed(1)
    for module in model.modules():
        if isinstance(module, nn.PReLU):
            with torch.no_grad():
                module.weight.uniform_(-0.5, 1.5, generator=generator)
        if isinstance(module, nn.BatchNorm2d):
            c = module.num_features
            assert module.running_mean is not None and module.running_var is not None
            module.running_mean.copy_(0.2 * torch.randn(c, generator=generator))
            module.running_var.copy_(0.5 + torch.rand(c, generator=generator))
            with torch.no_grad():
                module.weight.copy_(0.5 + torch.rand(c, generator=generator))
                module.bias.copy_(0.1 * torch.randn(c, generator=generator))
    return model.eval()


@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "output_padding"),
    [(3, 2, 1, 1), (2, 2, 0, 0), (4, 2, 1, 0), (3, 3, 0, 0), (5, 2, 2, 1)],
)
def test_subpixel_equals_transposed_conv(kernel: int, stride: int, padding: int, output_padding: int) -> None:
    torch.manual_seed(0)
    up = nn.ConvTranspose2d(6, 5, kernel, stride, padding, output_padding)
    sub = SubPixelConvTranspose2d.from_transposed(up)
    assert sub is not None
    x = torch.randn(2, 6, 7, 9)
    with torch.no_grad():
        expected = up(x)
        actual = sub(x)
    assert actual.shape == expected.shape == (2, 5, 7 * stride, 9 * stride)
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("scale", [2, 3])
def test_pixel_shuffle_by_transposes(scale: int) -> None:
    x = torch.randn(2, 5 * scale * scale, 4, 6)
    assert torch.equal(pixel_shuffle_by_transposes(x, scale), nn.functional.pixel_shuffle(x, scale))


def test_unsupported_transposed_convs_are_left_alone() -> None:
    assert SubPixelConvTranspose2d.from_transposed(nn.ConvTranspose2d(4, 4, 3, 2, 1)) is None  # 2n-1 out
    assert SubPixelConvTranspose2d.from_transposed(nn.ConvTranspose2d(4, 4, 2, 2, groups=2)) is None
    assert SubPixelConvTranspose2d.from_transposed(nn.ConvTranspose2d(4, 4, 3, 1, 1)) is None


@pytest.mark.parametrize(
    ("name", "size"), [("zhong", (96, 128)), ("zhong_baseline", (64, 96)), ("anet", (96, 64))]
)
@pytest.mark.parametrize("subpixel", [False, True])
def test_optimized_network_computes_the_same_function(
    name: str, size: tuple[int, int], subpixel: bool
) -> None:
    torch.manual_seed(0)
    model = _calibrated(create_model(name, num_classes=3))
    optimized = optimize_for_inference(model, subpixel=subpixel, merge_pointwise_max_channels=6)
    kinds = [type(m) for m in optimized.modules()]
    transposed = [m for m in optimized.modules() if isinstance(m, nn.ConvTranspose2d)]
    if subpixel:
        assert not transposed
    else:  # only the stride-2 ones stay transposed convs
        assert transposed and all(m.stride == (2, 2) for m in transposed)
    assert nn.PReLU not in kinds  # A-Net's shared-slope PReLUs became LeakyReLUs
    if name.startswith("zhong"):
        assert nn.BatchNorm2d not in kinds  # every BN follows a conv or a transposed conv
    if name == "zhong" and not subpixel:  # encoders 1 and 2 (3 and 6 input channels) merged
        assert sum(isinstance(m, nn.Conv2d) for m in optimized.modules()) == sum(
            isinstance(m, nn.Conv2d) for m in model.modules()
        ) + 3 - 2  # +3 attention fusions turned into convs, -2 merged pointwise convs
    x = torch.randn(2, 3, *size)
    with torch.no_grad():
        expected = model(x)
        actual = optimized(x)
    assert float(expected.std()) > 1e-2  # the comparison carries signal
    torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-4)
    # the original is untouched (still trainable, BN still there)
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())


def test_pointwise_merge_is_exact_with_padding_and_bias() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 3, 3, stride=2, padding=1), nn.Conv2d(3, 7, 1), nn.ReLU())
    optimized = optimize_for_inference(model)
    convs = [m for m in optimized.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 1 and convs[0].weight.shape == (7, 3, 3, 3)
    x = torch.randn(1, 3, 17, 10)
    with torch.no_grad():
        torch.testing.assert_close(optimized(x), model(x), rtol=1e-5, atol=1e-5)
    # above the channel limit nothing is merged
    kept = optimize_for_inference(model, merge_pointwise_max_channels=2)
    assert sum(isinstance(m, nn.Conv2d) for m in kept.modules()) == 2
