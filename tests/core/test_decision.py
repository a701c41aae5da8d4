"""Image-level decision rules: validation, verdicts on real masks, and the model card field."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inspector_app.core.classes import ClassTable
from inspector_app.core.decision import (
    NG,
    OK,
    DecisionRule,
    Suggestion,
    largest_regions,
    region_areas,
    suggest_verdict,
)
from inspector_app.core.modelcard import ModelCard, ModelError


def _card(**changes: object) -> ModelCard:
    fields: dict[str, object] = {
        "name": "magnetic tile",
        "architecture": "anet",
        "class_table": ClassTable.from_labels(["defect"]),
        "input_channels": 3,
        "mean": (0.43, 0.43, 0.43),
        "std": (0.18, 0.18, 0.18),
        "output": "sigmoid",
    }
    fields.update(changes)
    return ModelCard(**fields)  # type: ignore[arg-type]


def test_rule_values_are_checked() -> None:
    assert DecisionRule(0.7, 40).to_dict() == {"threshold": 0.7, "min_area_px": 40}
    for threshold, area in ((0.0, 1), (1.0, 1), (0.5, 0), (0.5, 2.5), (0.5, True)):
        with pytest.raises(ValueError):
            DecisionRule(threshold, area)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        DecisionRule.from_dict([0.5, 3])  # type: ignore[arg-type]


def test_a_speck_is_ok_and_a_region_is_ng() -> None:
    mask = np.zeros((60, 80), np.uint8)
    mask[5, 5] = 1  # isolated specks
    mask[50, 70:72] = 1
    rule = DecisionRule(0.5, 10)
    assert suggest_verdict(mask, rule) == Suggestion(OK, 2, 0)
    mask[20:24, 30:34] = 3  # a 16 px region of another class
    suggestion = suggest_verdict(mask, rule)
    assert (
        suggestion.verdict == NG and suggestion.largest_region_px == 16 and suggestion.regions_over_min == 1
    )
    assert suggest_verdict(np.zeros((8, 8), np.uint8), DecisionRule.default()).verdict == OK
    # 8-connected: a diagonal line is one region
    diagonal = np.eye(12, dtype=np.uint8)
    assert region_areas(diagonal).tolist() == [12]


def test_largest_regions_per_threshold() -> None:
    p = np.zeros((40, 40), np.float32)
    p[5:15, 5:15] = 0.9  # 100 px, sure
    p[30:32, 30:32] = 0.55  # 4 px, unsure
    assert largest_regions(p, [0.5, 0.8, 0.95]).tolist() == [100, 100, 0]
    p[5:15, 15] = 0.6  # joins the large region only at the lower threshold
    assert largest_regions(p, [0.5, 0.8]).tolist() == [110, 100]


def test_card_round_trip_and_old_cards_unchanged() -> None:
    old = _card()
    assert "decision" not in old.to_dict()
    assert old.decision_rule() == DecisionRule(0.5, 1)  # before rules: any defect pixel
    card = old.replace(decision=DecisionRule(0.6, 48))
    data = json.loads(card.to_json())
    assert data["decision"] == {"threshold": 0.6, "min_area_px": 48}
    again = ModelCard.from_json(card.to_json())
    assert again.decision == DecisionRule(0.6, 48) and again.decision_rule() == DecisionRule(0.6, 48)
    assert "decision" not in again.extra
    data["decision"] = {"threshold": 2, "min_area_px": 48}
    with pytest.raises(ModelError, match="threshold"):
        ModelCard.from_dict(data, source="m.onnx")
