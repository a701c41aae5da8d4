"""Evaluation with known answers: tiny real ONNX models whose masks are known, tiny masks.

The factory's ``grey2`` model predicts class 1 exactly where ``pixel / 255 > 0.5``; ``one_logit``
(sigmoid card) does the same through a threshold; ``rgb4`` predicts red/green/blue classes. The
expected confusion counts are worked out by hand in the comments, then the IoU/Acc/Dice/precision
fractions follow from their definitions.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests import onnx_factory as factory
from trainer import cmd_evaluate
from trainer.evaluate import (
    EvaluationError,
    OnnxPredictor,
    TorchPredictor,
    evaluate,
    write_json,
)
from trainer.metrics import summarize

BINARY_YAML = """classes:
  - {index: 0, label: _background_, name: background, color: "#000000"}
  - {index: 1, label: defect, name: defect, color: "#ff0000"}
"""


def write_png(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = array if array.ndim == 2 else cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    assert cv2.imwrite(str(path), data)


@pytest.fixture()
def grey_data(tmp_path: Path) -> Path:
    """Two annotated 4x4 images (a, b) in test.txt; defect-free c (clean) and d (one bright pixel)."""
    root = tmp_path / "data"
    a = np.zeros((4, 4), np.uint8)
    a[:, :2] = 255  # predicted class 1: columns 0-1 (8 px)
    a_truth = np.zeros((4, 4), np.uint8)
    a_truth[:2, :] = 1  # true class 1: rows 0-1 (8 px); overlap rows 0-1 x cols 0-1 = 4 px
    b = np.full((4, 4), 100, np.uint8)  # 100/255 < 0.5: all predicted background
    b_truth = np.zeros((4, 4), np.uint8)
    b_truth[3, 3] = 1  # one missed defect pixel
    for name, image, truth in (("a", a, a_truth), ("b", b, b_truth)):
        write_png(root / "images" / f"{name}.png", image)
        write_png(root / "masks" / f"{name}.png", truth)
    clean = np.full((5, 7), 20, np.uint8)  # odd size: the predictor pads and crops back
    write_png(root / "images" / "c.png", clean)
    spot = clean.copy()
    spot[2, 3] = 200
    write_png(root / "images" / "d.png", spot)
    (root / "test.txt").write_text("a\nb\n")
    (root / "free.txt").write_text("c\nd\n")
    (root / "classes.yaml").write_text(BINARY_YAML)
    return root


# class 1: TP 4, FP 4 (a: rows 2-3 x cols 0-1), FN 4 (a: rows 0-1 x cols 2-3) + 1 (b) = 5
# class 0: TP 4 (a) + 15 (b) = 19, FP = 5, FN = 4
EXPECTED_GREY = {
    "defect": {"iou": 4 / 13, "acc": 4 / 9, "dice": 8 / 17, "precision": 4 / 8},
    "_background_": {"iou": 19 / 28, "acc": 19 / 23, "dice": 38 / 47, "precision": 19 / 24},
}


def check_grey(result: dict) -> None:
    for label, expected in EXPECTED_GREY.items():
        for key, value in expected.items():
            assert result["per_class"][label][key] == pytest.approx(value, abs=1e-12), (label, key)
    assert result["summary"]["miou"] == pytest.approx((4 / 13 + 19 / 28) / 2, abs=1e-12)
    assert result["summary"]["macc"] == pytest.approx((4 / 9 + 19 / 23) / 2, abs=1e-12)
    assert result["summary"]["mdice"] == pytest.approx((8 / 17 + 38 / 47) / 2, abs=1e-12)
    assert result["confusion"] == [[19, 4], [5, 4]]
    assert result["num_images"] == 2


def test_known_answer_softmax_model(grey_data: Path, tmp_path: Path) -> None:
    model = factory.grey2(tmp_path / "grey2.onnx")
    result = evaluate(model, grey_data, free_list=grey_data / "free.txt")
    check_grey(result)
    assert result["scoring"] == "multiclass"
    assert result["free"] == {
        "num_images": 2,
        "with_false_positives": 1,
        "share_with_false_positives": 0.5,
        "images_with_false_positives": ["d"],
    }


def test_known_answer_one_logit_model_scores_binary(grey_data: Path, tmp_path: Path) -> None:
    """A sigmoid model on data with several defect classes: scored as truth > 0."""
    (grey_data / "classes.yaml").write_text(
        BINARY_YAML.replace("defect, name: defect", "pit, name: pit")
        + '  - {index: 2, label: scratch, name: scratch, color: "#00ff00"}\n'
    )
    truth = cv2.imread(str(grey_data / "masks" / "a.png"), cv2.IMREAD_UNCHANGED)
    truth[truth == 1] = 2  # same pixels, another defect class: binary scoring must not care
    write_png(grey_data / "masks" / "a.png", truth)
    result = evaluate(factory.one_logit(tmp_path / "sig.onnx"), grey_data)
    assert result["scoring"] == "binary"
    check_grey(result)
    assert result["summary"]["binary_iou"] == pytest.approx(4 / 13, abs=1e-12)


def test_rgb_model_with_differently_ordered_data_classes(tmp_path: Path) -> None:
    """Data indices are mapped to the model's classes by label."""
    root = tmp_path / "data"
    # model classes: 1 red, 2 green, 3 blue; data classes: 1 blue, 2 red, 3 green
    (root / "classes.yaml").parent.mkdir(parents=True)
    (root / "classes.yaml").write_text(
        "classes:\n"
        '  - {index: 0, label: _background_, name: bg, color: "#000000"}\n'
        '  - {index: 1, label: blue, name: b, color: "#0000ff"}\n'
        '  - {index: 2, label: red, name: r, color: "#ff0000"}\n'
        '  - {index: 3, label: green, name: g, color: "#00ff00"}\n'
    )
    image = np.zeros((2, 3, 3), np.uint8)
    image[0, 0] = (200, 0, 0)  # red
    image[0, 1] = (0, 200, 0)  # green
    image[0, 2] = (0, 0, 200)  # blue
    truth = np.array([[2, 3, 1], [0, 0, 2]], np.uint8)  # red, green, blue correct; (1,2) red missed
    write_png(root / "images" / "x.png", image)
    write_png(root / "masks" / "x.png", truth)
    result = evaluate(factory.rgb4(tmp_path / "rgb4.onnx"), root)
    assert result["classes"] == ["_background_", "red", "green", "blue"]
    assert result["per_class"]["red"]["iou"] == pytest.approx(1 / 2)
    assert result["per_class"]["green"]["iou"] == 1.0
    assert result["per_class"]["blue"]["iou"] == 1.0
    assert result["per_class"]["_background_"]["iou"] == pytest.approx(2 / 3)
    assert result["per_class"]["red"]["precision"] == 1.0


