"""Remove machine paths from existing model files: ``python -m trainer.portable MODEL.onnx ...``.

The trainer records dataset and run *names* (:func:`trainer.config.portable_config`); files made
before it did, or on another branch, may still carry absolute paths in the model card (embedded in
the ONNX metadata and in the ``.json`` beside it) and in the checkpoint's ``config``/``data``. This
rewrites all three in place, atomically, for each ``.onnx`` given and its ``.json``/``.pt`` siblings.
The graph and the weights are untouched, so the model id stays the same. tests/test_no_machine_paths.py
fails on any tracked file that still holds such a path.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import torch

from inspector_app.core.fileio import atomic_write_bytes
from inspector_app.core.modelcard import embed_card, read_card, write_card_sidecar
from inspector_app.core.protocol import ExitCode
from trainer.card import portable_training


def make_portable(onnx_path: Path) -> list[Path]:
    """Rewrite the card of ``onnx_path`` (embedded + sidecar) and its sibling ``.pt``; returns them."""
    card = read_card(onnx_path)
    card = card.replace(training=portable_training(dict(card.training)))
    embed_card(onnx_path, card)
    written = [onnx_path, write_card_sidecar(card, onnx_path)]
    checkpoint_path = onnx_path.with_suffix(".pt")
    if checkpoint_path.is_file():
        checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
        buffer = io.BytesIO()
        torch.save(portable_training(checkpoint), buffer)
        atomic_write_bytes(checkpoint_path, buffer.getvalue())
        written.append(checkpoint_path)
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: rewrite each model given; exit code 2 when one cannot be read."""
    parser = argparse.ArgumentParser(prog="python -m trainer.portable", description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="+", type=Path, metavar="MODEL.onnx")
    args = parser.parse_args(argv)
    for path in args.models:
        try:
            for written in make_portable(path):
                print(f"rewrote {written}")
        except (OSError, ValueError) as exc:
            print(f"python -m trainer.portable: {path}: {exc}", file=sys.stderr)
            return ExitCode.BAD_INPUT
    return ExitCode.OK


if __name__ == "__main__":
    raise SystemExit(main())
