"""``defect-inspector live``: the headless live command as a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.live_streams import MjpegServer, free_port, write_clip
from tests.onnx_factory import rgb4

REPO = Path(__file__).resolve().parents[2]
# Runs main() and fails if anything imported Qt: the live command must work without a display.
_RUNNER = (
    "import sys; from inspector_app.__main__ import main; rc = main(sys.argv[1:]); "
    "bad = [m for m in sys.modules if m.startswith(('PySide6', 'shiboken6'))]; "
    "print('QT-IMPORTED', bad, file=sys.stderr) if bad else None; sys.exit(rc if not bad else 99)"
)


def _command(*args: str | Path) -> list[str]:
    return [sys.executable, "-c", _RUNNER, "live", *map(str, args)]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def test_two_sources_report_and_lines(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.avi", frames=15)
    server = MjpegServer(fps=30).start()
    model = rgb4(tmp_path / "m.onnx")
    report = tmp_path / "stats.json"
    try:
        run = subprocess.run(
            _command(
                "--source",
                clip,
                "--source",
                server.url,
                "--model",
                model,
                "--duration",
                "3",
                "--report",
                report,
                "--lines",
                tmp_path / "v.jsonl",
                "--headless",
                "--threads",
                "1",
            ),
            cwd=REPO,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        server.kill()
    assert run.returncode == 0, run.stderr
    data = json.loads(report.read_text(encoding="utf-8"))
    assert [s["source"] for s in data["sources"]] == [str(clip), server.url]  # URL printed intact
    assert data["sources"][0]["state"] == "ended" and data["sources"][0]["captured"] == 15
    assert data["sources"][1]["inferred"] > 0
    assert data["inferred"] == data["ok"] + data["ng"] > 0
    assert set(data["latency_ms"]) == {"p50", "p95", "p99"}
    lines = (tmp_path / "v.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == data["inferred"]
    assert "results" in run.stderr  # progress lines


def test_sigterm_stops_cleanly_and_writes_the_report(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.avi", frames=10)
    report = tmp_path / "stats.json"
    proc = subprocess.Popen(
        _command("--source", clip, "--loop", "--model", rgb4(tmp_path / "m.onnx"), "--report", report),
        cwd=REPO,
        env=_env(),
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # wait for the first progress line: frames are flowing
        if "results" in proc.stderr.readline():
            break
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["inferred"] > 0 and data["sources"][0]["state"] == "stopped"


def test_dead_stream_is_a_clear_message_not_a_freeze(tmp_path: Path) -> None:
    url = f"rtsp://127.0.0.1:{free_port()}/line"
    report = tmp_path / "stats.json"
    run = subprocess.run(
        _command(
            "--source", url, "--model", rgb4(tmp_path / "m.onnx"), "--duration", "2", "--report", report
        ),
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1
    assert f"{url}: reconnecting: {url}: cannot connect" in run.stderr
    assert json.loads(report.read_text(encoding="utf-8"))["sources"][0]["reconnects"] == 0


def test_bad_source_spec_is_an_argument_error(tmp_path: Path) -> None:
    run = subprocess.run(
        _command("--source", "nowhere.mp4", "--model", rgb4(tmp_path / "m.onnx")),
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2 and "'nowhere.mp4': no such file or folder" in run.stderr
