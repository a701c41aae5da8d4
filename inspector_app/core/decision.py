"""Image-level decision of a segmentation model: when does a predicted mask make a part NG?

A pixel mask alone flags a good part for a single speck. A model's :class:`DecisionRule` - a
probability threshold for defect pixels and the smallest defect region (8-connected, in pixels of
the image at its own size) that counts - is chosen on the model's validation split (trainer side,
:mod:`trainer.decision`) and stored in the model card as ``decision``. The station and the batch
run call :func:`suggest_verdict` with the mask the predictor made at ``rule.threshold``; live
verdict rules start from the same figures. Cards without a rule get :meth:`DecisionRule.default`
(the card's threshold, any defect pixel is NG: the behaviour before rules existed).

Qt-free and torch-free.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

#: Verdicts, as in the review log.
OK, NG = "OK", "NG"


@dataclass(frozen=True)
class DecisionRule:
    """Defect pixels are ``p > threshold``; an image is NG when a region has >= ``min_area_px`` pixels."""

    threshold: float = 0.5
    min_area_px: int = 1

    def __post_init__(self) -> None:
        if not 0.0 < float(self.threshold) < 1.0:
            raise ValueError(f"decision threshold must be between 0 and 1, got {self.threshold!r}")
        if (
            isinstance(self.min_area_px, bool)
            or int(self.min_area_px) != self.min_area_px
            or self.min_area_px < 1
        ):
            raise ValueError(f"decision min_area_px must be an integer >= 1, got {self.min_area_px!r}")
        object.__setattr__(self, "threshold", float(self.threshold))
        object.__setattr__(self, "min_area_px", int(self.min_area_px))

    @classmethod
    def default(cls, threshold: float = 0.5) -> DecisionRule:
        """The rule of a card without one: its pixel threshold, any defect pixel makes NG."""
        return cls(threshold, 1)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DecisionRule:
        """From the card's ``decision`` object; ValueError when a value is bad."""
        if not isinstance(data, Mapping):
            raise ValueError(f"decision must be an object, got {type(data).__name__}")
        try:
            return cls(float(data.get("threshold", 0.5)), data.get("min_area_px", 1))
        except TypeError as exc:
            raise ValueError(f"bad decision rule {dict(data)!r}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """The card's ``decision`` object."""
        return {"threshold": self.threshold, "min_area_px": self.min_area_px}


@dataclass(frozen=True)
class Suggestion:
    """What a rule says about one mask: the verdict, the largest region and how many count."""

    verdict: str
    largest_region_px: int
    regions_over_min: int


def region_areas(mask: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Pixel areas of the 8-connected regions of the non-zero pixels of ``mask`` (any class)."""
    binary = (np.asarray(mask) != 0).astype(np.uint8)
    if not binary.any():
        return np.zeros(0, dtype=np.int64)
    count, _labels, stats, _centroids = cv2.connectedComponentsWithStats(binary, connectivity=8)
    return stats[1:count, cv2.CC_STAT_AREA].astype(np.int64)


def suggest_verdict(mask: npt.ArrayLike, rule: DecisionRule) -> Suggestion:
    """The rule's verdict for a class mask made at ``rule.threshold`` (non-zero = defect)."""
    areas = region_areas(mask)
    largest = int(areas.max()) if areas.size else 0
    over = int(np.count_nonzero(areas >= rule.min_area_px))
    return Suggestion(NG if over else OK, largest, over)


def largest_regions(probability: npt.ArrayLike, thresholds: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """For each threshold ``t``: the area of the largest region of ``probability > t`` (0: none).

    ``probability`` is the HxW defect probability of one image; used to choose a rule (one image
    is NG under ``(t, a)`` exactly when ``largest_regions(p, [t])[0] >= a``).
    """
    p = np.asarray(probability, dtype=np.float32)
    out = np.zeros(len(np.asarray(thresholds)), dtype=np.int64)
    for i, t in enumerate(np.asarray(thresholds, dtype=np.float64)):
        areas = region_areas(p > t)
        out[i] = int(areas.max()) if areas.size else 0
    return out
