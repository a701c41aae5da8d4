"""Choosing a decision rule on validation scores (trainer.decision), and scoring one."""

from __future__ import annotations

import pytest

from inspector_app.core.classes import ClassTable
from inspector_app.core.decision import DecisionRule
from trainer.decision import ImageScore, choose_rule, rule_report

TABLE = ClassTable.from_labels(["blowhole", "uneven"])
THRESHOLDS = (0.5, 0.8)


def _score(stem: str, cls: int, at_05: int, at_08: int, tp: int = 0, fp: int = 0, fn: int = 0) -> ImageScore:
    return ImageScore(stem, cls, (at_05, at_08), ((tp, fp, fn), (tp, fp, fn)))


def test_the_rule_keeps_false_alarms_under_the_limit_and_misses_least() -> None:
    # 20 good tiles: specks of 3 px at p > 0.5, one of them a 40 px blotch (5 %); none at 0.8
    free = [_score(f"free{i}", 0, 3, 0) for i in range(19)] + [_score("free19", 0, 40, 0)]
    # defects: large ones found at both thresholds, a small blowhole of 6 px only at 0.5
    defective = [_score("u1", 2, 500, 400), _score("u2", 2, 300, 250), _score("b1", 1, 6, 0)]
    scores = free + defective
    rule = choose_rule(scores, thresholds=THRESHOLDS, areas=(1, 4, 8, 64), max_false_alarm=0.05)
    # (0.5, 4): 1 false alarm (5 %), nothing missed - better than (0.8, 1) which misses b1
    assert rule == DecisionRule(0.5, 4)
    strict = choose_rule(scores, thresholds=THRESHOLDS, areas=(1, 4, 8, 64), max_false_alarm=0.0)
    # zero false alarms costs the small blowhole; of the rules that miss only it, the threshold
    # nearest 0.5 wins
    assert strict == DecisionRule(0.5, 64)
    report = rule_report(scores, strict, TABLE, THRESHOLDS)
    assert report["missed"] == 1 and report["missed_images"] == ["b1"]
    assert report["false_alarms"] == 0 and report["free_images"] == 20
    assert report["per_class"]["blowhole"] == {"images": 1, "detected": 0, "rate": 0.0}
    assert report["per_class"]["uneven"]["rate"] == 1.0


def test_no_feasible_rule_gives_the_fewest_false_alarms() -> None:
    scores = [_score("f1", 0, 100, 100), _score("f2", 0, 100, 5), _score("d", 1, 50, 50)]
    rule = choose_rule(scores, thresholds=THRESHOLDS, areas=(1, 8), max_false_alarm=0.05)
    assert rule == DecisionRule(0.8, 8)  # 1 of 2 false alarms is the least the grid offers


def test_binary_iou_from_pixel_counts() -> None:
    scores = [_score("a", 1, 10, 10, tp=30, fp=10, fn=20), _score("b", 0, 0, 0, fp=10)]
    report = rule_report(scores, DecisionRule(0.5, 1), TABLE, THRESHOLDS)
    assert report["binary_iou"] == pytest.approx(30 / 70)
