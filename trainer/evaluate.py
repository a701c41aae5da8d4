"""Evaluate a model (ONNX or trainer checkpoint) on a whole split, at each image's native size.

* ``.onnx``: predictions come from :class:`inspector_app.core.predictor.Predictor`, i.e. exactly
  the masks the app shows (same padding, normalisation, argmax/threshold).
* ``.pt``: the checkpoint's network runs in PyTorch behind :class:`TorchPredictor`, between the
  same public ``preprocess``/``postprocess`` functions of ``core.predictor`` the app uses.

Samples and ground truth follow :mod:`trainer.data.samples` (a mask PNG when there is one, else
the LabelMe JSON rasterised with the data's class table), so evaluation scores against the same
targets as training, but at each image's native size (no resize, no crop).

Metrics (:func:`trainer.metrics.summarize`, the training loop's definitions) come from one
confusion matrix summed over every pixel of every image of the split (not a mean of per-image
scores, and not the last batch only: the Zhong authors' released metric code resets inside the
batch loop). A one-logit (sigmoid) model is scored as defect vs background
(``ground truth > 0``) and also reports ``binary_iou`` (the IoU of the defect class).

Optionally a *free list* of defect-free images (e.g. ``magnetic_tile/free.txt``) is run too: the
result is the share of those images with at least one false-positive pixel.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from inspector_app.core.annotations import atomic_write_bytes, load_document
from inspector_app.core.classes import ClassTable
from inspector_app.core.images import is_image_file, read_image
from inspector_app.core.masks import UnknownLabelError, rasterize
from inspector_app.core.modelcard import ModelCard
from inspector_app.core.predictor import postprocess, preprocess
from trainer.data.samples import DataError, Sample, find_class_table, find_samples, image_dir, shorten
from trainer.data.split import VAL_FILES
from trainer.metrics import summarize

PathLike = str | os.PathLike[str]
ProgressFn = Callable[[int, int, str], None]


class EvaluationError(ValueError):
    """Bad input for an evaluation (missing files, class tables that do not match)."""


# --- samples -------------------------------------------------------------------------------------


def read_name_list(path: PathLike, *, key: str | None = None) -> list[str]:
    """Image names (stems) from a split file.

    ``.json`` (a run folder's ``split.json``): the list under ``key`` (default ``val``, else
    ``test``); entries may be names or paths, only their stem is used. Anything else: one name per
    line (blank lines and ``#`` comments skipped), as ``test.txt``/``free.txt`` of the datasets.
    """
    path = Path(path)
    if not path.is_file():
        raise EvaluationError(f"split file {path} does not exist")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise EvaluationError(f"{path} is not valid JSON ({exc})") from None
        keys = [key] if key else ["val", "test"]
        for k in keys:
            if isinstance(data, dict) and isinstance(data.get(k), list):
                return [Path(str(v)).stem for v in data[k]]
        raise EvaluationError(f"{path} has no list under {' or '.join(repr(k) for k in keys)}")
    names = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(Path(line).stem)
    return names


def select_samples(
    data_dir: PathLike, names: Sequence[str] | None = None, *, label_source: str = "auto"
) -> list[Sample]:
    """The annotated samples of a data folder (trainer.data rules), in ``names`` order if given."""
    samples = {s.stem: s for s in find_samples(data_dir, label_source)}
    if names is None:
        return [samples[k] for k in sorted(samples)]
    missing = [n for n in names if n not in samples]
    if missing:
        raise EvaluationError(
            f"{len(missing)} listed image(s) are missing from {data_dir} or have no mask/annotation: "
            f"{shorten(missing)}"
        )
    return [samples[n] for n in names]


def free_samples(data_dir: PathLike, names: Sequence[str]) -> list[Sample]:
    """Samples for defect-free images (annotations are not needed: the truth is all background)."""
    folder = image_dir(Path(data_dir))
    images = {p.stem: p for p in sorted(folder.iterdir()) if p.is_file() and is_image_file(p)}
    missing = [n for n in names if n not in images]
    if missing:
        raise EvaluationError(
            f"{len(missing)} image(s) of the free list are not in {folder}: {shorten(missing)}"
        )
    return [Sample(n, images[n]) for n in names]


def ground_truth(sample: Sample, shape: tuple[int, int], table: ClassTable) -> np.ndarray:
    """uint8 HxW class mask of ``sample`` in ``table``'s indices (mask PNG, else LabelMe JSON, else 0)."""
    if sample.mask is not None:
        mask = read_image(sample.mask)
        if mask.ndim != 2:
            raise EvaluationError(f"mask {sample.mask} is not single-channel")
        if mask.shape != shape:
            raise EvaluationError(f"mask {sample.mask} is {mask.shape}, its image {shape}")
        return mask.astype(np.uint8, copy=False)
    if sample.annotation is not None:
        try:
            return rasterize(load_document(sample.annotation), table, shape)
        except UnknownLabelError as exc:
            raise EvaluationError(
                f"{sample.annotation}: label(s) {', '.join(exc.labels)} are not in the class table"
            ) from None
    return np.zeros(shape, np.uint8)


# --- class mapping -------------------------------------------------------------------------------


def label_mapping(model_table: ClassTable, data_table: ClassTable | None, binary: bool) -> np.ndarray | None:
    """Look-up table data index -> model index (uint8, 256 entries), None for the identity.

    A binary model (one logit, or two classes against a wider data table) scores defect vs
    background: every non-zero data index maps to 1. Otherwise classes are matched by label.
    """
    if binary:
        lut = np.ones(256, np.uint8)
        lut[0] = 0
        return lut
    if data_table is None or data_table.labels == model_table.labels:
        return None
    unknown = [c.label for c in data_table if c.index != 0 and c.label not in model_table.labels]
    if unknown:
        raise EvaluationError(
            f"the data has classes the model does not know: {', '.join(unknown)} "
            f"(model classes: {', '.join(model_table.labels)})"
        )
    lut = np.zeros(256, np.uint8)
    for info in data_table:
        lut[info.index] = model_table.index_of(info.label)
    return lut


def is_binary(card: ModelCard, data_table: ClassTable | None) -> bool:
    """Whether ``card``'s model is scored as defect vs background on data with ``data_table``."""
    if card.output == "sigmoid":
        return True
    return card.num_classes == 2 and data_table is not None and data_table.num_classes > 2


# --- torch path ----------------------------------------------------------------------------------


class Segmenter(Protocol):
    """What an evaluation needs from a model."""

    card: ModelCard
    model_id: str

    def segment(self, image: np.ndarray) -> np.ndarray:
        """uint8 HxW class mask of ``image``."""
        ...


class TorchPredictor:
    """A trainer checkpoint run in PyTorch with the app's pre/post-processing."""

    def __init__(self, checkpoint_path: PathLike) -> None:
        import torch

        # lazy: scoring an ONNX model must not import torch
        from trainer.card import card_for_checkpoint
        from trainer.checkpoint import load_checkpoint, model_from_checkpoint

        self._torch = torch
        checkpoint = load_checkpoint(checkpoint_path)
        self.model = model_from_checkpoint(checkpoint)
        self.model_id = f"checkpoint:{Path(checkpoint_path).name}"
        self.card = card_for_checkpoint(checkpoint, model_id=self.model_id)

    def segment(self, image: np.ndarray) -> np.ndarray:
        """uint8 HxW class mask of ``image``."""
        tensor = preprocess(image, self.card)
        with self._torch.inference_mode():
            logits = self.model(self._torch.from_numpy(tensor)).numpy()
        mask, _ = postprocess(logits, self.card, image.shape[:2], tensor.shape[2:])
        return mask


class OnnxPredictor:
    """:class:`inspector_app.core.predictor.Predictor` behind the :class:`Segmenter` interface."""

    def __init__(self, path: PathLike, *, threads: int | None = None) -> None:
        from inspector_app.core.predictor import Predictor

        self.predictor = Predictor(path, threads=threads, providers=["CPUExecutionProvider"])
        self.card = self.predictor.card
        self.model_id = self.predictor.model_id

    def segment(self, image: np.ndarray) -> np.ndarray:
        """uint8 HxW class mask of ``image``."""
        return self.predictor.predict(image).mask


def open_model(path: PathLike, *, threads: int | None = None) -> Segmenter:
    """An ONNX model (``.onnx``) or a trainer checkpoint (``.pt``/``.pth``) ready to segment."""
    path = Path(path)
    if not path.is_file():
        raise EvaluationError(f"model {path} does not exist")
    if path.suffix.lower() == ".onnx":
        return OnnxPredictor(path, threads=threads)
    if path.suffix.lower() in (".pt", ".pth"):
        return TorchPredictor(path)
    raise EvaluationError(f"model {path}: expected an .onnx file or a .pt checkpoint")


# --- evaluation ----------------------------------------------------------------------------------


def accumulate(confusion: np.ndarray, truth: np.ndarray, prediction: np.ndarray) -> None:
    """Add one image to ``confusion`` (rows = ground truth, columns = prediction), in place."""
    n = confusion.shape[0]
    if truth.shape != prediction.shape:
        raise EvaluationError(f"ground truth {truth.shape} and prediction {prediction.shape} differ in size")
    if int(truth.max(initial=0)) >= n or int(prediction.max(initial=0)) >= n:
        raise EvaluationError(f"class index outside 0..{n - 1} (ground truth max {truth.max()})")
    index = truth.astype(np.int64).ravel() * n + prediction.ravel()
    confusion += np.bincount(index, minlength=n * n).reshape(n, n)


def stderr_progress(every: int = 10) -> ProgressFn:
    """A progress callback printing ``evaluate: done/total name`` on stderr every ``every`` images."""

    def report(done: int, total: int, name: str) -> None:
        if done == total or done % every == 0:
            print(f"evaluate: {done}/{total} {name}", file=sys.stderr, flush=True)

    return report


def _clean(value: Any) -> Any:
    """NaN/inf -> None so that the JSON output is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def input_size_used(card: ModelCard) -> str:
    """What size the network really saw: the card's fixed ``HxW`` (each image resized to it and
    the prediction resized back), else each image's native size padded to the size multiple."""
    if card.input_size is not None:
        return f"{card.input_size[0]}x{card.input_size[1]} (every image resized to it)"
    return f"native (each image padded to multiples of {card.size_multiple})"


