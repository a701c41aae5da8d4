"""A refused ``defect-train train`` leaves the run folder it refused as it was, and a damaged last.pt on
``--resume`` is named in plain words (never PyTorch's advice to load it with weights_only=False)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.trainer.test_cli_errors import FAST, run_train

Maker = Callable[..., Path]


def test_a_used_run_folder_is_refused_without_touching_its_files(
    tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "last.pt").write_bytes(b"the finished run's weights")
    history = b'{"v": 1, "type": "finished", "status": "ok", "exit_code": 0}\n'
    (run / "events.jsonl").write_bytes(history)
    (run / "train.log").write_bytes(b"log of the finished run\n")
    code, message, _err = run_train(capsys, "--data", str(tiny_dataset), "--model", "zhong",
                                    "--run-dir", str(run), *FAST)  # fmt: skip
    assert code == 2 and "already holds a run" in message
    assert (run / "events.jsonl").read_bytes() == history  # no error/finished: failed appended
    assert (run / "train.log").read_bytes() == b"log of the finished run\n"
    assert (run / "last.pt").read_bytes() == b"the finished run's weights"


def test_a_damaged_last_pt_on_resume_is_named_plainly(
    tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "last.pt").write_bytes(b"\x80\x04garbage that is no checkpoint" * 50)
    code, message, _err = run_train(capsys, "--data", str(tiny_dataset), "--model", "zhong",
                                    "--run-dir", str(run), "--resume", *FAST)  # fmt: skip
    assert code == 2
    assert str(run / "last.pt") in message and "damaged" in message
    assert "weights_only" not in message and "arbitrary code" not in message
