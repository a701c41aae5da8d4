"""Optional int8 static quantisation of an exported model (``defect-train export --int8``).

onnxruntime's static quantiser in QDQ format: weights int8 per output channel, activations uint8
per tensor, ranges calibrated (min/max) on real training images run through the app's own
pre-processing (:func:`inspector_app.core.predictor.preprocess`, at their native size, so the
ranges are those the app will meet). The graph is first prepared with ``quant_pre_process``
(ONNX shape inference + basic graph optimisation; the symbolic shape pass is skipped because the
exported shapes are expressions such as ``32*(height//32)`` it cannot parse).

The int8 model gets its own card: a new model id (its own content hash), ``extra.quantization``
naming the fp32 model it came from, and ``metrics`` measured on the run's validation split for
*both* models so that the accuracy change is on record (``change_vs_fp32`` = int8 - fp32).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import yaml
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quant_pre_process,
    quantize_static,
)

from inspector_app.core.classes import ClassTable
from inspector_app.core.images import read_image
from inspector_app.core.modelcard import ModelCard, embed_card, read_card, write_card_sidecar
from inspector_app.core.predictor import preprocess
from inspector_app.core.protocol import Exported
from trainer.checkpoint import find_checkpoint, load_checkpoint
from trainer.data.samples import DataError
from trainer.data.split import load_split
from trainer.evaluate import OnnxPredictor, ProgressFn, evaluate_model, select_samples
from trainer.events import EmitFn
from trainer.onnxfile import model_content_id, strip_debug_info, write_model_atomic

PathLike = str | os.PathLike[str]
#: Calibration images taken from the training split (more changes the ranges very little).
DEFAULT_CALIBRATION_IMAGES = 32


class QuantizationError(RuntimeError):
    """Quantisation failed, or the run folder lacks what it needs (data, split)."""


class ImageCalibrationReader(CalibrationDataReader):
    """Feeds onnxruntime's calibrator one preprocessed image at a time (read lazily)."""

    def __init__(self, images: Sequence[Path], card: ModelCard, input_name: str) -> None:
        self.images = list(images)
        self.card = card
        self.input_name = input_name
        self._iter: Iterator[Path] = iter(self.images)

    def get_next(self) -> dict[str, np.ndarray] | None:
        """The next image as ``{input name: (1, C, H, W) float32}``, None at the end."""
        path = next(self._iter, None)
        if path is None:
            return None
        return {self.input_name: preprocess(read_image(path), self.card)}

    def rewind(self) -> None:
        """Start over from the first image."""
        self._iter = iter(self.images)


def pick_calibration(names: Sequence[str], count: int, seed: int = 0) -> list[str]:
    """``count`` names chosen deterministically (hash order), spread over classes by chance."""
    ordered = sorted(names, key=lambda n: hashlib.sha1(f"{seed}:{n}".encode()).hexdigest())
    return ordered[: max(1, count)]


def _output_shapes_match(path: Path, reader: ImageCalibrationReader) -> None:
    """Smoke check of the written int8 graph: it loads and segments one image at the right size."""
    import onnxruntime as ort

    reader.rewind()
    feed = reader.get_next()
    if feed is None:
        raise QuantizationError("no calibration image")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, feed)
    tensor = feed[reader.input_name]
    if out.shape[0] != 1 or out.shape[2:] != tensor.shape[2:]:
        raise QuantizationError(f"int8 graph output {out.shape} does not fit its input {tensor.shape}")


def quantize_model(
    fp32_path: PathLike,
    int8_path: PathLike,
    calibration_images: Sequence[Path],
    *,
    metrics: dict[str, Any] | None = None,
) -> ModelCard:
    """Quantise ``fp32_path`` (an exported model with its card) to ``int8_path`` + card."""
    if not calibration_images:
        raise QuantizationError("int8 calibration needs at least one image")
    source = Path(fp32_path)
    card = read_card(source)
    input_name = onnx.load(str(source), load_external_data=False).graph.input[0].name
    reader = ImageCalibrationReader(calibration_images, card, input_name)
    with tempfile.TemporaryDirectory(prefix="defect-int8-") as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quantized = Path(tmp) / "quantized.onnx"
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(quantized),
            reader,
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )
        proto = onnx.load(str(quantized))
    del proto.metadata_props[:]  # the fp32 card travelled through; the int8 model gets its own
    strip_debug_info(proto)
    quantization = {
        "format": "QDQ",
        "weights": "int8 per channel",
        "activations": "uint8 per tensor",
        "calibration": "minmax",
        "calibration_images": len(calibration_images),
        "source_model_id": card.model_id,
        "source_file": source.name,
    }
    int8_card = card.replace(
        name=f"{card.name} (int8)",
        model_id=model_content_id(proto),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        metrics=dict(metrics or {}),
        extra={**card.extra, "quantization": quantization},
    )
    target = Path(int8_path)
    write_model_atomic(proto, target, lambda _results: int8_card, lambda p: _output_shapes_match(p, reader))
    return int8_card


