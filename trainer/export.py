"""Export a trained checkpoint to one ONNX file with its model card (embedded and beside it).

Exporter: ``torch.onnx.export(..., dynamo=True)`` (torch.export + onnxscript), opset 18, batch,
height and width dynamic (height and width declared as multiples of 32, the networks' size rule).
It is the default exporter of torch >= 2.9; the TorchScript one (``exporter="torchscript"``) is
kept as an explicit choice because it is much faster (about 1 s instead of 10-30 s on two cores)
but torch warns it will be removed. Either way the graph is checked, not trusted: the input must
have symbolic batch/H/W dimensions and onnxruntime must match PyTorch (max |logit difference|
<= :data:`PARITY_TOLERANCE`) at two sizes that differ from the traced one and from each other,
which catches graphs frozen to one resolution (DESIGN.md: ``AdaptiveMaxPool2d`` through the old
exporter).

The file is written atomically (a temp file beside the target, renamed only after the card is
embedded and the parity check passed): a failed export never leaves a half-valid model behind.

Model id: the first 12 hex digits of the SHA-256 of the serialised graph *before* the card is
added (weights + structure). The same weights give the same id, so re-exporting a checkpoint does
not fork the review history; any change of weights (fine-tuning, int8) gives a new one.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import onnx
import torch
from torch import nn

from inspector_app.core.classes import ClassInfo, ClassTable
from inspector_app.core.fileio import atomic_replace
from inspector_app.core.modelcard import ModelCard, embed_card, sidecar_path, write_card_sidecar
from inspector_app.core.protocol import Event, Exported
from trainer.checkpoint import BEST, LAST, CheckpointError, load_checkpoint
from trainer.config import PATH_KEYS
from trainer.models.inference import optimize_for_inference

#: ONNX opset of exported graphs.
EXPORT_OPSET = 18
INPUT_NAME = "image"
OUTPUT_NAME = "logits"
SIZE_MULTIPLE = 32
#: (batch, H, W) traced by the exporter: batch 2 so that torch.export does not specialise it to 1.
TRACE_SHAPE = (2, 64, 96)
#: (batch, H, W) of the parity check: both differ from the trace shape and from each other.
PARITY_SHAPES: tuple[tuple[int, int, int], ...] = ((1, 96, 128), (3, 160, 64))
PARITY_TOLERANCE = 1e-4
Exporter = Literal["dynamo", "torchscript"]
EmitFn = Callable[[Event], None]
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


# --- checkpoint -> model ---------------------------------------------------------------------------


def model_from_checkpoint(checkpoint: dict[str, Any]) -> nn.Module:
    """Rebuild the network of ``checkpoint`` with its weights, in eval mode."""
    from trainer.models import create_model  # registers every network

    model = create_model(
        checkpoint["model"],
        num_classes=int(checkpoint["num_classes"]),
        **dict(checkpoint.get("model_options") or {}),
    )
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval()


# --- torch -> ONNX -------------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet_export() -> Iterator[None]:
    """Keep the exporter's chatter off stdout (stdout carries the trainer's JSON event stream)."""
    with contextlib.redirect_stdout(sys.stderr), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        yield


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


def strip_debug_info(model: onnx.ModelProto) -> None:
    """Drop per-node stack traces and doc strings: they hold local paths and a third of the bytes."""
    for node in model.graph.node:
        del node.metadata_props[:]
        node.doc_string = ""
    for value in [*model.graph.input, *model.graph.output, *model.graph.value_info, *model.graph.initializer]:
        del value.metadata_props[:]
    # the ExportedProgram signature/constraints: debug text, and its order varies between runs
    del model.graph.metadata_props[:]
    model.graph.doc_string = ""
    model.doc_string = ""


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


def model_content_id(proto: onnx.ModelProto) -> str:
    """Model id of a graph: SHA-256 (12 hex digits) of its serialisation without metadata."""
    bare = onnx.ModelProto()
    bare.CopyFrom(proto)
    del bare.metadata_props[:]
    return hashlib.sha256(bare.SerializeToString(deterministic=True)).hexdigest()[:12]


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


# --- model card ------------------------------------------------------------------------------------


def _binary_table(table: ClassTable) -> ClassTable:
    """A one-logit model predicts defect / no defect: collapse a wider table to background + defect."""
    if table.num_classes == 2:
        return table
    foreground = [c for c in table if c.index != 0]
    color = foreground[0].color if foreground else (255, 0, 0)
    return ClassTable((table.by_index(0), ClassInfo(1, "defect", "defect", color)))


def _folder_name(value: Any) -> Any:
    """A path as its last component: cards travel to other machines and must hold no local paths."""
    return Path(str(value)).name if value else value


def training_summary(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """The card's ``training`` entry: resolved config, epochs, data sizes where known.

    Paths (the data and run folders, class table, mask cache, parent checkpoint) are reduced to
    their last component: the dataset's name and the run's name, never a machine's path.
    """
    config = dict(checkpoint.get("config") or {})
    for key in PATH_KEYS:
        if key in config:
            config[key] = _folder_name(config[key])
    summary: dict[str, Any] = {
        "model": checkpoint["model"],
        "model_options": dict(checkpoint.get("model_options") or {}),
        "epoch": checkpoint.get("epoch"),
        "best_metric": checkpoint.get("best_metric"),
        "config": config,
    }
    for key in ("num_train", "num_val", "data", "input_size", "binary", "best_epoch"):
        if key in checkpoint:
            summary[key] = checkpoint[key]
    if "data" in summary:
        summary["data"] = _folder_name(summary["data"])
    return summary


def card_for_checkpoint(checkpoint: dict[str, Any], *, model_id: str, **overrides: Any) -> ModelCard:
    """The model card of a checkpoint; ``overrides`` replace card fields (name, parent, metrics...)."""
    table = ClassTable.from_dict(checkpoint["class_table"])
    num_classes = int(checkpoint["num_classes"])
    output = "sigmoid" if num_classes == 1 else "softmax"
    if output == "sigmoid":
        table = _binary_table(table)
    elif table.num_classes != num_classes:
        raise ExportError(
            f"checkpoint has {num_classes} outputs but {table.num_classes} classes in its table"
        )
    input_channels = int(checkpoint.get("input_channels", 3))
    config = dict(checkpoint.get("config") or {})
    input_size = checkpoint.get("input_size") or config.get("input_size")
    fields: dict[str, Any] = {
        "name": str(config.get("name") or checkpoint["model"]),
        "architecture": str(checkpoint["model"]),
        "class_table": table,
        "input_channels": input_channels,
        "mean": tuple(checkpoint.get("mean") or (0.0,) * input_channels),
        "std": tuple(checkpoint.get("std") or (1.0,) * input_channels),
        "size_multiple": SIZE_MULTIPLE,
        # the engine trains on images resized to one size (the data's median, or --input-size):
        # the app resizes the same way so that defects have the scale the network learned; the
        # graph itself stays dynamic (a card without input_size runs at native size, padded)
        "input_size": tuple(input_size) if input_size else None,
        "output": output,
        "training": training_summary(checkpoint),
        "metrics": dict(checkpoint.get("metrics") or {}),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "parent": checkpoint.get("parent") or config.get("parent"),
        "model_id": model_id,
    }
    fields.update({k: v for k, v in overrides.items() if v is not None})
    return ModelCard(**fields)


# --- files -----------------------------------------------------------------------------------------


def write_model_atomic(
    proto: onnx.ModelProto,
    out_onnx: Path,
    make_card: Callable[[tuple[ParityResult, ...]], ModelCard],
    verify: Callable[[Path], tuple[ParityResult, ...]],
) -> ModelCard:
    """Write ``proto`` to a temp file beside ``out_onnx``, verify it, embed its card, then rename.

    The card is made after the check so that it can record the parity figures; the final file
    appears only complete (graph + card), and the sidecar is written after it. Any failure
    (export check, card, disk) removes the temp file and leaves ``out_onnx`` as it was.
    """
    out_onnx.parent.mkdir(parents=True, exist_ok=True)
    # A real file path, not bytes in memory: onnxruntime (verify) and embed_card work on paths.
    fd, tmp_name = tempfile.mkstemp(dir=out_onnx.parent, prefix=f".{out_onnx.stem}.", suffix=".onnx")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        tmp.write_bytes(proto.SerializeToString())
        card = make_card(verify(tmp))
        embed_card(tmp, card)
        atomic_replace(tmp, out_onnx)
    finally:
        tmp.unlink(missing_ok=True)  # no-op once replaced
    write_card_sidecar(card, out_onnx)
    return card


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


def find_checkpoint(run_dir: PathLike) -> Path:
    """``best.pt`` of a run folder, else ``last.pt``; :class:`CheckpointError` naming both otherwise."""
    run = Path(run_dir)
    if not run.is_dir():
        raise CheckpointError(f"run folder {run} does not exist")
    for name in (BEST, LAST):
        if (run / name).is_file():
            return run / name
    raise CheckpointError(f"run folder {run} has no checkpoint (neither {BEST} nor {LAST})")


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
    from trainer.quantize import quantize_run

    return quantize_run(run, result.onnx_path, emit=emit)
