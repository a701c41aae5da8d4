"""Segmentation metrics from one confusion matrix accumulated over a whole evaluation split.

Convention (the same as :mod:`trainer.evaluate`): ``matrix[t, p]`` counts pixels of true class
``t`` predicted as ``p``. Per class, with TP = diagonal, FP = column sum - TP, FN = row sum - TP:

* IoU = TP / (TP + FP + FN), Acc (recall) = TP / (TP + FN), Dice = 2TP / (2TP + FP + FN),
  precision = TP / (TP + FP); NaN where the denominator is 0.
* mIoU, mAcc, mDice, mPrecision = means over **all classes, background included**, NaN skipped.
  This is how the Zhong paper reports them: its five per-class IoUs (98.47, 62.29, 46.10, 94.78,
  66.04) average to its 73.54 mIoU. A class with **no pixel in the ground truth** of the split
  is *absent*: it is marked (``per_class[label]["absent"] = 1.0``, ``summary["classes_absent"]``
  = how many) and left out of every mean, because its score says nothing about how well the class
  is segmented (never predicted: NaN; predicted somewhere: IoU 0 from false positives alone).
  Its own per-class numbers stay in ``per_class`` (false positives of an absent class are real
  errors, visible there and in the other classes' precision).
* ``pixel_acc`` = trace / total.
* Binary (one-logit) models are scored with two classes (background, defect) and also report
  ``binary_iou`` = the IoU of the defect class, the single number A-Net papers give.

Scores are computed over the accumulated matrix of the whole split (not averaged per batch or
per image; the Zhong authors' released metric code reset inside the batch loop and scored only
the last batch). Values are fractions (0..1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn
from torch.utils.data import DataLoader

from trainer import distributed as dist
from trainer.runtime import InputTransform, Precision


class ConfusionMatrix:
    """An ``(n, n)`` int64 confusion matrix updated from batches of predictions on any device."""

    def __init__(self, num_classes: int, device: torch.device | str = "cpu") -> None:
        self.num_classes = num_classes
        self.matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64, device=device)

    def reset(self) -> None:
        """Zero all counts."""
        self.matrix.zero_()

    def update(self, prediction: torch.Tensor, target: torch.Tensor) -> None:
        """Add a batch: ``prediction`` and ``target`` hold class indices of the same shape."""
        if prediction.shape != target.shape:
            raise ValueError(f"prediction {tuple(prediction.shape)} and target {tuple(target.shape)} differ")
        n = self.num_classes
        index = target.reshape(-1).long() * n + prediction.reshape(-1).long()
        self.matrix += torch.bincount(index, minlength=n * n).reshape(n, n)

    def all_reduce(self) -> None:
        """Sum the matrices of all processes (torchrun); no-op in a single process."""
        dist.all_reduce_sum(self.matrix)

    def numpy(self) -> npt.NDArray[np.int64]:
        """The counts as a numpy array."""
        return self.matrix.detach().cpu().numpy().astype(np.int64)


def predictions(logits: torch.Tensor) -> torch.Tensor:
    """Class indices (B, H, W) from logits (B, C, H, W): argmax, or ``logit > 0`` (p > 0.5) for one logit.

    uint8 up to 32 classes (int64 beyond), which :class:`ConfusionMatrix` accepts either way.
    """
    if logits.shape[1] == 1:
        return (logits[:, 0] > 0).to(torch.uint8)
    if logits.shape[1] > 32:
        return logits.argmax(dim=1)
    # argmax over dim 1 of an NCHW tensor takes a slow strided path on CPU (~5x slower at 5 classes
    # and 480x640); a running maximum over the few channels gives the same answer (first maximum
    # wins on ties, as in argmax) with contiguous elementwise ops.
    best = logits[:, 0].clone()
    index = torch.zeros(best.shape, dtype=torch.uint8, device=logits.device)
    for c in range(1, logits.shape[1]):
        channel = logits[:, c]
        index.masked_fill_(channel > best, c)
        torch.maximum(best, channel, out=best)
    return index


def _nanmean(values: npt.NDArray[np.float64]) -> float:
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else float("nan")


def per_class_scores(matrix: npt.NDArray[np.int64]) -> dict[str, npt.NDArray[np.float64]]:
    """IoU, Acc, Dice and precision per class (NaN where undefined), plus pixel counts."""
    cm = np.asarray(matrix, dtype=np.float64)
    tp = np.diag(cm)
    truth = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "iou": tp / (truth + predicted - tp),
            "acc": tp / truth,
            "dice": 2.0 * tp / (truth + predicted),
            "precision": tp / predicted,
            "gt_pixels": truth,
            "pred_pixels": predicted,
        }


def summarize(
    matrix: npt.NDArray[np.int64], labels: Sequence[str], *, binary: bool = False
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """``(summary, per_class)`` of a confusion matrix; see the module docstring for definitions."""
    scores = per_class_scores(matrix)
    if len(labels) != len(scores["iou"]):
        raise ValueError(f"{len(labels)} labels for a {len(scores['iou'])}-class confusion matrix")
    total = float(np.asarray(matrix).sum())
    present = scores["gt_pixels"] > 0

    def mean(values: npt.NDArray[np.float64]) -> float:
        return _nanmean(values[present]) if present.any() else float("nan")

    summary = {
        "miou": mean(scores["iou"]),
        "macc": mean(scores["acc"]),
        "mdice": mean(scores["dice"]),
        "mprecision": mean(scores["precision"]),
        "pixel_acc": float(np.trace(matrix) / total) if total else float("nan"),
        "classes_absent": float((~present).sum()),
    }
    if binary:
        summary["binary_iou"] = float(scores["iou"][1])
    per_class = {
        label: {
            key: (int(values[i]) if key.endswith("pixels") else float(values[i]))
            for key, values in scores.items()
        }
        | ({"absent": 1.0} if not present[i] else {})
        for i, label in enumerate(labels)
    }
    return summary, per_class


def absent_classes(per_class: dict[str, dict[str, float]]) -> list[str]:
    """Labels marked absent by :func:`summarize` (no ground-truth pixel in the split)."""
    return [label for label, m in per_class.items() if m.get("absent")]


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: DataLoader[Any],
    transform: InputTransform,
    precision: Precision,
    *,
    num_classes: int,
    loss_fn: nn.Module | None = None,
) -> tuple[np.ndarray, float]:
    """Confusion matrix over every batch of ``loader`` (summed over ranks) and the mean loss.

    ``num_classes`` is the number of *scored* classes (2 for a one-logit model). Targets of a
    one-logit model are ``mask > 0``.
    """
    was_training = model.training
    model.eval()
    device = transform.device
    matrix = ConfusionMatrix(num_classes, device)
    loss_sum = torch.zeros(2, dtype=torch.float64, device=device)
    for images, masks in loader:
        x = transform(images)
        target = masks.to(device, non_blocking=True)
        with precision.autocast(device):
            logits = model(x)
        logits = logits.float()
        if logits.shape[1] == 1:
            target = (target > 0).to(torch.uint8)
        matrix.update(predictions(logits), target)
        if loss_fn is not None:
            loss_sum[0] += float(loss_fn(logits, target)) * len(images)
            loss_sum[1] += len(images)
    matrix.all_reduce()
    dist.all_reduce_sum(loss_sum)
    model.train(was_training)
    mean_loss = float(loss_sum[0] / loss_sum[1]) if loss_sum[1] > 0 else float("nan")
    return matrix.numpy(), mean_loss
