"""``defect-inspector live``: the live pipeline without a window (servers, soak tests, benchmarks).

Never imports Qt. Progress goes to stderr once a second; Ctrl+C or SIGTERM stop cleanly and the
JSON report (``--report``) is written in every case. Exit codes: 0 when frames were inferred,
1 when no source delivered a frame (the messages say why), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TextIO

from inspector_app.core.fileio import atomic_write_text
from inspector_app.core.modelcard import ModelError
from inspector_app.services.live.pipeline import MAX_SOURCES, LivePipeline, PipelineOptions
from inspector_app.services.live.rules import RulesError, load_rules, rules_path
from inspector_app.services.live.sizing import SIZE_MODES, SizePolicy
from inspector_app.services.live.sources import SourceSettings, open_source
from inspector_app.services.live.spec import SourceSpecError, parse_source

__all__ = ["build_parser", "main", "rss_mb"]


def build_parser(prog: str = "defect-inspector live") -> argparse.ArgumentParser:
    """Arguments of the headless live command."""
    p = argparse.ArgumentParser(
        prog=prog,
        description="Run cameras, video files, RTSP/HTTP streams or hot folders through a model and "
        "judge every frame OK/NG, without a window.",
    )
    p.add_argument(
        "--source",
        action="append",
        required=True,
        metavar="SRC",
        help="camera index (0), /dev/videoN, video file, rtsp:// or http:// URL, folder (hot folder) "
        f"or genicam:PATH.cti[#SERIAL]; repeat for up to {MAX_SOURCES} sources",
    )
    p.add_argument("--model", type=Path, required=True, help="ONNX model")
    p.add_argument("--max-frames", type=int, help="stop after this many results (all sources together)")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--report", type=Path, help="write the JSON report here (also on Ctrl+C)")
    p.add_argument(
        "--headless", action="store_true", help="accepted for symmetry: this command never opens a window"
    )
    p.add_argument("--loop", action="store_true", help="restart video files at their end")
    p.add_argument(
        "--fps",
        type=float,
        default=0.0,
        help="camera frame rate to ask for; video files: playback rate (0 = the file's, -1 = unpaced)",
    )
    p.add_argument(
        "--ffmpeg-options",
        default="",
        metavar="K;V|K;V",
        help="FFmpeg options for stream sources, e.g. 'rtsp_transport;tcp' or "
        "'rtsp_flags;listen|listen_timeout;10' to receive a pushed RTSP stream",
    )
    p.add_argument("--size-mode", choices=SIZE_MODES, default="full", help="how large frames are inferred")
    p.add_argument("--max-side", type=int, default=960, help="longer side for --size-mode downscale")
    p.add_argument("--tile", type=int, default=512, help="tile size for --size-mode tiles")
    p.add_argument("--overlap", type=int, default=64, help="tile overlap in px")
    p.add_argument(
        "--project",
        type=Path,
        help="project folder: verdict rules from .inspector/verdict_rules.json, NG frames saved to "
        "live_captures/, verdicts logged in the review log",
    )
    p.add_argument("--rules", type=Path, help="verdict rules JSON (overrides the project's)")
    p.add_argument("--lines", type=Path, help="append each verdict as a JSON line to this file")
    p.add_argument(
        "--tcp-port", type=int, help="serve verdict JSON lines on 127.0.0.1:PORT (0 = any free port)"
    )
    p.add_argument(
        "--ng-interval", type=float, default=1.0, help="NG capture: at most one frame per source per S s"
    )
    p.add_argument(
        "--ng-quota-mb", type=float, default=1024.0, help="NG capture: disk quota of the capture folder"
    )
    p.add_argument("--ok-every", type=int, default=100, help="review log: record one OK verdict in N")
    p.add_argument("--threads", type=int, help="onnxruntime intra-op threads")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    return p


def rss_mb() -> float | None:
    """Resident memory of this process in MiB (Linux /proc), None elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024.0, 1)
    except OSError:
        return None
    return None


def _progress(pipeline: LivePipeline, stream: TextIO) -> None:
    r = pipeline.report()
    parts = [f"{s.source} {s.state} {s.captured}f {s.capture_fps:.1f}fps" for s in r.sources]
    p95 = r.latency_ms["p95"]
    stream.write(
        f"[{r.duration_s:6.1f}s] {' | '.join(parts)} || results {r.inferred} ({r.infer_fps:.1f}/s, "
        f"p95 {'-' if p95 is None else f'{p95:.0f}'} ms) OK {r.ok} NG {r.ng} dropped {r.dropped} "
        f"reconnects {r.reconnects}\n"
    )
    stream.flush()


