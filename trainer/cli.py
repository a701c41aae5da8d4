"""The ``defect-train`` command line: ``train``, ``models``, ``evaluate``, ``export``.

Each subcommand lives in ``trainer/cmd_<name>.py`` and exposes ``register(subparsers)``, which
sets ``func(args) -> int`` (docs/api-contract.md). A subcommand module that is not installed is
left out of the parser instead of breaking the others. Every command returns an
:class:`~inspector_app.core.protocol.ExitCode`; usage errors exit with 2 (argparse), as bad input does.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# OpenMP threads that spin while waiting are what makes two-thread training collapse when the
# cores are shared (other processes, the GUI's own inference): measured 1-4 images/s spinning vs
# 7-13 sleeping for the Zhong net on a busy 2-core machine. Must be set before torch is imported;
# an explicit setting in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from inspector_app.core.protocol import ExitCode
from trainer import __version__

SUBCOMMANDS = ("train", "models", "evaluate", "export", "devices")


def build_parser() -> argparse.ArgumentParser:
    """The parser with every available subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="defect-train",
        description="Train, evaluate and export Defect Inspector segmentation networks.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"trainer.cmd_{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"trainer.cmd_{name}":
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``defect-train``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return ExitCode.BAD_INPUT
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
