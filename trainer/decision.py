"""Choosing and scoring a model's image-level decision rule (threshold + minimum region area).

A segmentation model flags a part NG when its mask has a defect region of at least
``min_area_px`` pixels at probability threshold ``threshold``
(:class:`inspector_app.core.decision.DecisionRule`). Both are chosen here on a *validation* set
of defective and defect-free images, never on the test split:

1. :func:`score_images` runs the model once per image (through the station's own predictor or a
   checkpoint's :class:`~trainer.evaluate.TorchPredictor` path) and keeps, for every threshold of
   a grid, the area of the largest predicted region and the pixel counts (TP/FP/FN) needed for
   the binary IoU at that threshold;
2. :func:`choose_rule` picks the rule that misses the fewest defective images while flagging at
   most ``max_false_alarm`` of the defect-free ones (ties: fewer false alarms, then a threshold
   nearer 0.5, then the smaller area);
3. :func:`rule_report` scores any set of images at a rule: binary IoU, detection rate per defect
   class (the dominant class of the ground truth), false-alarm rate, and the missed images.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from inspector_app.core.classes import ClassTable
from inspector_app.core.decision import DecisionRule, largest_regions
from inspector_app.core.images import read_image
from trainer.data.samples import Sample
from trainer.evaluate import ground_truth

#: Probability thresholds tried.
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
#: Minimum region areas tried (pixels at the image's own size): roughly geometric.
AREAS: tuple[int, ...] = (
    1,
    2,
    4,
    8,
    12,
    16,
    24,
    32,
    48,
    64,
    96,
    128,
    192,
    256,
    384,
    512,
    768,
    1024,
    1536,
    2048,
)
AREAS += (3072, 4096, 6144)

ProgressFn = Callable[[int, int, str], None]


@dataclass(frozen=True)
class ImageScore:
    """One image under every threshold of the grid."""

    stem: str
    #: dominant defect class of the ground truth (0: no defect pixel)
    defect_class: int
    #: largest predicted region per threshold (0: nothing predicted)
    largest: tuple[int, ...]
    #: per threshold: (true positive, false positive, false negative) defect pixels
    pixels: tuple[tuple[int, int, int], ...]
    #: milliseconds of the prediction (pre-processing, network, post-processing)
    elapsed_ms: float = 0.0


def defect_probability(model: Any, image: np.ndarray) -> np.ndarray:
    """HxW defect probability of ``image``: an ONNX :class:`~trainer.evaluate.OnnxPredictor`'s
    predictor, or a :class:`~trainer.evaluate.TorchPredictor` (both with the app's pre/post-processing)."""
    predictor = getattr(model, "predictor", None)
    if predictor is not None:
        probs = predictor.predict(image, probabilities=True).probabilities
    else:
        import torch

        from inspector_app.core.predictor import postprocess, preprocess

        tensor = preprocess(image, model.card)
        with torch.inference_mode():
            logits = model.model(torch.from_numpy(tensor)).numpy()
        probs = postprocess(logits, model.card, image.shape[:2], tensor.shape[2:], probabilities=True)[1]
    assert probs is not None
    return np.asarray(1.0 - probs[0], dtype=np.float32)  # any defect class


def score_images(
    model: Any,
    samples: Sequence[Sample],
    table: ClassTable,
    *,
    thresholds: Sequence[float] = THRESHOLDS,
    progress: ProgressFn | None = None,
) -> list[ImageScore]:
    """Run ``model`` (see :func:`defect_probability`) on every sample; ground truth by ``table``."""
    out: list[ImageScore] = []
    start = time.perf_counter()
    for i, sample in enumerate(samples, start=1):
        image = read_image(sample.image)
        classes = ground_truth(sample, image.shape[:2], table)
        truth = classes > 0
        counts = np.bincount(classes.ravel(), minlength=table.num_classes)
        dominant = int(np.argmax(counts[1:]) + 1) if counts[1:].sum() else 0
        begin = time.perf_counter()
        p = defect_probability(model, image)
        elapsed = (time.perf_counter() - begin) * 1000.0
        pixels = []
        for t in thresholds:
            pred = p > t
            tp = int(np.count_nonzero(pred & truth))
            pixels.append((tp, int(np.count_nonzero(pred)) - tp, int(np.count_nonzero(truth)) - tp))
        largest = tuple(int(v) for v in largest_regions(p, thresholds))
        out.append(ImageScore(sample.stem, dominant, largest, tuple(pixels), elapsed))
        if progress is not None:
            progress(i, len(samples), f"{sample.stem} ({time.perf_counter() - start:.0f} s)")
    return out


def _rates(scores: Sequence[ImageScore], ti: int, area: int) -> tuple[float, float, int, int]:
    defective = [s for s in scores if s.defect_class]
    free = [s for s in scores if not s.defect_class]
    missed = sum(1 for s in defective if s.largest[ti] < area)
    alarms = sum(1 for s in free if s.largest[ti] >= area)
    return (
        missed / len(defective) if defective else 0.0,
        alarms / len(free) if free else 0.0,
        missed,
        alarms,
    )


def choose_rule(
    scores: Sequence[ImageScore],
    *,
    thresholds: Sequence[float] = THRESHOLDS,
    areas: Sequence[int] = AREAS,
    max_false_alarm: float = 0.05,
) -> DecisionRule:
    """The rule missing the fewest defective images with at most ``max_false_alarm`` false alarms.

    When no rule of the grid keeps false alarms that low, the one with the fewest false alarms
    is returned (the caller reports the rates it achieves).
    """
    best: tuple[Any, ...] | None = None
    for ti, t in enumerate(thresholds):
        for a in areas:
            miss, fa, _, _ = _rates(scores, ti, a)
            key = (fa > max_false_alarm, fa if fa > max_false_alarm else 0.0, miss, fa, abs(t - 0.5), a)
            if best is None or key < best[0]:
                best = (key, t, a)
    assert best is not None
    return DecisionRule(float(best[1]), int(best[2]))


def rule_report(
    scores: Sequence[ImageScore],
    rule: DecisionRule,
    table: ClassTable,
    thresholds: Sequence[float] = THRESHOLDS,
) -> dict[str, Any]:
    """Binary IoU, per-class detection, false alarms and missed images of ``scores`` at ``rule``."""
    ti = min(range(len(thresholds)), key=lambda i: abs(thresholds[i] - rule.threshold))
    tp = sum(s.pixels[ti][0] for s in scores)
    fp = sum(s.pixels[ti][1] for s in scores)
    fn = sum(s.pixels[ti][2] for s in scores)
    defective = [s for s in scores if s.defect_class]
    free = [s for s in scores if not s.defect_class]
    per_class: dict[str, dict[str, Any]] = {}
    for c in sorted({s.defect_class for s in defective}):
        members = [s for s in defective if s.defect_class == c]
        found = sum(1 for s in members if s.largest[ti] >= rule.min_area_px)
        per_class[table.labels[c]] = {"images": len(members), "detected": found, "rate": found / len(members)}
    miss, fa, missed, alarms = _rates(scores, ti, rule.min_area_px)
    by_threshold = {}
    for i, t in enumerate(thresholds):
        a, b, c = (sum(s.pixels[i][k] for s in scores) for k in range(3))
        by_threshold[str(t)] = a / (a + b + c) if a + b + c else float("nan")
    return {
        "rule": rule.to_dict(),
        "binary_iou": tp / (tp + fp + fn) if tp + fp + fn else float("nan"),
        "binary_iou_by_threshold": by_threshold,
        "defective_images": len(defective),
        "missed": missed,
        "miss_rate": miss,
        "missed_images": [s.stem for s in defective if s.largest[ti] < rule.min_area_px],
        "free_images": len(free),
        "false_alarms": alarms,
        "false_alarm_rate": fa,
        "per_class": per_class,
        "median_ms": float(np.median([s.elapsed_ms for s in scores])) if scores else float("nan"),
    }
