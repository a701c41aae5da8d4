"""Export a trained checkpoint to one ONNX file with its model card (embedded and beside it).

Exporter: ``torch.onnx.export(..., dynamo=True)`` (torch.export + onnxscript), opset 18, batch,
height and width dynamic (height and width declared as multiples of 32, the networks' size rule).
It is the default exporter of torch >= 2.9; the TorchScript one (``exporter="torchscript"``) is
kept as an explicit choice because it is much faster (about 1 s instead of 10-30 s on two cores)
but torch warns it will be removed. Either way the graph is checked, not trusted: the input must
have symbolic batch/H/W dimensions and onnxruntime must match PyTorch (max |logit difference|
<= :data:`PARITY_TOLERANCE`) at two sizes that differ from the traced one and from each other,
which catches graphs frozen to one resolution (docs/design.md: ``AdaptiveMaxPool2d`` through the
old exporter).

The file is written atomically (:func:`trainer.onnxfile.write_model_atomic`: a temp file beside
the target, renamed only after the card is embedded and the parity check passed): a failed export
never leaves a half-valid model behind. The model id is the graph's content hash
(:func:`trainer.onnxfile.model_content_id`); the card comes from :mod:`trainer.card`.

Layering: this module is the top of the model-file stack (``export -> quantize -> evaluate``;
``onnxfile``/``card``/``checkpoint`` below them), checked by the import-linter contracts in
pyproject.toml. :func:`export_run` is the only caller of the quantiser.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import onnx
import torch
from torch import nn

from inspector_app.core.modelcard import ModelCard, sidecar_path
from inspector_app.core.protocol import Exported
from trainer.card import SIZE_MULTIPLE, card_for_checkpoint
from trainer.checkpoint import find_checkpoint, load_checkpoint, model_from_checkpoint
from trainer.events import EmitFn
from trainer.models.inference import optimize_for_inference
from trainer.onnxfile import model_content_id, strip_debug_info, write_model_atomic

#: ONNX opset of exported graphs.
EXPORT_OPSET = 18
INPUT_NAME = "image"
OUTPUT_NAME = "logits"
#: (batch, H, W) traced by the exporter: batch 2 so that torch.export does not specialise it to 1.
TRACE_SHAPE = (2, 64, 96)
#: (batch, H, W) of the parity check: both differ from the trace shape and from each other.
PARITY_SHAPES: tuple[tuple[int, int, int], ...] = ((1, 96, 128), (3, 160, 64))
PARITY_TOLERANCE = 1e-4
Exporter = Literal["dynamo", "torchscript"]
PathLike = str | os.PathLike[str]


class ExportError(RuntimeError):
    """Export failed or produced a graph that does not match PyTorch."""


@dataclass(frozen=True)
class ParityResult:
    """One onnxruntime-vs-PyTorch comparison at input shape ``shape`` (N, C, H, W)."""

    shape: tuple[int, int, int, int]
    #: max |onnxruntime - PyTorch float32| over all logits
    max_abs_diff: float
    #: std of the PyTorch logits: a tiny value would make a small diff meaningless
    logit_std: float
    #: only when ``max_abs_diff`` exceeds the tolerance: max |onnxruntime - PyTorch float64| and
    #: max |PyTorch float32 - PyTorch float64| (the network's own float32 rounding noise)
    float64_error: float | None = None
    float32_noise: float | None = None


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_checkpoint` wrote."""

    onnx_path: Path
    card_path: Path
    card: ModelCard
    parity: tuple[ParityResult, ...]


# --- torch -> ONNX -------------------------------------------------------------------------------


#: torch's ONNX op registry logs one warning per torchvision op ("torchvision is not installed.
#: Skipping torchvision::nms" ...) at every export; our networks use no torchvision op.
_REGISTRY_LOGGER = "torch.onnx._internal.exporter._registration"


