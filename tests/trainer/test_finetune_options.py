"""Fine-tuning onto other data: class-index masks without a class table, ``--head``,
``--normalization``, the parent's card found as ``<stem>.json``, size suggestions, export noise."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from inspector_app.core.classes import ClassTable
from inspector_app.core.protocol import Metrics, Started, TrainerError, from_line
from trainer.checkpoint import load_checkpoint
from trainer.cli import main
from trainer.config import ConfigError, nearest_valid_sizes, resolve

Maker = Callable[..., Path]
BASE = ["--threads", "1", "--no-export", "--epochs", "1"]


def train(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[Any], str]:
    code = main(["train", *args])
    captured = capsys.readouterr()
    events = [from_line(line) for line in captured.out.splitlines() if line.strip()]
    return code, events, captured.err


@pytest.fixture
def parent_run(dataset_maker: Maker, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A one-epoch zhong run on the scratch/stain/pit data."""
    run = tmp_path / "parent"
    code, _, _ = train(
        capsys, "--data", str(dataset_maker("old")), "--model", "zhong", "--run-dir", str(run), *BASE
    )
    assert code == 0
    return run


def test_init_on_class_index_masks_without_a_class_table_is_refused(
    parent_run: Path, dataset_maker: Maker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = dataset_maker("masks", layout="masks", classes_yaml=False)
    code, events, _ = train(
        capsys, "--data", str(data), "--init", str(parent_run), "--run-dir", str(tmp_path / "a"), *BASE
    )
    assert code == 2
    errors = [e for e in events if isinstance(e, TrainerError)]
    assert errors and "no class table" in errors[0].message and "--head replace" in errors[0].message
    assert not (tmp_path / "a" / "last.pt").exists()
    # With a class table naming the mask values the same data trains.
    (data / "classes.yaml").write_text(
        yaml.safe_dump(
            {
                "classes": [
                    {"index": 0, "label": "_background_"},
                    {"index": 1, "label": "scratch"},
                    {"index": 2, "label": "stain"},
                    {"index": 3, "label": "pit"},
                ]
            }
        ),
        encoding="utf-8",
    )
    code, _, _ = train(
        capsys, "--data", str(data), "--init", str(parent_run), "--run-dir", str(tmp_path / "b"), *BASE
    )
    assert code == 0


def test_head_replace_drops_parent_classes_and_transfers_the_rest(
    parent_run: Path, dataset_maker: Maker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = dataset_maker("new", labels_of=lambda i: ["stain"], rgb=False)
    (data / "classes.yaml").write_text(
        yaml.safe_dump({"classes": [{"index": 0, "label": "_background_"}, {"index": 1, "label": "stain"}]}),
        encoding="utf-8",
    )
    run = tmp_path / "child"
    args = ["--data", str(data), "--init", str(parent_run), *BASE, "--lr", "1e-12"]
    # The default (extend) refuses to drop scratch and pit.
    code, events, _ = train(capsys, *args, "--run-dir", str(tmp_path / "refused"))
    assert code == 2 and any("scratch" in e.message for e in events if isinstance(e, TrainerError))
    code, _, err = train(
        capsys, *args, "--run-dir", str(run), "--head", "replace", "--normalization", "measure"
    )
    assert code == 0, err
    parent, child = load_checkpoint(parent_run / "best.pt"), load_checkpoint(run / "last.pt")
    assert ClassTable.from_dict(child["class_table"]).labels == ("_background_", "stain")
    assert child["num_classes"] == 2 and child["head"] == "replace"
    torch.testing.assert_close(
        child["state_dict"]["enc1.down.weight"], parent["state_dict"]["enc1.down.weight"], atol=1e-6, rtol=0
    )
    assert child["state_dict"]["decoder.out.up.weight"].shape[1] == 2
    assert child["normalization"] == "measured" and child["mean"] != parent["mean"]
    assert "input normalisation (measured)" in (run / "train.log").read_text(encoding="utf-8")


def test_parent_card_is_found_as_stem_json_like_the_bundled_models(
    parent_run: Path, dataset_maker: Maker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """resources/models/aluminum_zhong.pt has aluminum_zhong.json beside it, not model.json."""
    bundled = tmp_path / "models"
    bundled.mkdir()
    shutil.copy(parent_run / "best.pt", bundled / "plant_zhong.pt")
    (bundled / "plant_zhong.json").write_text(json.dumps({"model_id": "0123abcd4567"}), encoding="utf-8")
    run = tmp_path / "child"
    code, _, _ = train(
        capsys,
        "--data",
        str(dataset_maker("new")),
        "--init",
        str(bundled / "plant_zhong.pt"),
        "--run-dir",
        str(run),
        *BASE,
    )
    assert code == 0
    child = load_checkpoint(run / "last.pt")
    assert child["parent"] == "0123abcd4567"
    assert child["normalization"] == "inherited from the parent model" and child["head"] == "extend"
    # A resumed run keeps its lineage and says that it was resumed.
    code, events, _ = train(capsys, "--run-dir", str(run), "--resume", "--epochs", "2")
    assert code == 0
    started = [e for e in events if isinstance(e, Started)]
    assert started and started[0].resumed_from_epoch == 1
    assert load_checkpoint(run / "last.pt")["parent"] == "0123abcd4567"
    assert "resuming" in (run / "train.log").read_text(encoding="utf-8")


def test_a_fresh_run_has_no_resumed_epoch(
    tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, events, _ = train(
        capsys, "--data", str(tiny_dataset), "--model", "zhong", "--run-dir", str(tmp_path / "r"), *BASE
    )
    assert code == 0
    started = [e for e in events if isinstance(e, Started)]
    assert started[0].resumed_from_epoch is None
    log = (tmp_path / "r" / "train.log").read_text(encoding="utf-8")
    assert "input size 64x96: the default, the data's median image size 64x96" in log
    # evaluate says which size the network really saw
    from trainer.evaluate import evaluate

    result = evaluate(tmp_path / "r" / "best.pt", tiny_dataset)
    assert result["input_size"].startswith("64x96")


def test_the_test_list_is_scored_once_for_the_report_never_for_selection(
    dataset_maker: Maker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = dataset_maker(n=9, split=(7, 2))
    code, events, _ = train(
        capsys, "--data", str(data), "--model", "zhong", "--run-dir", str(tmp_path / "r"), *BASE
    )
    assert code == 0
    metrics = [e for e in events if isinstance(e, Metrics)]
    assert [m.split for m in metrics] == ["val", "test"]
    split = json.loads((tmp_path / "r" / "split.json").read_text(encoding="utf-8"))
    assert split["test"] == ["img_007", "img_008"]
    assert not set(split["val"]) & set(split["test"]) and set(split["val"]) < {
        f"img_{i:03d}" for i in range(7)
    }


def test_a_size_off_the_grid_gets_the_nearest_valid_sizes_suggested() -> None:
    assert nearest_valid_sizes((470, 630))[0] == (480, 640)
    with pytest.raises(ConfigError, match=r"nearest valid: 480x640, "):
        resolve({"data": "d", "run_dir": "r", "input_size": "470x630"})


def test_help_says_what_the_default_input_size_resolves_to(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "median image size of the data rounded to the nearest multiples of 32" in text


def test_export_drops_only_the_torchvision_notices(capsys: pytest.CaptureFixture[str]) -> None:
    from trainer.export import _REGISTRY_LOGGER, _quiet_export

    logger = logging.getLogger(_REGISTRY_LOGGER)
    handler = logging.StreamHandler()  # stderr, as torch's default last-resort handler would
    logger.addHandler(handler)
    try:
        with _quiet_export():
            logger.warning("torchvision is not installed. Skipping %s", "torchvision::nms")
            logger.warning("some other exporter warning")
        logger.warning("torchvision is not installed. Skipping %s", "after")
    finally:
        logger.removeHandler(handler)
    err = capsys.readouterr().err
    assert "torchvision::nms" not in err and "some other exporter warning" in err and "after" in err
