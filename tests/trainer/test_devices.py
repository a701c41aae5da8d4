"""``defect-train devices``: the device probe and the measured warm-up the station shows."""

from __future__ import annotations

import json

import pytest
import torch

from trainer.cli import main


def test_devices_json_lists_the_cpu_or_gpus_and_a_measured_warmup(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["devices", "--json", "--warmup", "zhong", "--size", "64x64", "--steps", "1", "--batch-size", "1"]
    )
    assert code == 0
    info = json.loads(capsys.readouterr().out)
    assert info["cuda_available"] == torch.cuda.is_available()
    assert len(info["gpus"]) == (torch.cuda.device_count() if torch.cuda.is_available() else 0)
    assert info["cpu"]["cores"] >= 1 and info["default_device"] in ("cpu", "cuda:0")
    warm = info["warmup"]
    assert warm["model"] == "zhong" and warm["size"] == [64, 64] and warm["images"] == 1
    assert warm["seconds_per_image"] > 0


def test_devices_refuses_a_bad_warmup_size_with_suggestions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["devices", "--json", "--warmup", "zhong", "--size", "70x70"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "nearest valid: 64x64" in captured.err
    assert main(["devices", "--warmup", "no_such_net"]) == 2
    assert "unknown model" in capsys.readouterr().err