class _DropTorchvisionNotice(logging.Filter):
    """Drops exactly the registry's "torchvision is not installed" records; lets the rest through."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("torchvision is not installed")


@contextlib.contextmanager
def _quiet_export() -> Iterator[None]:
    """Keep the exporter's chatter off stdout (stdout carries the trainer's JSON event stream),
    and the torchvision notices off stderr."""
    notice = _DropTorchvisionNotice()
    logger = logging.getLogger(_REGISTRY_LOGGER)
    logger.addFilter(notice)
    try:
        with contextlib.redirect_stdout(sys.stderr), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        logger.removeFilter(notice)


def _rename_dims(model: onnx.ModelProto, names: dict[str, str]) -> None:
    """Replace symbolic dimension names (``s53`` -> ``height``) in every shape annotation."""
    if not names:
        return
    pattern = re.compile(r"\b(" + "|".join(re.escape(k) for k in names) + r")\b")
    graph = model.graph
    for value in [*graph.input, *graph.output, *graph.value_info]:
        for dim in value.type.tensor_type.shape.dim:
            if dim.dim_param:
                dim.dim_param = pattern.sub(lambda m: names[m.group(1)], dim.dim_param)


def to_onnx(
    model: nn.Module, *, input_channels: int, exporter: Exporter = "dynamo", opset: int = EXPORT_OPSET
) -> onnx.ModelProto:
    """Export eval-mode ``model`` to an in-memory ONNX graph with dynamic batch, height and width."""
    model = model.eval()
    batch, height, width = TRACE_SHAPE
    # own generator: exporting at the end of a run must not advance the training RNG
    sample = torch.randn(batch, input_channels, height, width, generator=torch.Generator().manual_seed(0))
    with _quiet_export(), torch.no_grad():
        if exporter == "dynamo":
            dims = {
                0: torch.export.Dim("batch", min=1),
                2: SIZE_MULTIPLE * torch.export.Dim("height_blocks", min=1),
                3: SIZE_MULTIPLE * torch.export.Dim("width_blocks", min=1),
            }
            program = torch.onnx.export(
                model,
                (sample,),
                None,
                dynamo=True,
                opset_version=opset,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_shapes=(dims,),
                optimize=True,  # folds BatchNorm into the convolutions, drops dead nodes
                verbose=False,
            )
            if program is None:  # pragma: no cover - torch returns the program when f is None
                raise ExportError("torch.onnx.export returned no program")
            proto = program.model_proto
        elif exporter == "torchscript":
            axes = {0: "batch", 2: "height", 3: "width"}
            with tempfile.TemporaryDirectory() as tmp:
                target = Path(tmp) / "model.onnx"
                torch.onnx.export(
                    model,
                    (sample,),
                    str(target),
                    dynamo=False,
                    opset_version=opset,
                    input_names=[INPUT_NAME],
                    output_names=[OUTPUT_NAME],
                    dynamic_axes={INPUT_NAME: axes, OUTPUT_NAME: axes},
                )
                proto = onnx.load(str(target))
        else:
            raise ValueError(f"unknown exporter {exporter!r} (use 'dynamo' or 'torchscript')")
    dims_in = proto.graph.input[0].type.tensor_type.shape.dim
    symbols = [d.dim_param for d in dims_in]
    names = {s: n for s, n in zip(symbols, ("batch", "", "height", "width"), strict=False) if s and n}
    _rename_dims(proto, names)
    strip_debug_info(proto)
    proto.producer_name = "defect-inspector trainer"
    check_dynamic_input(proto)
    onnx.checker.check_model(proto)
    return proto


def check_dynamic_input(proto: onnx.ModelProto) -> None:
    """Raise :class:`ExportError` unless the input is (N, C, H, W) with symbolic N, H and W."""
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    if len(dims) != 4:
        raise ExportError(f"exported input has rank {len(dims)}, expected 4 (N, C, H, W)")
    fixed = [("batch", "channels", "height", "width")[i] for i in (0, 2, 3) if not dims[i].dim_param]
    if fixed:
        raise ExportError(f"exported graph has a fixed {', '.join(fixed)}: it would work at one size only")


def check_parity(
    model: nn.Module,
    onnx_path: PathLike,
    *,
    input_channels: int,
    shapes: Sequence[tuple[int, int, int]] = PARITY_SHAPES,
    tolerance: float = PARITY_TOLERANCE,
) -> tuple[ParityResult, ...]:
    """Compare onnxruntime with PyTorch at each (batch, H, W); :class:`ExportError` on a mismatch.

    Passes where max |logit difference| <= ``tolerance``. Deep networks can have a float32
    rounding noise of that order by themselves (random-weight A-Net: PyTorch float32 differs from
    float64 by up to 7e-5), so above the tolerance both are compared with a float64 PyTorch run:
    the graph still passes if its error against float64 is within twice PyTorch float32's own
    error (an exported graph that is as exact as PyTorch is), and fails otherwise. A wrong graph
    (a fixed size, a mis-exported op) is off by orders of magnitude more than either.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = min(2, os.cpu_count() or 1)
    # the same (full) graph optimisation the app uses, so BN folding and fusions are checked too
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    generator = torch.Generator().manual_seed(1234)
    results = []
    model = model.eval()
    reference: nn.Module | None = None
    for batch, height, width in shapes:
        x = torch.randn(batch, input_channels, height, width, generator=generator)
        with torch.no_grad():
            expected = model(x).numpy()
        (actual,) = session.run([OUTPUT_NAME], {INPUT_NAME: x.numpy()})
        shape = (batch, input_channels, height, width)
        if actual.shape != expected.shape:
            raise ExportError(
                f"ONNX output shape {actual.shape} != PyTorch {expected.shape} at input {shape}"
            )
        diff = float(np.abs(actual - expected).max())
        result = ParityResult(shape, diff, float(expected.std()))
        if not diff <= tolerance:  # also NaN
            if reference is None:
                reference = copy.deepcopy(model).double()
            with torch.no_grad():
                exact = reference(x.double()).numpy()
            error = float(np.abs(actual - exact).max())
            noise = float(np.abs(expected - exact).max())
            result = dataclasses.replace(result, float64_error=error, float32_noise=noise)
            if not error <= 2 * noise:
                raise ExportError(
                    f"ONNX and PyTorch disagree at input {shape}: max |logit diff| {diff:.3g} > "
                    f"{tolerance:g}, and the ONNX error against float64 ({error:.3g}) exceeds twice "
                    f"PyTorch's own float32 error ({noise:.3g})"
                )
        results.append(result)
    return tuple(results)


