"""int8 static quantisation of an exported run: a runnable QDQ model with its own card.

The run folder is made by hand the way the engine leaves it (checkpoint, config.yaml, split.json)
on a tiny dataset from tests/trainer/conftest.py. The card's metrics must be exactly what an
independent evaluation of each model file gives.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import yaml

from inspector_app.core.classes import ClassTable
from inspector_app.core.images import read_image
from inspector_app.core.modelcard import ModelCard, read_card, sidecar_path
from inspector_app.core.predictor import Predictor, preprocess
from tests.trainer.conftest import CLASSES_YAML, make_dataset
from tests.trainer.test_export import make_checkpoint
from trainer import cmd_export
from trainer.evaluate import evaluate
from trainer.export import export_run
from trainer.quantize import QuantizationError, pick_calibration, quantize_run


def make_run(tmp_path: Path) -> Path:
    data = make_dataset(tmp_path / "data", n=6, size=(64, 96), layout="masks", rgb=True)
    run = tmp_path / "run"
    make_checkpoint(
        run / "best.pt",
        "zhong",
        num_classes=4,
        table=ClassTable.from_dict(CLASSES_YAML),
        config={"data": str(data), "label_source": "auto"},
    )
    (run / "config.yaml").write_text(yaml.safe_dump({"data": str(data), "model": "zhong"}))
    split = {"source": "test", "train": [f"img_{i:03d}" for i in range(4)], "val": ["img_004", "img_005"]}
    (run / "split.json").write_text(json.dumps(split))
    return run


@pytest.fixture(scope="module")
def int8_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = make_run(tmp_path_factory.mktemp("int8"))
    export_run(run, quantize=True, exporter="torchscript")
    return run


def test_int8_model_is_quantized_and_runs(int8_run: Path) -> None:
    fp32, int8 = int8_run / "model.onnx", int8_run / "model.int8.onnx"
    graph = onnx.load(str(int8))
    ops = {n.op_type for n in graph.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    int8_weights = [i for i in graph.graph.initializer if i.data_type == onnx.TensorProto.INT8]
    assert len(int8_weights) >= 20  # every convolution's weights (zhong has 33 conv layers)
    assert int8.stat().st_size < 0.5 * fp32.stat().st_size
    # an image like the calibration ones (a random-weight net on white noise says little)
    data = Path(yaml.safe_load((int8_run / "config.yaml").read_text())["data"])
    image = read_image(data / "images" / "img_004.png")
    card = read_card(fp32)
    x = preprocess(image, card)
    (a,) = ort.InferenceSession(str(fp32)).run(None, {"image": x})
    (b,) = ort.InferenceSession(str(int8)).run(None, {"image": x})
    assert a.shape == b.shape
    assert float(np.corrcoef(a.ravel(), b.ravel())[0, 1]) > 0.98  # measured 0.997
    assert float((a.argmax(1) == b.argmax(1)).mean()) > 0.9  # measured 0.96
    mask = Predictor(int8, threads=1).predict(image[:50, :70]).mask  # the app runs it, any size
    assert mask.shape == (50, 70)


def test_int8_card(int8_run: Path) -> None:
    fp32_card = read_card(int8_run / "model.onnx")
    card = read_card(int8_run / "model.int8.onnx")
    assert card == ModelCard.from_json(sidecar_path(int8_run / "model.int8.onnx").read_text())
    assert card.model_id != fp32_card.model_id
    assert card.class_table == fp32_card.class_table and card.mean == fp32_card.mean
    quant = card.extra["quantization"]
    assert quant["source_model_id"] == fp32_card.model_id
    assert quant["format"] == "QDQ" and quant["calibration_images"] == 4


def test_int8_card_metrics_match_independent_evaluations(int8_run: Path) -> None:
    metrics = read_card(int8_run / "model.int8.onnx").metrics
    data = Path(yaml.safe_load((int8_run / "config.yaml").read_text())["data"])
    split = int8_run / "split.json"
    fp32 = evaluate(int8_run / "model.onnx", data, split=split)
    int8 = evaluate(int8_run / "model.int8.onnx", data, split=split)
    assert metrics["evaluated_on"]["num_images"] == 2 == fp32["num_images"]
    for key in ("miou", "macc", "mdice"):
        assert metrics[key] == pytest.approx(int8["summary"][key], abs=1e-12)
        assert metrics["fp32"][key] == pytest.approx(fp32["summary"][key], abs=1e-12)
        assert metrics["change_vs_fp32"][key] == pytest.approx(
            int8["summary"][key] - fp32["summary"][key], abs=1e-12
        )
    assert set(metrics["per_class_iou"]) == {"_background_", "scratch", "stain", "pit"}


def test_calibration_pick_is_deterministic() -> None:
    names = [f"n{i}" for i in range(50)]
    assert pick_calibration(names, 8) == pick_calibration(list(reversed(names)), 8)
    assert len(set(pick_calibration(names, 8))) == 8
    assert pick_calibration(names, 8, seed=1) != pick_calibration(names, 8)


def test_int8_without_training_data_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = make_run(tmp_path)
    (run / "split.json").unlink()
    export_run(run, exporter="torchscript")
    with pytest.raises(QuantizationError, match=r"split\.json"):
        quantize_run(run, run / "model.onnx")
    parser = argparse.ArgumentParser()
    cmd_export.register(parser.add_subparsers())
    args = parser.parse_args(["export", "--run-dir", str(run), "--int8", "--exporter", "torchscript"])
    assert args.func(args) == 2
    assert "split.json" in capsys.readouterr().err
    assert not (run / "model.int8.onnx").exists()
