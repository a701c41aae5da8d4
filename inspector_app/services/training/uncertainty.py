"""How unsure the current model is about an image: the "annotate next" ordering.

The score is computed from the per-class probabilities the predictor returns
(``Predictor.predict(image, probabilities=True).probabilities``, float32 C x H x W) - or from
logits through :func:`softmax` - over the image's *defect region*: the pixels where the model
gives a defect class at least ``min_defect`` probability (the predicted defects and the near
misses). Confident background says nothing about what to annotate, and averaging it in would
rank every image near zero.

* ``entropy``: mean normalised entropy (0 = certain, 1 = uniform over all classes);
* ``margin``: mean of 1 - (top probability - second probability).

An image without any defect region scores 0 (confidently clean). Higher = annotate sooner.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal

import numpy as np
import numpy.typing as npt

Method = Literal["entropy", "margin"]


def softmax(logits: npt.NDArray[np.floating], axis: int = 0) -> npt.NDArray[np.float32]:
    """Numerically stable softmax over the class axis."""
    shifted = np.asarray(logits, np.float32) - np.max(logits, axis=axis, keepdims=True)
    exp = np.exp(shifted)
    return (exp / exp.sum(axis=axis, keepdims=True)).astype(np.float32)


def uncertainty_score(
    probabilities: npt.NDArray[np.floating], method: Method = "entropy", min_defect: float = 0.2
) -> float:
    """The image's uncertainty (see the module docstring); ``probabilities`` is C x H x W.

    A one-channel map is a sigmoid model's defect probability (background = 1 - p).
    """
    p = np.asarray(probabilities, np.float32)
    if p.ndim != 3:
        raise ValueError(f"expected C x H x W probabilities, got shape {p.shape}")
    if p.shape[0] == 1:
        p = np.concatenate([1.0 - p, p], axis=0)
    region = (1.0 - p[0]) >= min_defect
    if not region.any():
        return 0.0
    q = np.clip(p[:, region], 1e-7, 1.0)  # C x N
    if method == "entropy":
        entropy = -(q * np.log(q)).sum(axis=0) / np.log(q.shape[0])
        return float(entropy.mean())
    if method == "margin":
        top2 = np.sort(q, axis=0)[-2:]
        return float((1.0 - (top2[1] - top2[0])).mean())
    raise ValueError(f"unknown method {method!r} (entropy or margin)")


def rank_for_annotation(
    names: Iterable[str],
    probabilities_of: Callable[[str], npt.NDArray[np.floating]],
    method: Method = "entropy",
    *,
    progress: Callable[[int, str], None] | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> list[tuple[str, float]]:
    """``(name, score)`` most uncertain first (ties by name), for the images scored before a cancel.

    ``probabilities_of(name)`` runs the model (the GUI passes its predictor); ``progress(done,
    name)`` is called after each image.
    """
    scores: list[tuple[str, float]] = []
    for done, name in enumerate(names, start=1):
        if cancelled():
            break
        scores.append((name, uncertainty_score(probabilities_of(name), method)))
        if progress is not None:
            progress(done, name)
    return sorted(scores, key=lambda item: (-item[1], item[0]))