# --- files -----------------------------------------------------------------------------------------


def export_checkpoint(
    pt_path: PathLike,
    out_onnx: PathLike,
    *,
    name: str | None = None,
    parent: str | None = None,
    training: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    exporter: Exporter = "dynamo",
    parity_shapes: Sequence[tuple[int, int, int]] = PARITY_SHAPES,
    emit: EmitFn | None = None,
) -> ExportResult:
    """Export checkpoint ``pt_path`` to ``out_onnx`` (+ ``.json`` card beside it).

    ``name``, ``parent``, ``training``, ``metrics`` and ``extra`` override/extend card fields.
    ``emit`` (e.g. the engine's event writer) receives an :class:`Exported` event at the end.
    Raises :class:`ExportError` when the export or the parity check fails (nothing is written then).
    """
    checkpoint = load_checkpoint(pt_path)
    model = model_from_checkpoint(checkpoint)
    input_channels = int(checkpoint.get("input_channels", 3))
    # The exported graph is the inference rewrite (BN folded, shared-slope PReLU as LeakyReLU,
    # few-channel conv pairs merged): same outputs up to fp32 rounding, and onnxruntime runs
    # A-Net 2.3-2.5x faster with it. Parity below is checked against the original model.
    proto = to_onnx(optimize_for_inference(model), input_channels=input_channels, exporter=exporter)
    base = card_for_checkpoint(
        checkpoint,
        model_id=model_content_id(proto),
        name=name,
        parent=parent,
        training=training,
        metrics=metrics,
    )
    out = Path(out_onnx)
    parity: tuple[ParityResult, ...] = ()

    def verify(path: Path) -> tuple[ParityResult, ...]:
        nonlocal parity
        parity = check_parity(model, path, input_channels=input_channels, shapes=parity_shapes)
        return parity

    def make_card(results: tuple[ParityResult, ...]) -> ModelCard:
        export_info = {
            "exporter": exporter,
            "opset": EXPORT_OPSET,
            "torch": torch.__version__,
            "source_checkpoint": Path(pt_path).name,
            "parity_max_abs_diff": max((r.max_abs_diff for r in results), default=None),
            "parity_tolerance": PARITY_TOLERANCE,
            "parity": [{**dataclasses.asdict(r), "shape": list(r.shape)} for r in results],
        }
        return base.replace(extra={**base.extra, "export": export_info, **(extra or {})})

    card = write_model_atomic(proto, out, make_card, verify)
    card_path = sidecar_path(out)
    if emit is not None:
        emit(Exported(path=str(out), card_path=str(card_path)))
    return ExportResult(out, card_path, card, parity)


# --- run folders -----------------------------------------------------------------------------------


def export_run(
    run_dir: PathLike,
    *,
    quantize: bool = False,
    out: PathLike | None = None,
    exporter: Exporter = "dynamo",
    emit: EmitFn | None = None,
) -> Path:
    """Export a run's best (else last) checkpoint to ``run_dir/model.onnx`` (or ``out``) + card.

    With ``quantize`` also writes the int8 model beside it (``model.int8.onnx``, see
    :mod:`trainer.quantize`) and returns its path; otherwise returns the fp32 model's path.
    """
    run = Path(run_dir)
    checkpoint = find_checkpoint(run)
    target = Path(out) if out is not None else run / "model.onnx"
    result = export_checkpoint(checkpoint, target, exporter=exporter, emit=emit)
    if not quantize:
        return result.onnx_path
    # lazy: onnxruntime.quantization is slow to import and only --int8 needs it
    from trainer.quantize import quantize_run

    return quantize_run(run, result.onnx_path, emit=emit)
