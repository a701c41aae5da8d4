"""The ``defect-inspector predict`` command line around :func:`inspector_app.services.batch.run_batch`.

Progress lines and every problem go to stderr; the run's summary line is printed whatever happened
(also when the CSV cannot be written); the exit code is a :class:`~inspector_app.services.batch.BatchExit`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from inspector_app.core.cli_paths import path_arg
from inspector_app.services.batch import (
    DEFAULT_MEMORY_LIMIT,
    OVERLAY_DIR,
    BatchError,
    BatchExit,
    BatchOptions,
    BatchProgress,
    BatchReport,
    run_batch,
)

EXIT_CODES = f"""\
exit codes:
  {BatchExit.OK:d}  every input done (predicted now, or already done by this model)
  {BatchExit.SOME_FAILED:d}  some inputs failed: unreadable images or folders, outputs not ours (never
     overwritten), images sharing a stem, failed writes, or the CSV could not be written;
     each is named on stderr and in the CSV
  {BatchExit.BAD_ARGUMENTS:d}  bad arguments, an unusable model or class table, an output folder that
     cannot be made
  {BatchExit.CANCELLED:d}  cancelled (Ctrl+C)
  {BatchExit.NOTHING_DONE:d}  nothing done: no image found, or every input failed
"""


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _gigabytes(text: str) -> int:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return int(value * 2**30)


def build_parser(prog: str = "defect-inspector predict") -> argparse.ArgumentParser:
    """Arguments of the ``predict`` subcommand."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Predict defect masks for every image of a folder (headless, no display needed). "
        "Outputs carry the id of the model that wrote them: files this command did not write are "
        "never overwritten, outputs of this model are skipped, those of another model redone.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", required=True, type=path_arg, help="ONNX model with its model card")
    parser.add_argument("--input", required=True, type=path_arg, help="folder of images (subfolders too)")
    parser.add_argument(
        "--output", required=True, type=path_arg, help="folder for the results (may be the input folder)"
    )
    parser.add_argument("--masks", action="store_true", help="write <stem>.png class-index masks (default)")
    parser.add_argument("--labelme", action="store_true", help="write <stem>.json LabelMe predictions")
    parser.add_argument("--overlays", action="store_true", help=f"write {OVERLAY_DIR}/<stem>.jpg overlays")
    parser.add_argument("--csv", type=Path, metavar="FILE", help="write a per-input summary CSV")
    parser.add_argument(
        "--classes",
        type=Path,
        metavar="YAML",
        help="class table (classes.yaml) for a model without a model card",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="redo images already done by this model; also replace masks and overlays that this "
        "command did not write (never a LabelMe file nor an input image)",
    )
    parser.add_argument(
        "--tile",
        type=_positive_int,
        metavar="PX",
        help="predict images larger than PX pixels a side in PX x PX tiles (for models of any input "
        "size; huge images are refused without it)",
    )
    parser.add_argument(
        "--memory-limit",
        type=_gigabytes,
        default=DEFAULT_MEMORY_LIMIT,
        metavar="GB",
        help=f"refuse images whose prediction needs more memory (default {DEFAULT_MEMORY_LIMIT >> 30})",
    )
    parser.add_argument("--threads", type=int, default=None, help="inference threads (default: auto)")
    parser.add_argument("--io-threads", type=int, default=2, help="decode/encode threads (default 2)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return parser


class _StderrProgress:
    """Progress lines on stderr at most every half second (and at the end)."""

    def __init__(self, stream: TextIO, quiet: bool) -> None:
        self.stream = stream
        self.quiet = quiet
        self.last = 0.0
        self.finished = False

    def __call__(self, p: BatchProgress) -> None:
        now = time.monotonic()
        end = p.done == p.total
        if self.quiet or not p.total or (end and self.finished):
            return
        if now - self.last >= 0.5 or end:
            self.last = now
            self.finished = end
            print(
                f"predict: {p.done}/{p.total}  {p.images_per_s:.1f} img/s  "
                f"skipped {p.skipped}  failed {p.failed}",
                file=self.stream,
                flush=True,
            )


def summary_line(report: BatchReport) -> str:
    """The run's summary (the same failed count as the progress lines)."""
    redone = f", {len(report.redone)} redone (another model's outputs)" if report.redone else ""
    return (
        f"predict: {report.processed} predicted, {report.skipped} already done, "
        f"{len(report.failures)} failed ({len(report.unreadable)} unreadable){redone}; "
        f"{report.elapsed_s:.1f} s, {report.images_per_s:.1f} img/s (model {report.model_id})"
    )


def main(argv: Sequence[str] | None = None, *, stream: TextIO | None = None) -> int:
    """Run ``predict`` from the command line; returns the exit code."""
    err = stream or sys.stderr
    args = build_parser().parse_args(argv)  # exits with 2 on bad arguments
    options = BatchOptions(
        model=args.model,
        input_dir=args.input,
        output_dir=args.output,
        masks=args.masks,
        labelme=args.labelme,
        overlays=args.overlays,
        csv=args.csv,
        force=args.force,
        threads=args.threads,
        io_threads=args.io_threads,
        classes=args.classes,
        memory_limit=args.memory_limit,
        tile=args.tile,
    )

    def on_problem(name: str, reason: str) -> None:
        print(f"predict: {name}: {reason}", file=err, flush=True)

    try:
        report = run_batch(options, progress=_StderrProgress(err, args.quiet), on_problem=on_problem)
    except BatchError as exc:
        print(f"predict: error: {exc}", file=err)
        return int(BatchExit.BAD_ARGUMENTS)
    except KeyboardInterrupt:
        print("predict: cancelled", file=err)
        return int(BatchExit.CANCELLED)
    if report.csv_error:
        print(f"predict: error: {report.csv_error}", file=err)
    print(summary_line(report), file=err)
    if report.failures:
        names = [name for name, _ in report.failures]
        more = f" and {len(names) - 20} more" if len(names) > 20 else ""
        print(f"predict: failed inputs: {', '.join(names[:20])}{more}", file=err)
    return int(report.exit_code())
