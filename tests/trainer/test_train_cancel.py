"""Cancelling a real ``defect-train train`` process: STOP file and SIGTERM -> exit 3 with a checkpoint."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inspector_app.core.protocol import from_line
from trainer.checkpoint import load_checkpoint

REPO = Path(__file__).resolve().parents[2]


def start(data: Path, run: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    command = [
        sys.executable, "-m", "trainer.cli", "train", "--data", str(data), "--model", "zhong_baseline",
        "--run-dir", str(run), "--epochs", "100000", "--threads", "1", "--no-export", "--log-every", "1",
        "--eval-every", "1000",
    ]  # fmt: skip
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO
    )


def wait_for_progress(process: subprocess.Popen[str], count: int = 3) -> list[str]:
    """Read stdout until ``count`` progress events arrived (training is really under way)."""
    lines: list[str] = []
    assert process.stdout is not None
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if sum('"type":"progress"' in ln for ln in lines) >= count:
            return lines
    process.kill()
    raise AssertionError(f"no progress events; stderr:\n{process.communicate()[1][-3000:]}")


@pytest.mark.parametrize("how", ["stop_file", "sigterm"])
def test_cancel_exits_3_after_saving_a_checkpoint(tiny_dataset: Path, tmp_path: Path, how: str) -> None:
    run = tmp_path / "run"
    process = start(tiny_dataset, run)
    try:
        lines = wait_for_progress(process)
        if how == "stop_file":
            (run / "STOP").touch()
        else:
            process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 3, err[-3000:]
    events = [from_line(line) for line in lines + out.splitlines() if line.strip()]
    assert events[-1].type == "finished" and events[-1].status == "cancelled" and events[-1].exit_code == 3
    assert any(e.type == "checkpoint" for e in events)
    checkpoint = load_checkpoint(run / "last.pt")
    assert checkpoint["scheduler"]["step"] >= 3
    assert "cancelled" in err
