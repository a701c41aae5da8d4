"""Every network exports to ONNX with dynamic batch/H/W and matches PyTorch in onnxruntime.

Exporter: ``torch.onnx.export(..., dynamo=True)`` (torch.export + onnxscript), opset 18. It is
the default since torch 2.9; in torch 2.13 the TorchScript exporter (``dynamo=False``) still
works but warns that it will be removed, so the project does not rely on it.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

from trainer.models import create_model

OPSET = 18


def calibrate_batchnorm(model: nn.Module, sample: torch.Tensor) -> nn.Module:
    """Set every BatchNorm's running statistics to those of ``sample`` and switch to eval.

    Freshly initialised BNs are identities in eval mode, which makes the eval outputs of a
    deep random network tiny (A-Net: std ~3e-4) and an export comparison nearly vacuous. With
    the statistics of a real batch the eval path carries signal of order 1.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average: one batch -> exactly its statistics
    model.train()
    with torch.no_grad():
        model(sample)
    for norm, momentum in zip(norms, saved, strict=True):
        norm.momentum = momentum
    return model.eval()


def export_dynamic(model: torch.nn.Module, path: Path, in_channels: int = 3) -> None:
    """Export with batch, H and W dynamic (H and W constrained to multiples of 32)."""
    batch = torch.export.Dim("batch", min=1, max=64)
    height = 32 * torch.export.Dim("h32", min=1, max=128)
    width = 32 * torch.export.Dim("w32", min=1, max=128)
    sample = torch.randn(2, in_channels, 64, 96)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        torch.onnx.export(
            model,
            (sample,),
            str(path),
            dynamo=True,
            opset_version=OPSET,
            input_names=["image"],
            output_names=["logits"],
            dynamic_shapes=({0: batch, 2: height, 3: width},),
            verbose=False,
            external_data=False,  # one self-contained file (the default splits weights off)
        )


@pytest.mark.parametrize(
    ("name", "options", "sizes"),
    [
        ("zhong", {}, [(96, 128), (480, 640)]),
        pytest.param("zhong_baseline", {}, [(64, 64), (224, 320)], marks=pytest.mark.slow),
        ("anet", {}, [(224, 224), (512, 512)]),
        pytest.param("anet", {"num_classes": 4}, [(64, 96), (160, 224)], marks=pytest.mark.slow),
        pytest.param("unet", {}, [(64, 96), (128, 160)], marks=pytest.mark.slow),
    ],
)
def test_onnx_export_dynamic_sizes(
    name: str, options: dict[str, int], sizes: list[tuple[int, int]], tmp_path: Path
) -> None:
    torch.manual_seed(0)
    model = create_model(name, **options)
    # Statistics from a batch large enough that no channel's variance is estimated from a
    # handful of pixels: with 2 x 64x96 images A-Net's 2x3 bottleneck gives near-zero variances
    # that amplify fp32 round-off until torch itself is 7e-5 away from float64.
    calibrate_batchnorm(model, torch.randn(4, 3, 256, 256))
    path = tmp_path / f"{name}.onnx"
    export_dynamic(model, path)

    graph = onnx.load(str(path))
    onnx.checker.check_model(graph)
    assert max(o.version for o in graph.opset_import if o.domain in ("", "ai.onnx")) >= 17
    dims = graph.graph.input[0].type.tensor_type.shape.dim
    assert all(d.dim_param and not d.dim_value for i, d in enumerate(dims) if i != 1), dims
    # no pooling op with a kernel frozen to one resolution (AdaptiveMaxPool2d's legacy export)
    assert not any(node.op_type == "MaxPool" and "adaptive" in node.name.lower() for node in graph.graph.node)

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for height, width in sizes:
        x = torch.randn(1, 3, height, width)
        with torch.no_grad():
            expected = model(x).numpy()
        (actual,) = session.run(None, {"image": x.numpy()})
        assert actual.shape == expected.shape == (1, model.num_classes, height, width)
        # BN statistics are calibrated, so the outputs carry signal and the check means something
        assert float(np.std(expected)) > 1e-2
        error = float(np.abs(actual - expected).max())
        print(f"{name} {options} {height}x{width}: std {np.std(expected):.3g} max|diff| {error:.2e}")
        assert error <= 1e-4


def test_torchscript_exporter_also_keeps_zhong_size_independent(tmp_path: Path) -> None:
    # The reason for amax instead of AdaptiveMaxPool2d(1): the TorchScript exporter (still
    # present, deprecated) would freeze the pool's kernel to the export resolution.
    torch.manual_seed(0)
    model = calibrate_batchnorm(create_model("zhong"), torch.randn(4, 3, 256, 256))
    path = tmp_path / "zhong_ts.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (torch.randn(1, 3, 64, 96),),
            str(path),
            dynamo=False,
            opset_version=17,
            input_names=["image"],
            output_names=["logits"],
            dynamic_axes={"image": {0: "n", 2: "h", 3: "w"}, "logits": {0: "n", 2: "h", 3: "w"}},
        )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for height, width in [(64, 96), (224, 320)]:
        x = torch.randn(1, 3, height, width)
        with torch.no_grad():
            expected = model(x).numpy()
        (actual,) = session.run(None, {"image": x.numpy()})
        assert float(np.abs(actual - expected).max()) <= 1e-4


@pytest.mark.parametrize(
    ("name", "subpixel", "sizes"),
    [
        ("zhong", True, [(96, 128), (480, 640)]),
        pytest.param("anet", False, [(224, 224), (128, 96)], marks=pytest.mark.slow),
    ],
)
def test_inference_rewrite_exports_with_dynamic_sizes(
    name: str, subpixel: bool, sizes: list[tuple[int, int]], tmp_path: Path
) -> None:
    # optimize_for_inference's graph (folded BN, merged convs, LeakyReLU for PReLU, sub-pixel
    # transposed convs with a reshape/transpose shuffle) keeps H and W symbolic in the export
    from trainer.models.inference import optimize_for_inference

    torch.manual_seed(0)
    model = calibrate_batchnorm(create_model(name), torch.randn(4, 3, 256, 256))
    path = tmp_path / f"{name}_inference.onnx"
    export_dynamic(optimize_for_inference(model, subpixel=subpixel), path)
    graph = onnx.load(str(path))
    ops = [node.op_type for node in graph.graph.node]
    assert "PRelu" not in ops
    # A-Net's head keeps its one BN (it follows a PReLU, not a conv)
    assert ops.count("BatchNormalization") == (1 if name == "anet" else 0)
    assert ("ConvTranspose" in ops) != subpixel
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for height, width in sizes:
        x = torch.randn(1, 3, height, width)
        with torch.no_grad():
            expected = model(x).numpy()
        (actual,) = session.run(None, {"image": x.numpy()})
        assert actual.shape == expected.shape
        assert float(np.abs(actual - expected).max()) <= 1e-4
