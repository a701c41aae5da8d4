"""Entry point of the ``defect-inspector`` command.

* ``defect-inspector [PATH] [--model M] [--screenshot OUT.png]``: the desktop station on an image,
  a folder or a project folder (the bundled demo when PATH is omitted);
* ``defect-inspector SRC``: the station in Live mode on a camera index (``0``), ``/dev/videoN``, a
  video file or a stream URL (``rtsp://``, ``http://`` ...), started with the station's model;
* ``defect-inspector predict --model M --input DIR --output DIR ...``: headless batch prediction
  (never loads Qt, needs no display);
* ``defect-inspector live --source SRC --model M ...``: headless live inspection of cameras,
  video files, streams and hot folders (see ``inspector_app.live_cli``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from inspector_app import __version__
from inspector_app.core.cli_paths import is_url, path_arg
from inspector_app.services.live.spec import SourceSpec, SourceSpecError, parse_source

#: Files opened as live video sources rather than as images.
VIDEO_SUFFIXES = frozenset({".avi", ".mp4", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".wmv"})


def station_arg(text: str) -> Path | SourceSpec:
    """``argparse`` type of the positional: a live source spec (camera, device, video, URL) or a
    path; a bad spec is refused with the parser's reason, quoted as typed."""
    live = is_url(text) or text.isdigit() or text.startswith("/dev/video")
    if live or Path(text).suffix.lower() in VIDEO_SUFFIXES:
        try:
            return parse_source(text, loop=False)
        except SourceSpecError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc
    return Path(text)


def build_parser() -> argparse.ArgumentParser:
    """Arguments of the GUI mode."""
    parser = argparse.ArgumentParser(
        prog="defect-inspector",
        description="Review images with predicted defect masks, annotate them and record OK/NG verdicts. "
        "Use 'defect-inspector predict --help' for headless batch prediction.",
    )
    parser.add_argument(
        "path",
        nargs="?",
        type=station_arg,
        help="image, folder or project folder (default: the bundled demo); or a live source: camera "
        "index, /dev/videoN, video file, rtsp:// or http:// URL (opens Live mode)",
    )
    parser.add_argument(
        "--model",
        type=path_arg,
        help="ONNX model to predict with (default: the project's, else the bundled one)",
    )
    parser.add_argument(
        "--screenshot",
        type=Path,
        metavar="OUT.png",
        help="render the window after loading PATH (and its prediction), save it as PNG and exit",
    )
    parser.add_argument("--size", default="1400x860", help="window size for --screenshot (WxH)")
    parser.add_argument("--operator", help="operator name recorded with verdicts (saved in the project)")
    parser.add_argument("--version", action="version", version=f"Defect Inspector {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the station or the ``predict`` subcommand; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "predict":
        from inspector_app.services.batch_cli import main as predict_main

        return predict_main(args[1:])
    if args and args[0] == "live":
        from inspector_app.live_cli import main as live_main

        return live_main(args[1:])
    options = build_parser().parse_args(args)
    from inspector_app.app import run  # Qt is imported only here

    return run(options)


if __name__ == "__main__":
    raise SystemExit(main())
