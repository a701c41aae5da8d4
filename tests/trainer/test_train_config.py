"""Training configuration (trainer.config) and learning-rate schedule (trainer.schedule)."""

from __future__ import annotations

import argparse
import itertools
import math
from pathlib import Path

import pytest
import torch
import yaml

from trainer.config import (
    ConfigError,
    TrainConfig,
    add_arguments,
    from_mapping,
    overrides_from_args,
    resolve,
    save_yaml,
    to_dict,
)
from trainer.runtime import choose_precision, threads_for_load
from trainer.schedule import build_optimizer, lr_factor


def parse(*argv: str) -> dict[str, object]:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return overrides_from_args(parser.parse_args(list(argv)))


def test_every_field_is_a_command_line_option() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    options = {a.dest for a in parser._actions}
    assert set(to_dict(TrainConfig())) <= options


def test_only_given_options_override() -> None:
    assert parse("--epochs", "3", "--no-rot90", "--hflip", "0") == {
        "epochs": "3",
        "rot90": False,
        "hflip": "0",
    }
    assert parse() == {}


def test_precedence_defaults_saved_file_cli(tmp_path: Path) -> None:
    run_yaml = tmp_path / "run.yaml"
    run_yaml.write_text(yaml.safe_dump({"epochs": 7, "lr": 0.05, "model": "unet"}))
    saved = {"epochs": 2, "lr": 0.1, "batch_size": 16, "data": "d", "run_dir": "r"}
    config = resolve(parse("--epochs", "9", "--input-size", "480x640"), run_yaml, saved=saved)
    assert config.epochs == 9  # command line beats the file
    assert config.lr == 0.05  # the file beats the saved config
    assert config.batch_size == 16  # the saved config beats the defaults
    assert config.model == "unet" and config.input_size == (480, 640)
    assert Path(config.data).is_absolute() and Path(config.run_dir).is_absolute()


