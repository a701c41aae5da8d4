"""The MAC counter: per-layer formulas, the transposed-conv convention, the papers' networks."""

from __future__ import annotations

import argparse
import json

import pytest
import torch
from torch import nn

from trainer import cmd_models
from trainer.flops import count_cost, op_count_style_total
from trainer.models import create_model


def test_grouped_conv() -> None:
    model = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=1, groups=4))
    cost = count_cost(model, (32, 48), in_channels=8)
    # 16 x 24 outputs x 16 channels, each (8/4) x 3 x 3 taps
    assert cost.macs == 16 * 24 * 16 * 2 * 9
    assert cost.flops == 2 * cost.macs
    assert cost.elementwise_by_kind == {"bias": 16 * 24 * 16}


def test_depthwise_conv() -> None:
    cost = count_cost(nn.Conv2d(6, 6, 3, padding=1, groups=6, bias=False), (10, 10), in_channels=6)
    assert cost.macs == 10 * 10 * 6 * 9
    assert sum(cost.elementwise_by_kind.values()) == 0


def test_linear_and_batch() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.Flatten(), nn.Linear(4 * 8 * 8, 10))
    cost = count_cost(model, (8, 8), in_channels=3, batch=3)
    assert cost.macs == 3 * (8 * 8 * 4 * 3 + 256 * 10)
    per_kind = {layer.kind: layer.macs for layer in cost.layers}
    assert per_kind == {"Conv2d": 3 * 8 * 8 * 4 * 3, "Linear": 3 * 2560}


def test_transposed_conv_counts_per_input_pixel() -> None:
    up = nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)
    correct = count_cost(up, (10, 12), in_channels=8)
    naive = count_cost(up, (10, 12), in_channels=8, convention="naive")
    assert correct.layers[0].output_shape == (1, 4, 20, 24)
    # every input pixel multiplies a 3x3 x cout kernel slice
    assert correct.macs == 10 * 12 * 8 * 9 * 4
    # counted like a conv on the 4x larger output grid
    assert naive.macs == 20 * 24 * 4 * 9 * 8 == 4 * correct.macs


def test_transposed_conv_equals_its_gemm() -> None:
    # The work of a transposed conv is one GEMM (Hin*Win x Cin) @ (Cin x Cout*k*k) followed by
    # a scatter-add (col2im); reproduce the output that way and compare the GEMM's MACs.
    torch.manual_seed(0)
    up = nn.ConvTranspose2d(5, 3, 3, stride=2, padding=1, output_padding=1, bias=False)
    x = torch.randn(1, 5, 4, 6)
    cols = x.flatten(2).transpose(1, 2) @ up.weight.reshape(5, 3 * 9)  # 1 x 24 x 27
    out = nn.functional.fold(
        cols.transpose(1, 2), output_size=(9, 13), kernel_size=3, stride=2
    )[..., 1:9, 1:13]  # padding 1 crops one row/col before; output_padding adds one after
    torch.testing.assert_close(out, up(x).detach(), rtol=1e-5, atol=1e-5)
    gemm_macs = cols.shape[1] * 5 * cols.shape[2]
    assert count_cost(up, (4, 6), in_channels=5).macs == gemm_macs


def test_stride_one_transposed_conv_is_counted_the_same_both_ways() -> None:
    up = nn.ConvTranspose2d(4, 6, 3, stride=1, padding=1)
    assert count_cost(up, (8, 8), in_channels=4).macs == count_cost(
        up, (8, 8), in_channels=4, convention="naive"
    ).macs


