"""``defect-train models``: list the registered networks with their size and cost.

Cost = multiply-accumulates of convolutions and linear layers for one image (see
``trainer/flops.py`` and docs/adr/0002-flop-counting.md); FLOPs = 2 x MACs.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from inspector_app.core.protocol import ExitCode


def parse_size(text: str) -> tuple[int, int]:
    """Parse ``HxW`` (e.g. ``480x640``) into ``(height, width)``; argparse-friendly errors."""
    parts = text.lower().replace("*", "x").split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"size must look like HxW (e.g. 480x640), got {text!r}")
    height, width = (int(p) for p in parts)
    if height < 32 or width < 32 or height % 32 or width % 32:
        raise argparse.ArgumentTypeError(f"height and width must be positive multiples of 32, got {text!r}")
    return height, width


def model_rows(size: tuple[int, int] | None = None) -> list[dict[str, Any]]:
    """One row per registered model: name, parameters, MACs, FLOPs, input size used.

    ``size=None`` uses each model's published input size (Zhong 480x640, A-Net 224x224).
    """
    # torch is imported here so that ``defect-train --help`` stays fast
    from trainer.flops import count_cost
    from trainer.models import create_model, list_models, model_spec

    rows: list[dict[str, Any]] = []
    for name in list_models():
        spec = model_spec(name)
        model = create_model(name)
        height, width = size if size is not None else spec.paper_input_size
        cost = count_cost(model, (height, width))
        rows.append(
            {
                "name": name,
                "num_classes": spec.default_num_classes,
                "parameters": cost.params,
                "input_size": [height, width],
                "macs": cost.macs,
                "flops": cost.flops,
                "description": spec.description,
            }
        )
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    """Human-readable table of :func:`model_rows`."""
    header = f"{'model':<16}{'classes':>8}{'params':>12}{'input':>11}{'GMAC':>9}{'GFLOP':>9}  description"
    lines = [header, "-" * len(header)]
    for row in rows:
        size = "x".join(str(v) for v in row["input_size"])
        lines.append(
            f"{row['name']:<16}{row['num_classes']:>8}{row['parameters']:>12,}{size:>11}"
            f"{row['macs'] / 1e9:>9.3f}{row['flops'] / 1e9:>9.3f}  {row['description']}"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the model list (table or JSON); exit code 0."""
    rows = model_rows(args.size)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(format_table(rows))
    sys.stdout.flush()
    return ExitCode.OK


def register(subparsers: Any) -> None:
    """Add the ``models`` subcommand to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "models",
        help="list the available networks with parameters, MACs and FLOPs",
        description="List the registered networks with parameter count and cost per image "
        "(MACs of conv/linear layers; FLOPs = 2 x MACs).",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    parser.add_argument(
        "--size",
        type=parse_size,
        default=None,
        metavar="HxW",
        help="input size for the cost (multiples of 32); default: each model's paper size",
    )
    parser.set_defaults(func=run)
