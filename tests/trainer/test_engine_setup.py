"""Trainer.setup on a real tiny dataset: the caller's config stays untouched, threads stay fixed."""

from __future__ import annotations

import copy
import io
from pathlib import Path

import pytest
import torch

from trainer.checkpoint import LAST, load_checkpoint
from trainer.config import ConfigError, resolve
from trainer.engine import Trainer, run_training
from trainer.events import EventSink


def _config(data: Path, run: Path, **extra: object):  # -> TrainConfig
    options = {"data": str(data), "run_dir": str(run), "model": "zhong_baseline", "epochs": 1}
    run.mkdir(parents=True, exist_ok=True)  # run_training creates it; setup alone expects it
    return resolve({**options, **extra})


def test_setup_does_not_mutate_the_callers_config(tiny_dataset: Path, tmp_path: Path) -> None:
    config = _config(tiny_dataset, tmp_path / "run", threads=1)
    before = copy.deepcopy(config)
    assert config.input_size is None and config.mean is None  # resolved by setup, from the data
    trainer = Trainer(config, EventSink(None, stream=io.StringIO()))
    trainer.setup()
    assert config == before
    # the run itself works with the resolved values
    assert trainer.config.input_size is not None and trainer.config.mean is not None


def test_fine_tuning_does_not_mutate_the_callers_model_options(tiny_dataset: Path, tmp_path: Path) -> None:
    parent = _config(tiny_dataset, tmp_path / "parent", threads=1, export=False)
    assert run_training(parent, events=EventSink(None, stream=io.StringIO())) == 0
    child = _config(tiny_dataset, tmp_path / "child", threads=1, init=str(tmp_path / "parent" / LAST))
    before = copy.deepcopy(child)
    trainer = Trainer(child, EventSink(None, stream=io.StringIO()))
    trainer.setup()
    assert child == before and child.model_options == {}
    assert trainer.config.model_options == {"in_channels": 3}  # the parent checkpoint's options


def test_checkpoints_record_names_not_machine_paths(tiny_dataset: Path, tmp_path: Path) -> None:
    config = _config(tiny_dataset, tmp_path / "myrun", threads=1, export=False)
    assert run_training(config, events=EventSink(None, stream=io.StringIO())) == 0
    checkpoint = load_checkpoint(tmp_path / "myrun" / LAST)
    assert checkpoint["config"]["data"] == tiny_dataset.name
    assert checkpoint["config"]["run_dir"] == "myrun"
    assert checkpoint["data"] == tiny_dataset.name
    assert str(tmp_path) not in repr({k: v for k, v in checkpoint.items() if k != "state_dict"})


@pytest.mark.parametrize(("given", "expected"), [("3", 3), ("auto", "auto"), ("none", None), (2, 2)])
def test_threads_option(given: object, expected: object, tmp_path: Path) -> None:
    assert _config(tmp_path, tmp_path / "r", threads=given).threads == expected


@pytest.mark.parametrize("given", ["0", "many", "1.5"])
def test_bad_threads_are_named(given: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="threads"):
        _config(tmp_path, tmp_path / "r", threads=given)


def test_default_threads_are_torchs_and_fixed(tiny_dataset: Path, tmp_path: Path) -> None:
    default = torch.get_num_threads()
    trainer = Trainer(_config(tiny_dataset, tmp_path / "run"), EventSink(None, stream=io.StringIO()))
    try:
        trainer.setup()
        assert trainer.threads == default == torch.get_num_threads()
    finally:
        torch.set_num_threads(default)
