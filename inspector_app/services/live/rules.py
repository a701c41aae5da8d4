"""Verdict rules per class: when does a frame count as NG?

A class's rule fires when its predicted area exceeds ``max_area_px`` pixels, or its share of the
frame exceeds ``max_share_pct`` percent (areas as :func:`inspector_app.core.regions.region_stats`
counts them); pixels whose probability for the class is below ``min_confidence`` are not counted.
A frame is NG when any rule fires. Classes without a rule use the default rule (by default: any
pixel of a defect class is NG). Rules live in the project as ``.inspector/verdict_rules.json``
(written atomically; a corrupt file is reported, never overwritten by a load).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from inspector_app.core.classes import ClassTable
from inspector_app.core.fileio import atomic_write_text

__all__ = ["ClassRule", "RulesError", "Verdict", "VerdictRules", "judge", "rules_path"]

RULES_FILE = "verdict_rules.json"


class RulesError(ValueError):
    """A rules file or value that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class ClassRule:
    """NG when area > ``max_area_px`` or share > ``max_share_pct`` (None = that test is off)."""

    max_area_px: int | None = 0
    max_share_pct: float | None = None
    min_confidence: float = 0.0

    def __post_init__(self) -> None:
        if self.max_area_px is not None and self.max_area_px < 0:
            raise RulesError(f"max_area_px must be >= 0, got {self.max_area_px}")
        if self.max_share_pct is not None and not 0 <= self.max_share_pct <= 100:
            raise RulesError(f"max_share_pct must be within 0..100, got {self.max_share_pct}")
        if not 0 <= self.min_confidence < 1:
            raise RulesError(f"min_confidence must be within [0, 1), got {self.min_confidence}")

    def fires(self, area: int, total: int) -> bool:
        """True when this class's area makes the frame NG."""
        if self.max_area_px is not None and area > self.max_area_px:
            return True
        return self.max_share_pct is not None and total > 0 and 100.0 * area / total > self.max_share_pct

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "max_area_px": self.max_area_px,
            "max_share_pct": self.max_share_pct,
            "min_confidence": self.min_confidence,
        }

    @classmethod
    def from_dict(cls, data: object, where: str) -> ClassRule:
        """Inverse of :meth:`to_dict`; RulesError naming ``where``."""
        if not isinstance(data, dict):
            raise RulesError(f"{where}: expected an object, got {type(data).__name__}")
        try:
            area = data.get("max_area_px", 0)
            share = data.get("max_share_pct")
            return cls(
                None if area is None else int(area),
                None if share is None else float(share),
                float(data.get("min_confidence", 0.0)),
            )
        except (TypeError, ValueError) as exc:
            raise RulesError(f"{where}: {exc}") from exc


@dataclass(frozen=True)
class VerdictRules:
    """Per-class rules (by class label) plus the rule for every other defect class."""

    classes: Mapping[str, ClassRule] = field(default_factory=dict)
    default: ClassRule = field(default_factory=ClassRule)

    def rule_for(self, label: str) -> ClassRule:
        """The rule of ``label`` (the default when it has none)."""
        return self.classes.get(label, self.default)

    @property
    def needs_probabilities(self) -> bool:
        """True when some rule has a minimum confidence (inference must return probabilities)."""
        return any(r.min_confidence > 0 for r in (self.default, *self.classes.values()))

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "version": 1,
            "default": self.default.to_dict(),
            "classes": {k: v.to_dict() for k, v in sorted(self.classes.items())},
        }

    @classmethod
    def from_dict(cls, data: object, source: str = "<rules>") -> VerdictRules:
        """Inverse of :meth:`to_dict`; RulesError naming ``source``."""
        if not isinstance(data, dict):
            raise RulesError(f"{source}: expected a JSON object")
        classes = data.get("classes", {})
        if not isinstance(classes, dict):
            raise RulesError(f"{source}: 'classes' must be an object of label -> rule")
        return cls(
            {str(k): ClassRule.from_dict(v, f"{source}: classes.{k}") for k, v in classes.items()},
            ClassRule.from_dict(data.get("default", {}), f"{source}: default"),
        )


def rules_path(meta_dir: str | os.PathLike[str]) -> Path:
    """``<project>/.inspector/verdict_rules.json`` for a project's meta folder."""
    return Path(meta_dir) / RULES_FILE


def load_rules(path: str | os.PathLike[str]) -> VerdictRules:
    """Rules from ``path``; defaults when it does not exist; RulesError when it does not parse."""
    p = Path(path)
    if not p.exists():
        return VerdictRules()
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RulesError(f"{p}: cannot read the verdict rules ({exc})") from exc
    return VerdictRules.from_dict(data, str(p))


def save_rules(rules: VerdictRules, path: str | os.PathLike[str]) -> None:
    """Write ``rules`` atomically."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(p, json.dumps(rules.to_dict(), indent=2) + "\n")


@dataclass(frozen=True)
class Verdict:
    """The judgement of one frame: OK/NG, per-class areas (label -> px, defect classes) and the
    labels whose rule fired."""

    verdict: str
    areas: Mapping[str, int]
    fired: tuple[str, ...]


def judge(
    mask: np.ndarray, table: ClassTable, rules: VerdictRules, probabilities: np.ndarray | None = None
) -> Verdict:
    """Apply ``rules`` to a class mask (and its CxHxW probabilities when rules need confidence)."""
    labels: Sequence[str] = table.labels
    if probabilities is not None and rules.needs_probabilities:
        mask = mask.copy()
        for index, label in enumerate(labels):
            threshold = rules.rule_for(label).min_confidence
            if index and threshold > 0:
                mask[(mask == index) & (probabilities[index] < threshold)] = 0
    total = int(mask.size)
    # Area rules need only a histogram: one pass. region_stats (inspector_app.core.regions) gives
    # the same areas but also labels connected components per class, ms on a speckled mask, on
    # the inference worker's critical path.
    counts = np.bincount(mask.ravel(), minlength=table.num_classes).tolist()
    areas = {labels[i]: int(counts[i]) for i in range(1, table.num_classes)}
    fired = tuple(label for label, area in areas.items() if rules.rule_for(label).fires(area, total))
    return Verdict("NG" if fired else "OK", areas, fired)