def test_data_class_unknown_to_the_model_is_an_error(tmp_path: Path, grey_data: Path) -> None:
    (grey_data / "classes.yaml").write_text(
        BINARY_YAML + '  - {index: 2, label: scratch, name: scratch, color: "#00ff00"}\n'
    )
    model = factory.rgb4(tmp_path / "rgb4.onnx")
    with pytest.raises(EvaluationError, match="scratch"):
        evaluate(model, grey_data)


def test_listed_image_missing(grey_data: Path, tmp_path: Path) -> None:
    (grey_data / "test.txt").write_text("a\nnope\n")
    with pytest.raises(EvaluationError, match="nope"):
        evaluate(factory.grey2(tmp_path / "m.onnx"), grey_data)


def test_absent_class_is_null_in_strict_json(tmp_path: Path) -> None:
    summary, per_class = summarize(np.array([[5, 0], [0, 0]]), ["_background_", "defect"])
    assert per_class["defect"]["iou"] != per_class["defect"]["iou"]  # NaN: no truth, no prediction
    assert summary["miou"] == 1.0  # NaN skipped in the mean
    out = tmp_path / "r.json"
    write_json({"summary": summary, "per_class": per_class}, out)
    loaded = json.loads(out.read_text())
    assert loaded["per_class"]["defect"]["iou"] is None


def test_cli_writes_json_and_prints_table(
    grey_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    cmd_evaluate.register(parser.add_subparsers())
    model = factory.grey2(tmp_path / "grey2.onnx")
    out = tmp_path / "eval.json"
    args = parser.parse_args(
        ["evaluate", "--model", str(model), "--data", str(grey_data), "--json", str(out), "--free-list",
         str(grey_data / "free.txt")]
    )  # fmt: skip
    assert args.func(args) == 0
    captured = capsys.readouterr()
    assert "defect" in captured.out and "1/2" in captured.out
    assert "evaluate: 4/4" in captured.err  # progress on stderr
    check_grey(json.loads(out.read_text()))

    bad = parser.parse_args(["evaluate", "--model", str(tmp_path / "none.onnx"), "--data", str(grey_data)])
    assert bad.func(bad) == 2
    assert "does not exist" in capsys.readouterr().err


def test_torch_and_onnx_paths_agree(tmp_path: Path) -> None:
    """A checkpoint scored in PyTorch and its export scored through the Predictor give the same masks."""
    from tests.trainer.test_export import make_checkpoint
    from trainer.export import export_checkpoint

    pt = make_checkpoint(tmp_path / "best.pt", "zhong", num_classes=5)
    onnx_path = export_checkpoint(pt, tmp_path / "model.onnx", exporter="torchscript").onnx_path
    torch_model, onnx_model = TorchPredictor(pt), OnnxPredictor(onnx_path)
    rng = np.random.default_rng(7)
    for shape in ((50, 70, 3), (33, 64), (64, 96, 3)):  # odd sizes are padded, grey is repeated
        image = rng.integers(0, 256, size=shape, dtype=np.uint8)
        a, b = torch_model.segment(image), onnx_model.segment(image)
        assert a.shape == b.shape == shape[:2]
        assert len(np.unique(a)) > 1  # the network says something, so agreement means something
        assert float((a == b).mean()) >= 0.999


def test_cli_bad_checkpoint_and_unwritable_json_exit_2(
    grey_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A torn/foreign .pt and a --json path in a missing folder end with exit 2 naming the file."""
    import argparse

    parser = argparse.ArgumentParser()
    cmd_evaluate.register(parser.add_subparsers())
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    args = parser.parse_args(["evaluate", "--model", str(junk), "--data", str(grey_data)])
    assert args.func(args) == 2
    assert str(junk) in capsys.readouterr().err

    model = factory.grey2(tmp_path / "grey2.onnx")
    out = tmp_path / "missing" / "eval.json"
    argv = ["evaluate", "--model", str(model), "--data", str(grey_data), "--json", str(out)]
    args = parser.parse_args(argv)
    assert args.func(args) == 2
    assert str(out) in capsys.readouterr().err
