"""The model card of a trainer checkpoint (what the app reads beside and inside an ONNX file).

Kept apart from :mod:`trainer.export` so that evaluation (which scores a ``.pt`` checkpoint with the
app's pre/post-processing, hence needs its card) does not depend on the exporter. The card's format
is described in docs/design.md ("Model card"). Machine paths never enter a card: the training
config is recorded through :func:`trainer.config.portable_config` (dataset and run *names*).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from inspector_app.core.classes import ClassInfo, ClassTable
from inspector_app.core.modelcard import ModelCard
from trainer.config import portable_config, portable_path

#: Height and width of a network input must be multiples of this (five 2x poolings in the networks).
SIZE_MULTIPLE = 32


class CardError(ValueError):
    """A checkpoint whose outputs and class table do not fit together."""


def _binary_table(table: ClassTable) -> ClassTable:
    """A one-logit model predicts defect / no defect: collapse a wider table to background + defect."""
    if table.num_classes == 2:
        return table
    foreground = [c for c in table if c.index != 0]
    color = foreground[0].color if foreground else (255, 0, 0)
    return ClassTable((table.by_index(0), ClassInfo(1, "defect", "defect", color)))


def portable_training(record: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint or a card's ``training`` entry with names instead of machine paths.

    ``config`` goes through :func:`trainer.config.portable_config`; ``data`` becomes the dataset's
    name. Idempotent, so it also cleans files written before the trainer recorded names.
    """
    out = dict(record)
    if isinstance(out.get("config"), dict):
        out["config"] = portable_config(out["config"])
    if isinstance(out.get("data"), str):
        out["data"] = portable_path(out["data"], keep=1)
    return out


def training_summary(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """The card's ``training`` entry: resolved config, epochs, data sizes where known."""
    summary: dict[str, Any] = {
        "model": checkpoint["model"],
        "model_options": dict(checkpoint.get("model_options") or {}),
        "epoch": checkpoint.get("epoch"),
        "best_metric": checkpoint.get("best_metric"),
        "config": dict(checkpoint.get("config") or {}),
    }
    keys = ("num_train", "num_val", "data", "input_size", "binary", "best_epoch", "normalization", "head")
    for key in keys:
        if key in checkpoint:
            summary[key] = checkpoint[key]
    return portable_training(summary)


def card_for_checkpoint(checkpoint: dict[str, Any], *, model_id: str, **overrides: Any) -> ModelCard:
    """The model card of a checkpoint; ``overrides`` replace card fields (name, parent, metrics...)."""
    table = ClassTable.from_dict(checkpoint["class_table"])
    num_classes = int(checkpoint["num_classes"])
    output = "sigmoid" if num_classes == 1 else "softmax"
    if output == "sigmoid":
        table = _binary_table(table)
    elif table.num_classes != num_classes:
        raise CardError(
            f"checkpoint has {num_classes} outputs but {table.num_classes} classes in its table"
        )
    input_channels = int(checkpoint.get("input_channels", 3))
    config = dict(checkpoint.get("config") or {})
    input_size = checkpoint.get("input_size") or config.get("input_size")
    fields: dict[str, Any] = {
        "name": str(config.get("name") or checkpoint["model"]),
        "architecture": str(checkpoint["model"]),
        "class_table": table,
        "input_channels": input_channels,
        "mean": tuple(checkpoint.get("mean") or (0.0,) * input_channels),
        "std": tuple(checkpoint.get("std") or (1.0,) * input_channels),
        "size_multiple": SIZE_MULTIPLE,
        # the engine trains on images resized to one size (the data's median, or --input-size):
        # the app resizes the same way so that defects have the scale the network learned; the
        # graph itself stays dynamic (a card without input_size runs at native size, padded)
        "input_size": tuple(input_size) if input_size else None,
        "output": output,
        "training": training_summary(checkpoint),
        "metrics": dict(checkpoint.get("metrics") or {}),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "parent": checkpoint.get("parent") or config.get("parent"),
        "model_id": model_id,
    }
    fields.update({k: v for k, v in overrides.items() if v is not None})
    return ModelCard(**fields)
