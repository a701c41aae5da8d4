"""Known-answer tests of the confusion-matrix metrics (trainer.metrics)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from trainer.metrics import ConfusionMatrix, absent_classes, per_class_scores, predictions, summarize


def test_confusion_matrix_counts_rows_truth_columns_prediction() -> None:
    cm = ConfusionMatrix(3)
    target = torch.tensor([[0, 0, 1, 1], [2, 2, 2, 0]])
    pred = torch.tensor([[0, 1, 1, 1], [2, 0, 2, 0]])
    cm.update(pred, target)
    cm.update(pred[:1], target[:1])  # accumulates across batches
    # (truth, prediction) pairs - first batch: (0,0)x2 (0,1) (1,1)x2 (2,2)x2 (2,0);
    # second: (0,0) (0,1) (1,1)x2
    expected = np.array([[3, 2, 0], [0, 4, 0], [1, 0, 2]])
    np.testing.assert_array_equal(cm.numpy(), expected)


def test_known_answer_per_class_and_means() -> None:
    # 3 classes; truth rows, prediction columns.
    matrix = np.array([[50, 2, 3], [4, 10, 1], [0, 5, 25]])
    summary, per_class = summarize(matrix, ["_background_", "a", "b"])
    # class a: TP 10, FN 5, FP 7 -> IoU 10/22, Acc 10/15, Dice 20/32, precision 10/17
    assert per_class["a"]["iou"] == pytest.approx(10 / 22)
    assert per_class["a"]["acc"] == pytest.approx(10 / 15)
    assert per_class["a"]["dice"] == pytest.approx(20 / 32)
    assert per_class["a"]["precision"] == pytest.approx(10 / 17)
    assert per_class["a"]["gt_pixels"] == 15
    ious = [50 / (55 + 54 - 50), 10 / 22, 25 / (30 + 29 - 25)]
    assert summary["miou"] == pytest.approx(sum(ious) / 3)  # background included, as in the papers
    assert summary["macc"] == pytest.approx((50 / 55 + 10 / 15 + 25 / 30) / 3)
    assert summary["pixel_acc"] == pytest.approx(85 / 100)


def test_paper_convention_miou_is_mean_over_all_classes_including_background() -> None:
    """The Zhong paper's per-class IoUs average to its reported 73.54 mIoU."""
    paper = [98.47, 62.29, 46.10, 94.78, 66.04]
    assert sum(paper) / 5 == pytest.approx(73.54, abs=0.005)


def test_classes_absent_from_the_truth_are_marked_and_left_out_of_means() -> None:
    # class 2 never in truth nor prediction -> NaN IoU; class 1 predicted but not in truth -> its
    # own IoU 0 (false positives) stays visible, but neither counts in the means: both are marked.
    matrix = np.array([[8, 2, 0], [0, 0, 0], [0, 0, 0]])
    summary, per_class = summarize(matrix, ["bg", "x", "y"])
    assert math.isnan(per_class["y"]["iou"])
    assert per_class["x"]["iou"] == 0.0
    assert math.isnan(per_class["x"]["acc"])
    assert summary["miou"] == pytest.approx(8 / 10)
    assert summary["macc"] == pytest.approx(8 / 10)
    assert summary["classes_absent"] == 2.0
    assert absent_classes(per_class) == ["x", "y"]
    assert "absent" not in per_class["bg"]


def test_empty_matrix_gives_nan_not_an_exception() -> None:
    summary, _ = summarize(np.zeros((2, 2), np.int64), ["bg", "d"])
    assert math.isnan(summary["miou"]) and math.isnan(summary["pixel_acc"])


def test_binary_iou_is_the_defect_class_iou() -> None:
    matrix = np.array([[90, 4], [2, 4]])
    summary, per_class = summarize(matrix, ["_background_", "defect"], binary=True)
    assert summary["binary_iou"] == pytest.approx(4 / 10)
    assert summary["binary_iou"] == per_class["defect"]["iou"]


def test_labels_must_match_matrix() -> None:
    with pytest.raises(ValueError, match="labels"):
        summarize(np.zeros((3, 3), np.int64), ["a", "b"])


def test_predictions_match_argmax_and_sigmoid_threshold() -> None:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 5, 7, 9, generator=generator)
    logits[0, 3, 0, 0] = logits[0, 1, 0, 0] = 50.0  # a tie: argmax picks the first
    np.testing.assert_array_equal(predictions(logits).long().numpy(), logits.argmax(1).numpy())
    one = torch.tensor([[[[-0.1, 0.0, 0.2]]]])
    assert predictions(one).tolist() == [[[0, 0, 1]]]


def test_per_class_scores_dice_equals_2iou_over_1_plus_iou() -> None:
    rng = np.random.default_rng(1)
    matrix = rng.integers(1, 100, size=(4, 4))
    scores = per_class_scores(matrix)
    np.testing.assert_allclose(scores["dice"], 2 * scores["iou"] / (1 + scores["iou"]))


def test_update_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="differ"):
        ConfusionMatrix(2).update(torch.zeros(2, 3), torch.zeros(3, 2))