def int8_path_for(fp32_path: PathLike) -> Path:
    """``model.onnx`` -> ``model.int8.onnx`` (its card: ``model.int8.json``)."""
    path = Path(fp32_path)
    return path.with_name(f"{path.stem}.int8.onnx")


def _difference(new: dict[str, Any], old: dict[str, Any]) -> dict[str, float | None]:
    """``new - old`` for every numeric key of both (None where either is missing/NaN)."""
    out: dict[str, float | None] = {}
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, (int, float)) and isinstance(before, (int, float)):
            out[key] = float(value) - float(before)
        elif key in old:
            out[key] = None
    return out


def compare_on_split(
    fp32_path: PathLike,
    int8_path: PathLike,
    data_dir: PathLike,
    names: Sequence[str],
    *,
    data_table: ClassTable | None,
    label_source: str = "auto",
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Card metrics of the int8 model: its own scores plus the fp32 ones and the change."""
    samples = select_samples(data_dir, names, label_source=label_source)
    results = {}
    for key, path in (("fp32", fp32_path), ("int8", int8_path)):
        results[key] = evaluate_model(OnnxPredictor(path), samples, data_table=data_table, progress=progress)
    int8, fp32 = results["int8"], results["fp32"]
    per_class_iou = {label: v["iou"] for label, v in int8["per_class"].items()}
    fp32_iou = {label: v["iou"] for label, v in fp32["per_class"].items()}
    return {
        **int8["summary"],
        "per_class_iou": per_class_iou,
        "evaluated_on": {"split": "val", "num_images": len(samples)},
        "fp32": {**fp32["summary"], "per_class_iou": fp32_iou},
        "change_vs_fp32": {
            **_difference(int8["summary"], fp32["summary"]),
            "per_class_iou": _difference(per_class_iou, fp32_iou),
        },
    }


def run_config(run_dir: Path) -> dict[str, Any]:
    """The run's resolved ``config.yaml`` (empty when absent)."""
    path = run_dir / "config.yaml"
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return dict(data) if isinstance(data, dict) else {}


def quantize_run(
    run_dir: PathLike,
    fp32_path: PathLike,
    *,
    num_calibration: int = DEFAULT_CALIBRATION_IMAGES,
    emit: EmitFn | None = None,
    progress: ProgressFn | None = None,
) -> Path:
    """Quantise a run's exported ``fp32_path``: calibrate on training images, score both on val.

    The data folder, label source and split come from the run (``config.yaml``/the checkpoint's
    config, ``split.json``); the class table from the checkpoint (what training used).
    Returns the int8 model's path (``<stem>.int8.onnx`` beside the fp32 one).
    """
    run = Path(run_dir)
    checkpoint = load_checkpoint(find_checkpoint(run))
    config = {**dict(checkpoint.get("config") or {}), **run_config(run)}
    data = config.get("data")
    if not data or not Path(data).is_dir():
        raise QuantizationError(f"int8 calibration needs the training data; {run} names {data!r}")
    if not (run / "split.json").is_file():
        raise QuantizationError(
            f"{run / 'split.json'} is missing: cannot tell training from validation images"
        )
    label_source = str(config.get("label_source") or "auto")
    try:
        split = load_split(run / "split.json")
        train = select_samples(
            data, pick_calibration(split.train, num_calibration), label_source=label_source
        )
    except DataError as exc:
        raise QuantizationError(str(exc)) from None
    target = int8_path_for(fp32_path)
    card = quantize_model(fp32_path, target, [s.image for s in train])
    if split.val:
        table = ClassTable.from_dict(checkpoint["class_table"])
        metrics = compare_on_split(
            fp32_path, target, data, split.val, data_table=table, label_source=label_source, progress=progress
        )
        card = card.replace(metrics=metrics)
        embed_card(target, card)
        write_card_sidecar(card, target)
    if emit is not None:
        emit(Exported(path=str(target), card_path=str(target.with_suffix(".json"))))
    return target


__all__ = [
    "DEFAULT_CALIBRATION_IMAGES",
    "ImageCalibrationReader",
    "QuantizationError",
    "compare_on_split",
    "int8_path_for",
    "pick_calibration",
    "quantize_model",
    "quantize_run",
]