def _build_outputs(args: argparse.Namespace, pipeline_table: object, stream: TextIO) -> list[object]:
    from inspector_app.services.live.ngcapture import NgCapture, ReviewSink
    from inspector_app.services.live.outputs import JsonLineFile, TcpLineServer

    outputs: list[object] = []
    if args.lines:
        outputs.append(JsonLineFile(args.lines))
    if args.tcp_port is not None:
        server = TcpLineServer(args.tcp_port)
        stream.write(f"verdict lines on 127.0.0.1:{server.port}\n")
        outputs.append(server)
    if args.project:
        outputs.append(
            NgCapture(
                args.project / "live_captures",
                pipeline_table,  # type: ignore[arg-type]
                min_interval_s=args.ng_interval,
                quota_mb=args.ng_quota_mb,
            )
        )
        outputs.append(ReviewSink(args.project / ".inspector" / "review.sqlite", ok_every=args.ok_every))
    return outputs


def main(argv: Sequence[str] | None = None, *, stream: TextIO | None = None) -> int:
    """Run the command; returns the exit code."""
    err = stream or sys.stderr
    parser = build_parser()
    args = parser.parse_args(argv)
    if len(args.source) > MAX_SOURCES:
        parser.error(f"at most {MAX_SOURCES} sources")
    try:
        specs = [parse_source(s, loop=args.loop) for s in args.source]
        size = SizePolicy(args.size_mode, args.max_side, args.tile, args.overlap)
        rules_file = args.rules or (rules_path(args.project / ".inspector") if args.project else None)
        rules = load_rules(rules_file) if rules_file else PipelineOptions().rules
    except (SourceSpecError, RulesError, ValueError) as exc:
        parser.error(str(exc))
    from inspector_app.core.predictor import Predictor  # onnxruntime only once the arguments are good

    rss_start = rss_mb()
    try:
        model = Predictor(args.model, threads=args.threads)
        model.warmup()
    except ModelError as exc:
        err.write(f"error: {exc}\n")
        return 2
    settings = SourceSettings(fps=args.fps, ffmpeg_options=args.ffmpeg_options)
    try:
        outputs = _build_outputs(args, model.class_table, err)
    except OSError as exc:
        err.write(f"error: {exc}\n")
        return 2
    pipeline = LivePipeline(
        [open_source(s, settings) for s in specs],
        model,
        PipelineOptions(size=size, rules=rules, threads=args.threads),
        outputs,  # type: ignore[arg-type]
    )
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = (
        signal.signal(signal.SIGTERM, on_signal)
        if threading.current_thread() is threading.main_thread()
        else None
    )
    pipeline.start()
    started = time.monotonic()
    next_progress = started + 1.0
    rss_series: list[tuple[float, float | None]] = []  # memory flatness over a soak: every 10 s
    next_rss = started + 10.0
    states: dict[int, str] = {}
    try:
        while not stop.is_set():
            stop.wait(0.05)
            for h in pipeline.health():
                key = f"{h.state}:{h.message}"
                if states.get(h.source_id) != key and h.state not in ("live", "connecting"):
                    err.write(f"{h.label}: {h.state}{': ' + h.message if h.message else ''}\n")
                states[h.source_id] = key
            if args.max_frames and pipeline.stats.inferred >= args.max_frames:
                break
            if args.duration and time.monotonic() - started >= args.duration:
                break
            if pipeline.finished:
                break
            if time.monotonic() >= next_rss:
                rss_series.append((round(time.monotonic() - started, 1), rss_mb()))
                next_rss += 10.0
            if not args.quiet and time.monotonic() >= next_progress:
                _progress(pipeline, err)
                next_progress += 1.0
    except KeyboardInterrupt:
        err.write("interrupted: stopping\n")
    finally:
        pipeline.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    final = pipeline.report()
    data = final.to_dict()
    data["rss_mb_start"], data["rss_mb_end"] = rss_start, rss_mb()
    data["rss_mb_every_10s"] = rss_series
    data["output_overflow"] = pipeline.output_overflow
    data["errors"] = pipeline.errors[:20]
    data["size_mode"] = size.mode
    if not args.quiet:
        _progress(pipeline, err)
    if args.report:
        try:
            atomic_write_text(args.report, json.dumps(data, indent=2) + "\n")
        except OSError as exc:
            err.write(f"error: {args.report}: cannot write the report ({exc.strerror or exc})\n")
            return 1
    if final.inferred == 0:
        err.write(
            "no frame was inferred: "
            + "; ".join(f"{s.source}: {s.state} {s.message}" for s in final.sources)
            + "\n"
        )
        return 1
    return 0
