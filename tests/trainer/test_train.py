"""End-to-end CPU training through ``defect-train train`` (in-process) on tiny LabelMe datasets."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from inspector_app.core.classes import ClassTable
from inspector_app.core.protocol import (
    Checkpoint,
    Finished,
    Metrics,
    Progress,
    Started,
    TrainerWarning,
    from_line,
    read_events,
)
from trainer.checkpoint import adapt_state_dict, class_mapping, load_checkpoint, model_from_checkpoint
from trainer.cli import main
from trainer.export import load_checkpoint as export_load_checkpoint

Maker = Callable[..., Path]
FAST = ["--epochs", "2", "--threads", "1", "--no-export", "--log-every", "1"]


def train(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[Any]]:
    """Run ``defect-train train`` in this process; returns the exit code and the stdout events."""
    code = main(["train", *args])
    out = capsys.readouterr().out
    events = [from_line(line) for line in out.splitlines() if line.strip()]
    return code, events


@pytest.mark.parametrize(
    ("model", "extra"),
    [
        ("zhong", []),
        ("zhong_baseline", []),
        ("anet", ["--binary", "--loss", "dice_bce", "--optimizer", "sgd", "--lr", "0.01"]),
        ("unet", ["--model-options", '{"base": 8, "depth": 3}', "--loss", "ce_dice"]),
    ],
)
def test_smoke_training_writes_the_run_folder(
    tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], model: str, extra: list[str]
) -> None:
    run = tmp_path / f"run_{model}"
    code, events = train(
        capsys, "--data", str(tiny_dataset), "--model", model, "--run-dir", str(run), *FAST, *extra
    )
    assert code == 0
    for name in ("last.pt", "best.pt", "config.yaml", "events.jsonl", "split.json", "train.log"):
        assert (run / name).is_file(), name
    kinds = [type(e) for e in events]
    assert kinds[0] is Started and kinds[-1] is Finished
    assert Progress in kinds and Metrics in kinds and Checkpoint in kinds
    assert events[-1].status == "ok" and events[-1].exit_code == 0
    assert [type(e) for e in read_events(run / "events.jsonl")] == kinds  # same stream on disk
    metrics = [e for e in events if isinstance(e, Metrics)]
    assert [m.epoch for m in metrics] == [1, 2]
    assert "miou" in metrics[-1].values and ("binary_iou" in metrics[-1].values) == (model == "anet")
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["model"] == model and saved["input_size"] == [64, 96] and saved["epochs"] == 2
    # The checkpoint follows the contract and the export colleague's loader rebuilds the network.
    checkpoint = export_load_checkpoint(run / "best.pt")
    for key in (
        "model",
        "model_options",
        "num_classes",
        "state_dict",
        "class_table",
        "input_channels",
        "mean",
        "std",
        "epoch",
        "optimizer",
        "scheduler",
        "best_metric",
        "config",
        "metrics",
    ):
        assert key in checkpoint, key
    assert checkpoint["num_classes"] == (1 if model == "anet" else 4)
    net = model_from_checkpoint(checkpoint)
    with torch.no_grad():
        out = net(torch.zeros(1, 3, 64, 96))
    assert out.shape == (1, checkpoint["num_classes"], 64, 96)


def test_resume_continues_from_last_checkpoint(
    tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    args = [
        "--data",
        str(tiny_dataset),
        "--model",
        "zhong",
        "--run-dir",
        str(run),
        "--threads",
        "1",
        "--no-export",
    ]
    assert train(capsys, *args, "--epochs", "1")[0] == 0
    first = load_checkpoint(run / "last.pt")
    split = (run / "split.json").read_text()
    # --resume reads config.yaml from the run folder; only the new epoch count is given.
    code, events = train(capsys, "--run-dir", str(run), "--resume", "--epochs", "3")
    assert code == 0
    metrics = [e.epoch for e in events if isinstance(e, Metrics)]
    assert metrics == [2, 3]
    last = load_checkpoint(run / "last.pt")
    assert last["epoch"] == 3
    assert last["scheduler"]["step"] == 3 * first["scheduler"]["step"]
    assert (run / "split.json").read_text() == split
    assert sum(isinstance(e, Started) for e in read_events(run / "events.jsonl")) == 2


def test_resume_realigns_a_mid_epoch_stop_and_restarts_best_on_a_new_metric(
    tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    base = ["--data", str(tiny_dataset), "--model", "zhong", "--run-dir", str(run), "--threads", "1"]
    assert train(capsys, *base, "--no-export", "--epochs", "1")[0] == 0
    first = load_checkpoint(run / "last.pt")
    steps = first["scheduler"]["step"]
    assert first["best_key"] == "miou" and first["best_metric"] is not None
    # As a stop in the middle of epoch 2 leaves it: epoch 1 done, more steps than one epoch.
    first["scheduler"]["step"] = steps + 1
    first["best_metric"] = 123.0  # a miou no later epoch could beat
    torch.save(first, run / "last.pt")
    code, events = train(capsys, "--run-dir", str(run), "--resume", "--epochs", "2", "--best-metric", "loss")
    assert code == 0
    assert any(isinstance(e, TrainerWarning) and "best_metric changed" in e.message for e in events)
    last = load_checkpoint(run / "last.pt")
    assert last["scheduler"]["step"] == 2 * steps  # the repeated epoch starts where epoch 2 begins
    assert last["best_key"] == "loss" and last["best_epoch"] == 2 and last["best_metric"] != 123.0


def test_yaml_config_with_command_line_override(
    tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_yaml = tmp_path / "run.yaml"
    run_yaml.write_text(
        yaml.safe_dump(
            {"model": "zhong_baseline", "epochs": 5, "lr": 0.004, "hflip": 0.0, "class_weights": "auto"}
        )
    )
    run = tmp_path / "run"
    code, _ = train(
        capsys,
        "--config",
        str(run_yaml),
        "--data",
        str(tiny_dataset),
        "--run-dir",
        str(run),
        "--epochs",
        "1",
        "--threads",
        "1",
        "--no-export",
    )
    assert code == 0
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["epochs"] == 1 and saved["lr"] == 0.004 and saved["model"] == "zhong_baseline"
    assert saved["hflip"] == 0.0 and saved["class_weights"] == "auto"
    assert len(saved["mean"]) == 3 and len(saved["std"]) == 3  # measured, then saved


def test_fine_tune_grows_the_head_and_keeps_old_class_weights(
    dataset_maker: Maker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old_data = dataset_maker("old")
    parent_run = tmp_path / "parent"
    base = ["--threads", "1", "--no-export", "--epochs", "1"]
    assert (
        train(capsys, "--data", str(old_data), "--model", "zhong", "--run-dir", str(parent_run), *base)[0]
        == 0
    )
    new_data = dataset_maker("new", labels_of=lambda i: ["stain", "dent"] if i % 2 else ["scratch", "pit"])
    table = yaml.safe_load((new_data / "classes.yaml").read_text())
    table["classes"].append({"index": 4, "label": "dent", "name": "dent", "color": "#f58231"})
    (new_data / "classes.yaml").write_text(yaml.safe_dump(table))
    child_run = tmp_path / "child"
    # lr so small that the weights stay where the parent left them (to ~1e-9).
    code, _ = train(
        capsys,
        "--data",
        str(new_data),
        "--init",
        str(parent_run),
        "--run-dir",
        str(child_run),
        *base,
        "--lr",
        "1e-12",
    )
    assert code == 0
    parent = load_checkpoint(parent_run / "best.pt")
    child = load_checkpoint(child_run / "last.pt")
    assert child["model"] == "zhong" and child["num_classes"] == 5
    assert ClassTable.from_dict(child["class_table"]).labels[-1] == "dent"
    old_w, new_w = parent["state_dict"]["decoder.out.up.weight"], child["state_dict"]["decoder.out.up.weight"]
    assert new_w.shape[1] == 5
    torch.testing.assert_close(new_w[:, :4], old_w, atol=1e-6, rtol=0)
    torch.testing.assert_close(
        child["state_dict"]["enc1.down.weight"], parent["state_dict"]["enc1.down.weight"], atol=1e-6, rtol=0
    )
    assert child["mean"] == parent["mean"]  # same preprocessing as the parent


def test_adapt_state_dict_maps_classes_by_label() -> None:
    old = ClassTable.from_labels(["a", "b"])
    new = ClassTable.from_labels(["a", "b", "c"])  # sorted: c appended at index 3
    mapping = class_mapping(old, new)
    assert mapping == [(0, 0), (1, 1), (2, 2)]
    old_state = {"head.weight": torch.arange(3 * 2, dtype=torch.float32).reshape(3, 2), "x": torch.ones(2)}
    new_state = {"head.weight": torch.full((4, 2), -1.0), "x": torch.zeros(2)}
    state, grown = adapt_state_dict(old_state, new_state, mapping, 3, 4)
    assert grown == ["head.weight"]
    torch.testing.assert_close(state["head.weight"][:3], old_state["head.weight"])
    assert (state["head.weight"][3] == -1).all()  # the new class keeps its fresh initialisation
    torch.testing.assert_close(state["x"], torch.ones(2))


def test_crash_gives_exit_1_error_event_and_keeps_the_last_checkpoint(
    tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    args = [
        "--data",
        str(tiny_dataset),
        "--model",
        "zhong_baseline",
        "--run-dir",
        str(run),
        "--threads",
        "1",
        "--no-export",
    ]
    assert train(capsys, *args, "--epochs", "1")[0] == 0
    # Resume with an absurd learning rate: the loss becomes non-finite -> a crash.
    code, events = train(
        capsys, "--run-dir", str(run), "--resume", "--epochs", "30", "--lr", "1e30", "--optimizer", "sgd"
    )
    assert code == 1
    errors = [e for e in events if e.type == "error"]
    assert errors and errors[0].code == "crash" and "loss" in errors[0].message
    assert events[-1].type == "finished" and events[-1].status == "failed" and events[-1].exit_code == 1
    assert load_checkpoint(run / "last.pt")["epoch"] >= 1
    assert "Traceback" in (run / "train.log").read_text()


@pytest.mark.slow
def test_training_ends_with_onnx_export(
    tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    code, events = train(
        capsys,
        "--data",
        str(tiny_dataset),
        "--model",
        "zhong",
        "--run-dir",
        str(run),
        "--epochs",
        "1",
        "--threads",
        "1",
    )
    assert code == 0
    exported = [e for e in events if e.type == "exported"]
    assert exported and Path(exported[0].path) == run / "model.onnx"
    assert (run / "model.onnx").is_file() and (run / "model.json").is_file()
    card = json.loads((run / "model.json").read_text())
    assert [c["label"] for c in card["classes"]] == ["_background_", "scratch", "stain", "pit"]
    assert card["architecture"] == "zhong" and card["output"] == "softmax"
    assert events[-1].type == "finished" and events[-1].status == "ok"


def test_same_seed_same_weights(
    tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Split, sampling, augmentation and initialisation all follow the seed."""
    options = ["--data", str(tiny_dataset), "--model", "zhong_baseline", "--threads", "1", "--no-export",
               "--epochs", "2", "--val-fraction", "0.34", "--vflip", "0.5", "--brightness", "0.2",
               "--sampling", "rare"]  # fmt: skip
    states = []
    for name in ("a", "b"):
        assert train(capsys, *options, "--run-dir", str(tmp_path / name))[0] == 0
        states.append(load_checkpoint(tmp_path / name / "last.pt")["state_dict"])
    for key, value in states[0].items():
        assert torch.equal(value, states[1][key]), key
    assert (tmp_path / "a" / "split.json").read_text() == (tmp_path / "b" / "split.json").read_text()
    assert train(capsys, *options, "--run-dir", str(tmp_path / "c"), "--seed", "1")[0] == 0
    other = load_checkpoint(tmp_path / "c" / "last.pt")["state_dict"]
    assert any(not torch.equal(v, other[k]) for k, v in states[0].items())