def evaluate_model(
    model: Segmenter,
    samples: Iterable[Sample],
    *,
    data_table: ClassTable | None = None,
    free: Sequence[Sample] = (),
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Score ``model`` on ``samples`` (and count false positives on the ``free`` images).

    Returns a JSON-ready dict: ``summary`` (miou, macc, mdice, pixel_acc, binary_iou for binary
    scoring), ``per_class`` by label (iou, acc, dice, precision, gt/pred pixel counts),
    ``confusion`` (rows = truth), ``free`` (counts) and bookkeeping. NaN (a class absent from both
    truth and prediction) is written as null.
    """
    card = model.card
    binary = is_binary(card, data_table)
    table = card.class_table
    lut = label_mapping(table, data_table, binary)
    n = table.num_classes
    confusion = np.zeros((n, n), np.int64)
    items = list(samples)
    total = len(items) + len(free)
    start = time.perf_counter()
    for i, sample in enumerate(items, start=1):
        image = read_image(sample.image)
        # without a data class table, LabelMe labels are rasterised with the model's own table
        truth = ground_truth(sample, image.shape[:2], data_table or table)
        if lut is not None:
            truth = lut[truth]
        accumulate(confusion, truth, model.segment(image))
        if progress is not None:
            progress(i, total, sample.stem)
    with_fp = []
    for j, sample in enumerate(free, start=len(items) + 1):
        image = read_image(sample.image)
        if np.any(model.segment(image)):
            with_fp.append(sample.stem)
        if progress is not None:
            progress(j, total, sample.stem)
    summary, per_class = summarize(confusion, table.labels, binary=binary)
    result: dict[str, Any] = {
        "model_id": model.model_id,
        "architecture": card.architecture,
        "classes": list(table.labels),
        "scoring": "binary" if binary else "multiclass",
        "num_images": len(items),
        "summary": summary,
        "per_class": per_class,
        "confusion": confusion.tolist(),
        "elapsed_s": round(time.perf_counter() - start, 3),
        "input_size": input_size_used(card),
    }
    if free:
        result["free"] = {
            "num_images": len(free),
            "with_false_positives": len(with_fp),
            "share_with_false_positives": len(with_fp) / len(free),
            "images_with_false_positives": with_fp,
        }
    return _clean(result)


def evaluate(
    model_path: PathLike,
    data_dir: PathLike,
    *,
    split: PathLike | None = None,
    free_list: PathLike | None = None,
    classes: PathLike | None = None,
    label_source: str = "auto",
    threads: int | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Evaluate the model file on ``data_dir``; see :func:`evaluate_model` for the result.

    ``split``: a name list (``test.txt``) or a run's ``split.json`` (its ``val`` list); without it
    the data folder's ``test.txt`` (or ``val.txt``) when there is one, else every annotated image.
    ``free_list``: names of defect-free images of the same folder. ``classes``: the data's class
    table file when it is not ``classes.yaml``/``classes.txt`` in the data folder;
    ``label_source`` as in training (``auto``, ``masks`` or ``json``).
    """
    data = Path(data_dir)
    if split is None:
        split = next((data / n for n in VAL_FILES if (data / n).is_file()), None)
    names = read_name_list(split) if split is not None else None
    try:
        samples = select_samples(data, names, label_source=label_source)
        data_table, _ = find_class_table(data, os.fspath(classes) if classes is not None else None)
    except DataError as exc:
        raise EvaluationError(str(exc)) from None
    if not samples:
        raise EvaluationError(f"no images to evaluate in {data}")
    free = free_samples(data, read_name_list(free_list)) if free_list is not None else []
    model = open_model(model_path, threads=threads)
    result = evaluate_model(model, samples, data_table=data_table, free=free, progress=progress)
    result.update(
        {
            "model": str(model_path),
            "data": str(data),
            "split": str(split) if split is not None else None,
            "free_list": str(free_list) if free_list is not None else None,
        }
    )
    return result


def write_json(result: dict[str, Any], path: PathLike) -> None:
    """Write an evaluation result as indented strict JSON, atomically."""
    text = json.dumps(_clean(result), indent=2, ensure_ascii=False, allow_nan=False)
    atomic_write_bytes(path, (text + "\n").encode("utf-8"))
