"""Registry, parameter counts, shapes and trainability of the segmentation networks."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from trainer.models import create_model, list_models, model_arguments, model_spec
from trainer.models.anet import ANet
from trainer.models.zhong import ZhongBaseline, ZhongNet


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_registry_lists_the_four_networks() -> None:
    assert list_models() == ["anet", "unet", "zhong", "zhong_baseline"]


@pytest.mark.parametrize(
    ("name", "options", "expected"),
    [
        ("zhong", {}, 114_001),  # released code (docs/design.md)
        ("zhong", {"depthwise": True}, 87_217),  # the paper text's depthwise encoder
        ("zhong_baseline", {}, 125_313),  # the paper's BaseLine
        ("anet", {}, 389_768),  # released A-Net, one class
    ],
)
def test_parameter_counts_match_the_papers(name: str, options: dict[str, Any], expected: int) -> None:
    assert n_params(create_model(name, **options)) == expected


def test_default_class_counts_are_the_papers() -> None:
    assert create_model("zhong").num_classes == 5
    assert create_model("anet").num_classes == 1


def test_ca_reduction_changes_only_the_attention_mlp() -> None:
    # reduction 4 instead of 8: hidden widths 12/6/3 instead of 6/3/1 on C = 48/24/12
    extra = sum(2 * c * (c // 4 - c // 8) + (c // 4 - c // 8) for c in (48, 24, 12))
    assert n_params(create_model("zhong", ca_reduction=4)) == 114_001 + extra


def test_class_count_only_changes_the_last_layer() -> None:
    # Zhong: last ConvT3x3 12->k with bias + BN(k): 108k + k + 2k
    assert n_params(create_model("zhong", num_classes=3)) == 114_001 - 2 * 111
    # A-Net: last Conv3x3 16->k with bias: 145 per class
    assert n_params(create_model("anet", num_classes=4)) == 389_768 + 3 * 145


def test_in_channels_one() -> None:
    model = create_model("zhong", in_channels=1).eval()
    assert model(torch.zeros(1, 1, 64, 64)).shape == (1, 5, 64, 64)
    # first encoder conv 3x3 1->1 and 1x1 1->6 instead of 3->3 and 3->6
    assert n_params(model) == 114_001 - (81 + 3 - 9 - 1) - (18 - 6)


@pytest.mark.parametrize("name", ["zhong", "zhong_baseline", "anet", "unet"])
def test_options_rebuild_the_same_architecture(name: str) -> None:
    model = create_model(name, num_classes=3)
    rebuilt = create_model(name, num_classes=model.num_classes, **model.options())
    assert rebuilt.config() == model.config()
    # config keys are exactly the constructor arguments
    assert set(model.config()) == set(model_arguments(name))
    rebuilt.load_state_dict(model.state_dict())  # strict: same tensors, same shapes


def test_unknown_option_fails_loudly() -> None:
    with pytest.raises(TypeError, match="depthwse"):
        create_model("zhong", depthwse=True)
    with pytest.raises(KeyError, match="known models"):
        create_model("segformer")
    with pytest.raises(ValueError):
        create_model("zhong", num_classes=0)


def test_registry_names_point_at_the_classes() -> None:
    assert model_spec("zhong").factory is ZhongNet
    assert model_spec("zhong_baseline").factory is ZhongBaseline
    assert model_spec("anet").factory is ANet


@pytest.mark.parametrize("name", list_models())
def test_no_adaptive_max_pool(name: str) -> None:
    # AdaptiveMaxPool2d(1) exports (TorchScript exporter) as a fixed-size MaxPool: use amax
    assert not any(isinstance(m, nn.AdaptiveMaxPool2d) for m in create_model(name).modules())


@pytest.mark.parametrize(
    ("name", "sizes"),
    [
        ("zhong", [(64, 96), (224, 224), (480, 640)]),
        ("zhong_baseline", [(64, 96), (224, 224)]),
        ("anet", [(64, 96), (224, 224), (96, 320)]),
        ("unet", [(64, 96), (128, 64)]),
    ],
)
def test_forward_backward_shapes(name: str, sizes: list[tuple[int, int]]) -> None:
    torch.manual_seed(0)
    model = create_model(name, num_classes=3).train()
    for height, width in sizes:
        x = torch.randn(2, 3, height, width)
        out = model(x)
        assert out.shape == (2, 3, height, width)
        target = torch.randint(0, 3, (2, height, width))
        loss = nn.functional.cross_entropy(out, target)
        model.zero_grad()
        loss.backward()
        grads = [p.grad for p in model.parameters()]
        # every parameter takes part in the forward pass and receives a finite gradient
        assert all(g is not None and torch.isfinite(g).all() for g in grads)
        assert sum(float(g.abs().sum()) for g in grads if g is not None) > 0


def test_zhong_eval_is_deterministic_and_batch_independent() -> None:
    torch.manual_seed(0)
    model = create_model("zhong").eval()
    x = torch.randn(3, 3, 96, 128)
    with torch.no_grad():
        batched = model(x)
        single = model(x[1:2])
    torch.testing.assert_close(batched[1:2], single, rtol=1e-4, atol=1e-5)


def test_zhong_attention_sees_global_context() -> None:
    # the channel attention pools over the whole image: changing a far corner changes the
    # output at the opposite corner (a purely local network of this depth could not)
    torch.manual_seed(0)
    model = create_model("zhong").eval()
    x = torch.randn(1, 3, 256, 256)
    y = x.clone()
    y[..., -8:, -8:] += 5.0
    with torch.no_grad():
        a, b = model(x), model(y)
    assert not torch.allclose(a[..., :4, :4], b[..., :4, :4])
    baseline = create_model("zhong_baseline").eval()
    with torch.no_grad():
        a, b = baseline(x), baseline(y)
    torch.testing.assert_close(a[..., :4, :4], b[..., :4, :4])