def test_loader_workers_do_not_change_the_result(
    tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    options = ["--data", str(tiny_dataset), "--model", "zhong_baseline", "--threads", "1", "--no-export",
               "--epochs", "1", "--hflip", "0.5", "--contrast", "0.2"]  # fmt: skip
    states = []
    for workers in ("0", "2"):
        run = tmp_path / f"w{workers}"
        assert train(capsys, *options, "--run-dir", str(run), "--workers", workers)[0] == 0
        states.append(load_checkpoint(run / "last.pt")["state_dict"])
    for key, value in states[0].items():
        assert torch.equal(value, states[1][key]), key


@pytest.mark.parametrize("model_name", ["zhong", "unet"])
def test_fine_tune_with_reordered_classes_keeps_each_class_its_weights(model_name: str) -> None:
    """Same classes, other indices: each class's logit must follow it, not stay at the old index."""
    from trainer.checkpoint import build_model
    from trainer.config import TrainConfig

    old_table = ClassTable.from_labels(["a", "b", "c"])  # background, a, b, c
    new_table = ClassTable.from_dict(
        {"classes": [{"index": i, "label": label} for i, label in enumerate(["_background_", "c", "a", "b"])]}
    )
    config = TrainConfig(model=model_name)
    torch.manual_seed(0)
    parent, _, _ = build_model(config, old_table, None, resumed=False)
    source = {"model": model_name, "num_classes": 4, "class_table": old_table.to_dict(),
              "state_dict": parent.state_dict()}  # fmt: skip
    child, _, grown = build_model(config, new_table, source, resumed=False)
    assert grown == []
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        before, after = parent.eval()(x), child.eval()(x)
    for label in ("_background_", "a", "b", "c"):
        torch.testing.assert_close(
            after[:, new_table.index_of(label)], before[:, old_table.index_of(label)], atol=1e-5, rtol=0
        )