def test_shared_module_called_twice_counts_twice_and_hooks_are_removed() -> None:
    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(2, 2, 1, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(self.conv(x))

    model = Twice().train()
    assert count_cost(model, (4, 4), in_channels=2).macs == 2 * 16 * 4
    assert model.training
    assert not model.conv._forward_hooks


def zhong_macs_by_hand(height: int, width: int, classes: int = 5) -> int:
    """MACs of the released Zhong network from docs/design.md's description, without hooks."""
    widths = [3, 6, 12, 24, 48, 96]
    pixels = [height * width // 4**k for k in range(6)]  # pixels at stride 2**k
    macs = 0
    for k in range(1, 6):  # encoders: 3x3 s2 cin->cin, then 1x1 cin->cout, at stride 2**k
        cin, cout = widths[k - 1], widths[k]
        macs += pixels[k] * (9 * cin * cin + cin * cout)
    for k, c in ((2, 12), (3, 24), (4, 48)):  # attention on e2, e3, e4
        hidden = c // 8
        macs += 2 * (2 * c * hidden)  # shared MLP on the avg and the max vector
        macs += pixels[k] * (c * c + 2 * c * c)  # SA 1x1, fuse ConvT1x1 2C->C
    # decoders: ConvT3x3 s2 counted per input pixel: input stride 2**k
    for k, cin, cout in ((5, 96, 48), (4, 96, 24), (3, 48, 12), (2, 24, 6), (1, 12, classes)):
        macs += pixels[k] * 9 * cin * cout
    return macs


def test_zhong_cost_at_paper_size() -> None:
    model = create_model("zhong")
    cost = count_cost(model, (480, 640))
    assert cost.params == 114_001
    assert cost.macs == zhong_macs_by_hand(480, 640)
    assert cost.macs == pytest.approx(0.19e9, rel=0.01)  # docs/design.md: 0.19 GMAC
    assert cost.flops == pytest.approx(0.38e9, rel=0.01)


def test_naive_counter_reproduces_the_zhong_papers_figure() -> None:
    model = create_model("zhong")
    correct = count_cost(model, (480, 640))
    naive = count_cost(model, (480, 640), convention="naive")
    strided = sum(
        layer.macs
        for layer in correct.layers
        if layer.kind == "ConvTranspose2d" and layer.output_shape[2] == 2 * layer.input_shape[2]
    )
    transposed = sum(layer.macs for layer in correct.layers if layer.kind == "ConvTranspose2d")
    assert 0 < strided < transposed  # the 1x1 fuse convs are stride 1
    # only the stride-2 transposed convs change, and by exactly 4x
    assert naive.macs - correct.macs == 3 * strided
    assert naive.macs == pytest.approx(0.577e9, rel=0.001)
    # with the element-wise bookkeeping of op-counting tools: the paper's "0.591 GFLOPs"
    assert op_count_style_total(naive) == pytest.approx(0.591e9, rel=0.002)
    assert op_count_style_total(correct) < 0.21e9


def test_anet_cost_at_paper_size() -> None:
    cost = count_cost(create_model("anet"), (224, 224))
    assert cost.params == 389_768
    assert cost.macs == pytest.approx(0.326e9, rel=0.002)  # docs/design.md: 0.326 GMAC


def test_cost_scales_with_pixels() -> None:
    model = create_model("zhong")
    small = count_cost(model, (256, 256)).macs
    large = count_cost(model, (512, 512)).macs
    # conv work is proportional to the pixel count; only the 1x1 attention MLPs are not
    assert large == pytest.approx(4 * small, rel=1e-4)
    assert large != 4 * small


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="defect-train")
    cmd_models.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_models_command_json(capsys: pytest.CaptureFixture[str]) -> None:
    args = _parse(["models", "--json"])
    assert args.func(args) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert set(rows) == {"anet", "unet", "zhong", "zhong_baseline"}
    assert rows["zhong"]["parameters"] == 114_001
    assert rows["zhong"]["input_size"] == [480, 640]
    assert rows["anet"]["input_size"] == [224, 224]
    assert rows["anet"]["macs"] == count_cost(create_model("anet"), (224, 224)).macs
    assert rows["zhong"]["flops"] == 2 * rows["zhong"]["macs"]


def test_models_command_table_at_given_size(capsys: pytest.CaptureFixture[str]) -> None:
    args = _parse(["models", "--size", "64x96"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "zhong_baseline" in out and "64x96" in out and "480x640" not in out


@pytest.mark.parametrize("text", ["480", "480x", "0x64", "100x64", "axb", "64x64x3"])
def test_models_command_rejects_bad_sizes(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        cmd_models.parse_size(text)
