"""Count the arithmetic cost of a network with forward hooks.

Convention (docs/adr/0002-flop-counting.md):

* **MACs** = multiply-accumulates of ``Conv2d`` (groups included), ``ConvTranspose2d`` and
  ``Linear`` for one forward pass at the given input size; **FLOPs = 2 x MACs**.
* A ``ConvTranspose2d`` is counted by what it computes: every *input* pixel is multiplied by a
  ``k x k x (cout/groups)`` kernel slice, i.e. ``N*Hin*Win*Cin*kh*kw*Cout/groups`` MACs.
* Bias additions, BatchNorm, activations, pooling, resizing and other element-wise work are not
  in MACs; the number of elements they produce is reported separately as ``elementwise``.

``convention="naive"`` counts a transposed conv like a conv on its *output* grid
(``N*Hout*Wout*Cout*kh*kw*Cin/groups``), which is what several popular counters do. That
assumes every output pixel receives all ``kh*kw`` taps, but with stride ``s`` it receives on
average ``kh*kw/s^2`` of them: a stride-2 transposed conv is over-counted 4x, whatever its kernel
(3x3 in Zhong's decoders: 9 taps counted, 9/4 real; 2x2 in A-Net: 4 counted, 1 real). With the
bias/BatchNorm/activation bookkeeping of such tools it reproduces the Zhong paper's
"0.591 GFLOPs" (:func:`op_count_style_total`, ``benchmarks/model_table.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import nn

Convention = Literal["correct", "naive"]

# modules whose output elements are reported as element-wise work (not MACs), by category
_ELEMENTWISE: tuple[tuple[str, tuple[type[nn.Module], ...]], ...] = (
    ("batchnorm", (nn.BatchNorm1d, nn.BatchNorm2d)),
    ("activation", (nn.ReLU, nn.LeakyReLU, nn.PReLU, nn.Sigmoid, nn.Tanh)),
    ("pool", (nn.MaxPool2d, nn.AvgPool2d)),
    ("resize", (nn.Upsample,)),
)


@dataclass(frozen=True)
class LayerCost:
    """Cost of one module call."""

    name: str
    kind: str
    macs: int
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]


@dataclass
class CostReport:
    """Cost of one forward pass; ``macs``/``flops`` per the module convention."""

    input_size: tuple[int, int]
    batch: int
    convention: Convention
    params: int
    macs: int = 0
    #: output elements of element-wise work by category: ``bias`` (conv/linear bias adds),
    #: ``batchnorm``, ``activation``, ``pool``, ``resize`` (modules only, not functional calls)
    elementwise_by_kind: dict[str, int] = field(default_factory=dict)
    layers: list[LayerCost] = field(default_factory=list)

    @property
    def flops(self) -> int:
        """Floating-point operations, 1 MAC = 2 FLOPs."""
        return 2 * self.macs



def conv_macs(module: nn.Conv2d, output: torch.Tensor) -> int:
    """MACs of a ``Conv2d``: output elements x (cin/groups) x kh x kw."""
    kh, kw = module.kernel_size
    return int(output.numel()) * (module.in_channels // module.groups) * kh * kw


def conv_transpose_macs(
    module: nn.ConvTranspose2d, inputs: torch.Tensor, output: torch.Tensor, convention: Convention
) -> int:
    """MACs of a ``ConvTranspose2d``.

    ``correct``: input elements x kh x kw x (cout/groups) -- each input pixel scatters one
    kernel slice. ``naive``: output elements x kh x kw x (cin/groups), as if it were a conv.
    """
    kh, kw = module.kernel_size
    if convention == "naive":
        return int(output.numel()) * (module.in_channels // module.groups) * kh * kw
    return int(inputs.numel()) * kh * kw * (module.out_channels // module.groups)


def linear_macs(module: nn.Linear, output: torch.Tensor) -> int:
    """MACs of a ``Linear``: output elements x in_features."""
    return int(output.numel()) * module.in_features


def _add(totals: dict[str, int], key: str, value: int) -> None:
    totals[key] = totals.get(key, 0) + value


def _infer_in_channels(model: nn.Module) -> int:
    config = getattr(model, "config", None)
    if callable(config):
        options: Any = config()
        if isinstance(options, dict) and "in_channels" in options:
            return int(options["in_channels"])
    for module in model.modules():
        if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
            return int(module.in_channels)
    raise ValueError("cannot infer the number of input channels; pass in_channels")


def count_cost(
    model: nn.Module,
    input_size: Sequence[int],
    *,
    in_channels: int | None = None,
    batch: int = 1,
    convention: Convention = "correct",
) -> CostReport:
    """Run one forward pass on zeros of ``batch x in_channels x H x W`` and count its cost.

    The model is run in eval mode under ``torch.no_grad`` and put back into its previous mode.
    Only leaf modules are hooked, so containers are never counted twice; a module called twice
    (e.g. the shared attention MLP) is counted twice, as it runs twice.
    """
    if convention not in ("correct", "naive"):
        raise ValueError(f"convention must be 'correct' or 'naive', got {convention!r}")
    height, width = (int(v) for v in input_size)
    channels = _infer_in_channels(model) if in_channels is None else in_channels
    report = CostReport(
        input_size=(height, width),
        batch=batch,
        convention=convention,
        params=sum(p.numel() for p in model.parameters()),
    )

    def hook(name: str) -> Any:
        def record(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
            if not isinstance(output, torch.Tensor) or not args or not isinstance(args[0], torch.Tensor):
                return
            inputs = args[0]
            macs = 0
            if isinstance(module, nn.Conv2d):
                macs = conv_macs(module, output)
            elif isinstance(module, nn.ConvTranspose2d):
                macs = conv_transpose_macs(module, inputs, output, convention)
            elif isinstance(module, nn.Linear):
                macs = linear_macs(module, output)
            else:
                for kind, types in _ELEMENTWISE:
                    if isinstance(module, types):
                        _add(report.elementwise_by_kind, kind, int(output.numel()))
                return
            if getattr(module, "bias", None) is not None:
                _add(report.elementwise_by_kind, "bias", int(output.numel()))
            report.macs += macs
            report.layers.append(
                LayerCost(name, type(module).__name__, macs, tuple(inputs.shape), tuple(output.shape))
            )

        return record

    handles = [
        module.register_forward_hook(hook(name))
        for name, module in model.named_modules()
        if not any(True for _ in module.children())
    ]
    was_training = model.training
    try:
        model.eval()
        parameter = next(model.parameters(), None)
        device = parameter.device if parameter is not None else torch.device("cpu")
        with torch.no_grad():
            model(torch.zeros(batch, channels, height, width, device=device))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return report


def op_count_style_total(report: CostReport) -> int:
    """The figure op-counting tools (thop style) print and papers then call "FLOPs".

    MACs (counted as one op each, not two) + one op per bias add + two per BatchNorm element
    (scale and shift) + one per activation element. Applied to a ``naive`` report of the Zhong
    network at 480x640 it gives 0.5916e9, the paper's "0.591 GFLOPs"; the real work is
    ``correct`` MACs = 0.191e9 (0.383 GFLOP).
    """
    other = report.elementwise_by_kind
    return report.macs + other.get("bias", 0) + 2 * other.get("batchnorm", 0) + other.get("activation", 0)
