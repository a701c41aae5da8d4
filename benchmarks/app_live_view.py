"""Live mode in the station, offscreen: what the operator sees, and whether the window stays responsive.

Scenarios, each in the real ``MainWindow`` with the bundled ``resources/models/aluminum_zhong.onnx``
and an MJPG/AVI source played at 30 FPS (aluminum dataset images when present, else synthetic):

1. a 640x480 source for ``--duration`` s: results drawn per second, end-to-end latency (capture
   -> image set on the tile) p50/p95, and the event-loop stall (the largest gap between ticks of a
   10 ms QTimer, minus its period);
2. a 1920x1080 source for ``--short`` s in each size setting (full / downscale / tiles): results
   drawn per second and the stall.

For the largest gap the GUI thread's own CPU time within it is printed too (``time.thread_time``):
a long gap with little CPU means the thread was waiting for a core or the GIL, not working.

Usage: ``python benchmarks/app_live_view.py [--duration 20] [--short 10] [--only 1,2] [--threads N]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from benchmarks.live_pipeline import MODEL, frames, write_clip
from inspector_app.core.modelcard import read_card
from inspector_app.main_window import MainWindow


def measure(
    window: MainWindow, app: QApplication, clip: Path, size_mode: str, seconds: float
) -> dict[str, float]:
    """Run ``clip`` in Live mode for ``seconds``; figures of the drawn results and the event loop."""
    live = window.live_mode.live
    for _ in live.sources:
        live.remove_source(0)
    live.update_settings(size_mode=size_mode)
    assert live.add_source(str(clip), remember=False) is None
    assert live.start()
    drawn: list[tuple[float, float]] = []  # (time drawn, latency ms)

    def on_result(source_id: int) -> None:
        frame = live.shown(source_id)
        if frame is not None and (not drawn or drawn[-1][0] != frame.result.captured):
            now = time.monotonic()
            drawn.append((now, (now - frame.result.captured) * 1000.0))

    live.result_arrived.connect(on_result)  # after the mode's slot: the tile has the image now
    ticks: list[tuple[float, float]] = []  # (wall, this thread's CPU time) at each tick
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append((time.monotonic(), time.thread_time())))
    warmup_end = time.monotonic() + 2.0
    end = warmup_end + seconds
    timer.start(10)
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    live.result_arrived.disconnect(on_result)
    live.stop()
    shown = [(t, lat) for t, lat in drawn if t >= warmup_end]
    kept = np.array([t for t in ticks if t[0] >= warmup_end]).reshape(-1, 2)
    gaps = np.diff(kept[:, 0]) * 1000.0
    cpu = np.diff(kept[:, 1]) * 1000.0  # what the GUI thread itself computed during each gap
    lat = np.array([lat for _t, lat in shown]) if shown else np.array([np.nan])
    return {
        "drawn_per_s": len(shown) / seconds,
        "latency_p50_ms": float(np.percentile(lat, 50)),
        "latency_p95_ms": float(np.percentile(lat, 95)),
        "stall_ms": float(gaps.max() - 10.0) if len(gaps) else float("nan"),
        "stall_cpu_ms": float(cpu[gaps.argmax()]) if len(gaps) else float("nan"),
        "gui_cpu_pct": float(100.0 * cpu.sum() / gaps.sum()) if len(gaps) else float("nan"),
    }


def main() -> int:
    """Run the scenarios and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--short", type=float, default=10.0)
    parser.add_argument("--only", default="1,2")
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime threads (default: all)")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    window = MainWindow(operator="bench")
    window.resize(1400, 860)
    window.show()
    window.modes.switch("live")
    window.live_mode.live.threads = args.threads
    window.live_mode.live.follow_model(MODEL, read_card(MODEL).class_table)
    images, what = frames(60)
    print(
        f"model {MODEL.name}; threads {args.threads or 'default'}; source frames: {what}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        if "1" in args.only:
            clip = write_clip(Path(tmp) / "vga.avi", images, (640, 480))
            r = measure(window, app, clip, "full", args.duration)
            print(
                f"640x480@30 full, {args.duration:.0f} s: {r['drawn_per_s']:.1f} results drawn/s, latency "
                f"capture->drawn p50 {r['latency_p50_ms']:.1f} ms p95 {r['latency_p95_ms']:.1f} ms, "
                f"event-loop stall {r['stall_ms']:.1f} ms (GUI thread CPU in it {r['stall_cpu_ms']:.1f} ms), "
                f"GUI thread CPU {r['gui_cpu_pct']:.0f} %"
            )
        if "2" in args.only:
            clip = write_clip(Path(tmp) / "hd.avi", images[:20], (1920, 1080))
            for size_mode in ("full", "downscale", "tiles"):
                r = measure(window, app, clip, size_mode, args.short)
                print(
                    f"1920x1080@30 {size_mode}, {args.short:.0f} s: {r['drawn_per_s']:.1f} results drawn/s, "
                    f"p95 {r['latency_p95_ms']:.0f} ms, event-loop stall {r['stall_ms']:.1f} ms "
                    f"(GUI thread CPU in it {r['stall_cpu_ms']:.1f} ms), "
                    f"GUI thread CPU {r['gui_cpu_pct']:.0f} %"
                )
    window.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
