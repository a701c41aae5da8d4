"""ONNX model files on disk: content id, debug-info stripping, atomic write with the embedded card.

Shared by the fp32 exporter (:mod:`trainer.export`) and the int8 quantiser (:mod:`trainer.quantize`),
which sits below the exporter in the trainer's layers (``export_run`` calls the quantiser).

Model id: the first 12 hex digits of the SHA-256 of the serialised graph *before* the card is
added (weights + structure). The same weights give the same id, so re-exporting a checkpoint does
not fork the review history; any change of weights (fine-tuning, int8) gives a new one.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import onnx

from inspector_app.core.fileio import atomic_replace
from inspector_app.core.modelcard import ModelCard, embed_card, write_card_sidecar

#: What a file check returns (parity figures for the exporter, nothing for the quantiser).
Checked = TypeVar("Checked")


def strip_debug_info(model: onnx.ModelProto) -> None:
    """Drop per-node stack traces and doc strings: they hold local paths and a third of the bytes."""
    for node in model.graph.node:
        del node.metadata_props[:]
        node.doc_string = ""
    for value in [*model.graph.input, *model.graph.output, *model.graph.value_info, *model.graph.initializer]:
        del value.metadata_props[:]
    # the ExportedProgram signature/constraints: debug text, and its order varies between runs
    del model.graph.metadata_props[:]
    model.graph.doc_string = ""
    model.doc_string = ""


def model_content_id(proto: onnx.ModelProto) -> str:
    """Model id of a graph: SHA-256 (12 hex digits) of its serialisation without metadata."""
    bare = onnx.ModelProto()
    bare.CopyFrom(proto)
    del bare.metadata_props[:]
    return hashlib.sha256(bare.SerializeToString(deterministic=True)).hexdigest()[:12]


def write_model_atomic(
    proto: onnx.ModelProto,
    out_onnx: Path,
    make_card: Callable[[Checked], ModelCard],
    verify: Callable[[Path], Checked],
) -> ModelCard:
    """Write ``proto`` to a temp file beside ``out_onnx``, verify it, embed its card, then rename.

    The card is made after the check so that it can record the parity figures; the final file
    appears only complete (graph + card), and the sidecar is written after it. Any failure
    (export check, card, disk) removes the temp file and leaves ``out_onnx`` as it was.
    """
    out_onnx.parent.mkdir(parents=True, exist_ok=True)
    # A real file path, not bytes in memory: onnxruntime (verify) and embed_card work on paths.
    fd, tmp_name = tempfile.mkstemp(dir=out_onnx.parent, prefix=f".{out_onnx.stem}.", suffix=".onnx")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        tmp.write_bytes(proto.SerializeToString())
        card = make_card(verify(tmp))
        embed_card(tmp, card)
        atomic_replace(tmp, out_onnx)
    finally:
        tmp.unlink(missing_ok=True)  # no-op once replaced
    write_card_sidecar(card, out_onnx)
    return card
