"""``defect-train evaluate``: confusion-matrix metrics of a model over a whole split.

Prints a table on stdout, progress on stderr, and with ``--json OUT`` writes the full result
(per-class metrics, confusion matrix, free-list false positives) atomically. Exit codes: 0 ok,
2 bad input (missing model/data/split, class tables that do not match, unusable model or checkpoint
file, an unwritable ``--json`` path).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from inspector_app.core.protocol import ExitCode


def _pct(value: Any) -> str:
    return "   n/a" if value is None else f"{100.0 * float(value):6.2f}"


def format_result(result: dict[str, Any]) -> str:
    """Human-readable table of an evaluation result (values in %)."""
    lines = [
        f"model {result.get('model')} ({result.get('architecture')}, id {result.get('model_id')}), "
        f"{result['num_images']} image(s), {result['scoring']} scoring",
        f"{'class':<20}{'IoU':>8}{'Acc':>8}{'Dice':>8}{'Prec':>8}{'GT px':>12}",
    ]
    absent = []
    for label, m in result["per_class"].items():
        if m.get("absent"):
            absent.append(label)
        lines.append(
            f"{label:<20}{_pct(m['iou']):>8}{_pct(m['acc']):>8}{_pct(m['dice']):>8}"
            f"{_pct(m['precision']):>8}{m['gt_pixels']:>12}" + ("  absent" if m.get("absent") else "")
        )
    s = result["summary"]
    lines.append(f"{'mean':<20}{_pct(s['miou']):>8}{_pct(s['macc']):>8}{_pct(s['mdice']):>8}")
    if absent:
        lines.append(f"absent: {', '.join(absent)} have no ground-truth pixel here; left out of the means")
    if result.get("input_size"):
        lines.append(f"input size: {result['input_size']}")
    if "binary_iou" in s:
        lines.append(f"binary IoU (defect): {_pct(s['binary_iou']).strip()} %")
    free = result.get("free")
    if free:
        lines.append(
            f"defect-free images with false-positive pixels: {free['with_false_positives']}/"
            f"{free['num_images']} ({_pct(free['share_with_false_positives']).strip()} %)"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Evaluate and report; see the module docstring for exit codes."""
    from inspector_app.core.modelcard import ModelError
    from trainer.card import CardError
    from trainer.checkpoint import CheckpointError
    from trainer.evaluate import EvaluationError, evaluate, stderr_progress, write_json

    for flag, value in (("--model", args.model), ("--data", args.data)):
        if not Path(value).exists():
            print(f"defect-train evaluate: {flag} {value} does not exist", file=sys.stderr)
            return ExitCode.BAD_INPUT
    try:
        result = evaluate(
            args.model,
            args.data,
            split=args.split,
            free_list=args.free_list,
            classes=args.classes,
            label_source=args.label_source,
            threads=args.threads,
            progress=None if args.quiet else stderr_progress(),
        )
    except (EvaluationError, ModelError, CheckpointError, CardError) as exc:
        # CheckpointError: a .pt that is not a trainer checkpoint (torn, foreign) is bad input too
        print(f"defect-train evaluate: {exc}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    if args.json:
        try:
            write_json(result, args.json)
        except OSError as exc:  # a missing folder or no permission: the user's path, not a crash
            print(f"defect-train evaluate: cannot write --json {args.json}: {exc}", file=sys.stderr)
            return ExitCode.BAD_INPUT
    print(format_result(result), flush=True)
    return ExitCode.OK


def register(subparsers: Any) -> None:
    """Add the ``evaluate`` subcommand to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "evaluate",
        help="score a model (.onnx or .pt) on a dataset split at native image size",
        description="Per-class IoU/Acc/Dice/precision and their means from one confusion matrix "
        "over the whole split; .onnx models run through the app's predictor, .pt checkpoints in "
        "PyTorch with the same pre/post-processing.",
    )
    parser.add_argument("--model", required=True, metavar="M", help="model.onnx or a checkpoint .pt")
    parser.add_argument("--data", required=True, metavar="DIR", help="dataset folder")
    parser.add_argument(
        "--split",
        default=None,
        metavar="FILE",
        help="image list (one name per line) or a run's split.json (val list); default: DIR/test.txt "
        "or DIR/val.txt, else every annotated image",
    )
    parser.add_argument("--json", default=None, metavar="OUT", help="write the full result as JSON")
    parser.add_argument(
        "--free-list",
        default=None,
        metavar="FILE",
        help="defect-free images (one name per line): report the share with any false-positive pixel",
    )
    parser.add_argument("--classes", default=None, metavar="FILE", help="the data's class table file")
    parser.add_argument(
        "--label-source", choices=("auto", "json", "masks"), default="auto", help="ground truth source"
    )
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime threads")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.set_defaults(func=run)
