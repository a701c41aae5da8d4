"""Candidate vs current model on the same validation images: per-class IoU and disagreement.

Qt-free and torch-free: the models are anything with ``predict(image) -> mask`` - the station
passes :class:`inspector_app.core.predictor.Predictor` objects (onnxruntime), so the comparison
scores exactly what the station shows. Ground truth is each image's LabelMe JSON rasterised with
the candidate's class table (the training table, a superset of the current model's when the
candidate was fine-tuned with ``--head extend``); the current model's class indices are mapped to
it by label. IoU follows the trainer's convention (one confusion matrix over all images; a class
with no ground-truth pixel is marked absent and left out of the mean). Images are listed by
disagreement: the share of pixels where the two models predict different classes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from inspector_app.core.annotations import load_document
from inspector_app.core.classes import ClassTable
from inspector_app.core.images import read_image
from inspector_app.core.masks import rasterize


class _Result(Protocol):
    @property
    def mask(self) -> np.ndarray:
        """uint8 HxW class indices."""
        ...


class Segmenter(Protocol):
    """What the comparison needs from a model (a ``Predictor`` fits)."""

    def predict(self, image: np.ndarray) -> _Result:
        """The prediction of ``image``."""
        ...


@dataclass(frozen=True)
class ImageComparison:
    """One image: how much the models disagree and each one's foreground IoU against the truth."""

    name: str
    disagreement: float
    defect_iou_current: float
    defect_iou_candidate: float


@dataclass(frozen=True)
class ModelComparison:
    """Per-class IoU of both models (None: absent from these images) and the per-image list."""

    labels: tuple[str, ...]
    iou_current: dict[str, float | None]
    iou_candidate: dict[str, float | None]
    miou_current: float
    miou_candidate: float
    images: tuple[ImageComparison, ...]


def _lut(source: ClassTable, target: ClassTable) -> npt.NDArray[np.uint8]:
    """Class index of ``source`` -> index of the same label in ``target`` (unknown -> 0)."""
    lut = np.zeros(256, np.uint8)
    for info in source:
        if info.label in target.labels:
            lut[info.index] = target.index_of(info.label)
    return lut


def _iou(matrix: npt.NDArray[np.int64], labels: Sequence[str]) -> tuple[dict[str, float | None], float]:
    tp = np.diag(matrix).astype(np.float64)
    truth, predicted = matrix.sum(axis=1), matrix.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = tp / (truth + predicted - tp)
    out: dict[str, float | None] = {}
    for i, label in enumerate(labels):
        out[label] = float(iou[i]) if truth[i] > 0 else None
    present = [v for v in out.values() if v is not None and not math.isnan(v)]
    return out, (float(np.mean(present)) if present else math.nan)


def _defect_iou(truth: npt.NDArray[np.uint8], mask: npt.NDArray[np.uint8]) -> float:
    a, b = truth > 0, mask > 0
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def compare_models(
    root: str | Path,
    names: Sequence[str],
    current: Segmenter,
    current_table: ClassTable,
    candidate: Segmenter,
    candidate_table: ClassTable,
    *,
    progress: Callable[[int, str], None] | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> ModelComparison:
    """Score both models on ``names`` (images of ``root`` with ``<stem>.json`` beside them)."""
    root = Path(root)
    n = candidate_table.num_classes
    lut = _lut(current_table, candidate_table)
    matrices = {"current": np.zeros((n, n), np.int64), "candidate": np.zeros((n, n), np.int64)}
    rows: list[ImageComparison] = []
    for done, name in enumerate(names, start=1):
        if cancelled():
            break
        image = read_image(root / name)
        truth = rasterize(load_document((root / name).with_suffix(".json")), candidate_table, image.shape)
        masks = {
            "current": lut[np.asarray(current.predict(image).mask)],
            "candidate": np.asarray(candidate.predict(image).mask),
        }
        for key, mask in masks.items():
            index = truth.astype(np.int64).ravel() * n + mask.astype(np.int64).ravel()
            matrices[key] += np.bincount(index, minlength=n * n).reshape(n, n)
        rows.append(
            ImageComparison(
                name,
                float(np.mean(masks["current"] != masks["candidate"])),
                _defect_iou(truth, masks["current"]),
                _defect_iou(truth, masks["candidate"]),
            )
        )
        if progress is not None:
            progress(done, name)
    labels = candidate_table.labels
    iou_current, miou_current = _iou(matrices["current"], labels)
    iou_candidate, miou_candidate = _iou(matrices["candidate"], labels)
    for label in labels:  # a class the current model does not have cannot score for it
        if label not in current_table.labels and iou_current.get(label) is not None:
            iou_current[label] = 0.0
    rows.sort(key=lambda r: (-r.disagreement, r.name))
    return ModelComparison(labels, iou_current, iou_candidate, miou_current, miou_candidate, tuple(rows))
