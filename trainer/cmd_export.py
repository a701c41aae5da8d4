"""``defect-train export``: a run's best checkpoint -> ``model.onnx`` + ``model.json`` (+ int8).

Events follow the trainer protocol: each ``exported`` event is printed on stdout as one JSON line
and appended to ``run_dir/events.jsonl``; a failure prints an ``error`` event on stdout only (the
run's history stays about training) and the reason on stderr. Exit codes: 0 ok, 2 bad input (no
run folder, no checkpoint, unreadable checkpoint, no data for int8 calibration), 1 failure
(export or parity check failed).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from inspector_app.core.protocol import ExitCode
from trainer.events import EventSink, setup_logging


def _fail(message: str, code: str, exit_code: ExitCode) -> int:
    # stdout only: the run's events.jsonl stays the history of its training and exports
    EventSink(None).error(f"export: {message}", code)
    return exit_code


def run(args: argparse.Namespace) -> int:
    """Export the run; see the module docstring for events and exit codes."""
    setup_logging(None)
    run_dir = Path(args.run_dir).absolute()  # events carry absolute paths, as the engine's do
    if not run_dir.is_dir():
        return _fail(f"run folder {run_dir} does not exist", "bad_input", ExitCode.BAD_INPUT)
    # torch/onnx load here, after the cheap checks, so that mistakes are reported fast
    from trainer.card import CardError
    from trainer.checkpoint import CheckpointError, find_checkpoint, load_checkpoint
    from trainer.export import ExportError, export_run
    from trainer.quantize import QuantizationError

    try:
        load_checkpoint(find_checkpoint(run_dir))
    except CheckpointError as exc:
        return _fail(str(exc), "bad_input", ExitCode.BAD_INPUT)
    events = EventSink(run_dir)
    try:
        path = export_run(
            run_dir,
            quantize=args.int8,
            out=Path(args.out).absolute() if args.out else None,
            exporter=args.exporter,
            emit=events.emit,
        )
    except CardError as exc:  # outputs and class table of the checkpoint disagree
        return _fail(str(exc), "bad_input", ExitCode.BAD_INPUT)
    except QuantizationError as exc:
        return _fail(f"int8 quantisation: {exc}", "bad_input", ExitCode.BAD_INPUT)
    except ExportError as exc:
        return _fail(f"export failed: {exc}", "export_failed", ExitCode.CRASH)
    events.log.info(f"export: wrote {path}")
    return ExitCode.OK


def register(subparsers: Any) -> None:
    """Add the ``export`` subcommand to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "export",
        help="export a run's best checkpoint to ONNX with its model card",
        description="Export run_dir/best.pt (else last.pt) to ONNX (opset 18, dynamic batch/height/"
        "width) with the model card embedded and written beside it; the graph is checked against "
        "PyTorch at two sizes. --int8 adds a statically quantised model calibrated on training images.",
    )
    parser.add_argument("--run-dir", required=True, metavar="DIR", help="run folder with best.pt or last.pt")
    parser.add_argument("--int8", action="store_true", help="also write <model>.int8.onnx (QDQ, per channel)")
    parser.add_argument(
        "--out", default=None, metavar="PATH", help="ONNX file to write (default: DIR/model.onnx)"
    )
    parser.add_argument(
        "--exporter",
        choices=("dynamo", "torchscript"),
        default="dynamo",
        help="torch exporter: dynamo (default, torch.export) or the older, faster torchscript one",
    )
    parser.set_defaults(func=run)