@pytest.mark.parametrize(
    ("key", "raw", "value"),
    [
        ("input_size", "480x640", (480, 640)),
        ("input_size", "512", (512, 512)),
        ("input_size", [32, 64], (32, 64)),
        ("crop_size", "none", None),
        ("mean", "0.1633", [0.1633]),
        ("milestones", "100,150", [100.0, 150.0]),
        ("class_weights", "auto", "auto"),
        ("class_weights", "0.1,0.2", [0.1, 0.2]),
        ("model_options", '{"base": 8}', {"base": 8}),
        ("cpu_bf16", "auto", None),
        ("cpu_bf16", "yes", True),
        ("binary", "true", True),
        ("epochs", 3.0, 3),
        ("lr", "1e-3", 0.001),
    ],
)
def test_value_parsing(key: str, raw: object, value: object) -> None:
    assert getattr(from_mapping({key: raw}), key) == value


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"epochs": 2.5}, "epochs"),
        ({"binary": "maybe"}, "binary"),
        ({"input_size": "480x"}, "input_size"),
        ({"nonsense": 1}, "nonsense"),
    ],
)
def test_bad_values_name_the_key(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_mapping(values)


def test_validation(tmp_path: Path) -> None:
    base = {"data": str(tmp_path), "run_dir": str(tmp_path / "r")}
    with pytest.raises(ConfigError, match="multiples of 32"):
        resolve({**base, "crop_size": "100x96"})
    with pytest.raises(ConfigError, match="larger than input_size"):
        resolve({**base, "crop_size": "128", "input_size": "64"})
    with pytest.raises(ConfigError, match="val_fraction"):
        resolve({**base, "val_fraction": 1.0})
    with pytest.raises(ConfigError, match="--run-dir"):
        resolve({"data": str(tmp_path)})


def test_saved_yaml_round_trips(tmp_path: Path) -> None:
    config = resolve({"data": "d", "run_dir": "r", "input_size": "64x96", "class_weights": "1,2,3"})
    save_yaml(config, tmp_path / "config.yaml")
    again = resolve({}, saved=yaml.safe_load((tmp_path / "config.yaml").read_text()))
    assert again == config


def _factors(config: TrainConfig, steps_per_epoch: int = 10) -> list[float]:
    total = steps_per_epoch * config.epochs
    return [lr_factor(config, s, steps_per_epoch, total) for s in range(total)]


def test_cosine_with_warmup() -> None:
    f = _factors(TrainConfig(epochs=10, scheduler="cosine", warmup_epochs=2, lr=0.01, min_lr=0.001))
    assert f[0] == pytest.approx(0.01) and f[10] == pytest.approx(0.01 + 0.99 * 10 / 20)
    assert f[20] == pytest.approx(1.0)  # peak right after warm-up
    assert all(a >= b for a, b in itertools.pairwise(f[20:]))  # then non-increasing
    assert f[-1] == pytest.approx(0.1, abs=0.01)  # towards min_lr / lr


def test_multistep_milestones_in_epochs_and_fractions() -> None:
    f = _factors(TrainConfig(epochs=10, scheduler="multistep", milestones=[5, 0.8], lr_gamma=0.1))
    assert f[49] == 1.0 and f[50] == pytest.approx(0.1) and f[80] == pytest.approx(0.01)


def test_onecycle_rises_then_falls() -> None:
    f = _factors(TrainConfig(epochs=10, scheduler="onecycle"))
    peak = max(range(len(f)), key=f.__getitem__)
    assert f[0] == pytest.approx(1 / 25) and f[peak] == pytest.approx(1.0, abs=1e-3)
    assert 25 <= peak <= 35 and f[-1] < 1e-3


def test_constant_schedule() -> None:
    assert set(_factors(TrainConfig(epochs=2, scheduler="none"))) == {1.0}


def test_optimizers() -> None:
    params = [torch.nn.Parameter(torch.zeros(2))]
    assert isinstance(build_optimizer(TrainConfig(optimizer="adam"), iter(params)), torch.optim.Adam)
    assert isinstance(build_optimizer(TrainConfig(optimizer="adamw"), iter(params)), torch.optim.AdamW)
    sgd = build_optimizer(TrainConfig(optimizer="sgd", momentum=0.8, weight_decay=1e-4), iter(params))
    assert isinstance(sgd, torch.optim.SGD)
    assert sgd.param_groups[0]["momentum"] == 0.8 and math.isclose(sgd.param_groups[0]["weight_decay"], 1e-4)


def test_cpu_precision_defaults_follow_the_measurements() -> None:
    cpu = torch.device("cpu")
    zhong = choose_precision(TrainConfig(model="zhong"), cpu)
    assert zhong.autocast_dtype is None and not zhong.channels_last
    anet = choose_precision(TrainConfig(model="anet"), cpu)
    assert anet.autocast_dtype is None and anet.channels_last
    forced = choose_precision(TrainConfig(model="zhong", cpu_bf16=True, channels_last=True), cpu)
    assert forced.autocast_dtype == torch.bfloat16 and forced.channels_last and not forced.grad_scaler


def test_threads_follow_the_load_of_other_processes() -> None:
    # idle 2-core machine: both cores; one busy core elsewhere: one thread; heavy load: still one
    assert threads_for_load(2, 0.1, own_threads=0) == 2
    assert threads_for_load(2, 1.0, own_threads=0) == 1
    assert threads_for_load(2, 6.0, own_threads=0) == 1
    # our own two busy threads are not "other load"
    assert threads_for_load(2, 2.1, own_threads=2) == 2
    assert threads_for_load(2, 3.0, own_threads=2) == 1
    # torchrun: cores shared between the processes
    assert threads_for_load(16, 0.0, own_threads=0, processes=4) == 4
    assert threads_for_load(2, None, own_threads=1) == 2


def test_bundled_configurations_by_name(tmp_path: Path) -> None:
    from trainer.config import bundled_configs, find_config_file

    bundled = bundled_configs()
    assert {"aluminum_zhong", "magnetic_tile_anet"} <= set(bundled)
    by_name = find_config_file("aluminum_zhong")
    assert by_name == find_config_file("aluminum_zhong.yaml") == bundled["aluminum_zhong"]
    config = resolve({"data": str(tmp_path), "run_dir": str(tmp_path / "r")}, "magnetic_tile_anet")
    assert config.model == "anet"
    own = tmp_path / "aluminum_zhong.yaml"  # an existing file wins over the bundled name
    own.write_text("epochs: 3\n")
    assert resolve({"data": str(tmp_path), "run_dir": str(tmp_path / "r")}, own).epochs == 3
    with pytest.raises(ConfigError, match=r"bundled configurations: .*aluminum_zhong"):
        resolve({"data": str(tmp_path), "run_dir": str(tmp_path / "r")}, "no_such_config")
