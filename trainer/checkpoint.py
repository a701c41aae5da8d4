"""Checkpoint files (``last.pt`` / ``best.pt``) and fine-tuning with a grown class head.

Format (docs/api-contract.md): a dict with ``model`` (registry name), ``model_options``,
``num_classes``, ``state_dict``, ``class_table`` (``ClassTable.to_dict()``), ``input_channels``,
``mean``, ``std``, ``epoch`` (completed epochs), ``optimizer``, ``scheduler``, ``best_metric``,
``config`` and ``metrics``; we add ``best_epoch``, ``input_size``, ``num_train``, ``num_val``,
``data``, ``parent`` and ``binary``. Only plain containers, numbers, strings and tensors are
stored, so :func:`load_checkpoint` uses ``torch.load(weights_only=True)`` (no pickled code).
Writes are atomic (temp file + ``os.replace``): a run killed while saving keeps the previous file.

Fine-tuning (``--init``): weights are copied by name; a parameter whose shape differs only along a
class dimension (the output head, and e.g. the Zhong net's final BatchNorm) is copied class by
class, matched by label, and the new classes keep their fresh initialisation. A parent class that
is missing from the new table is refused (:class:`CheckpointError`): silently dropping a class
would change what the model's outputs mean.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from inspector_app.core.classes import ClassTable

LAST = "last.pt"
BEST = "best.pt"
REQUIRED_KEYS = ("model", "num_classes", "state_dict", "class_table")


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable or incompatible; the message names the file (exit 2)."""


def save_checkpoint(payload: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``payload`` atomically to ``path``; returns the path."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(dict(payload), tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a trainer checkpoint on the CPU; CheckpointError for anything that is not one."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError, RuntimeError, EOFError... for foreign or torn files
        raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} is not a trainer checkpoint (not a dict)")
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise CheckpointError(f"{path} is not a trainer checkpoint (missing {', '.join(missing)})")
    return data


def resolve_init(spec: str | os.PathLike[str]) -> Path:
    """The checkpoint file meant by ``--init``: a ``.pt`` file, or a run folder (best.pt, else last.pt)."""
    path = Path(spec)
    if path.is_file():
        return path
    if path.is_dir():
        for name in (BEST, LAST):
            if (path / name).is_file():
                return path / name
        raise CheckpointError(f"--init {path}: the run folder has no {BEST} or {LAST}")
    raise CheckpointError(f"--init {path}: no such checkpoint file or run folder")


def class_mapping(old: ClassTable, new: ClassTable) -> list[tuple[int, int]]:
    """``(old index, new index)`` pairs by label; CheckpointError if an old class is missing."""
    removed = [label for label in old.labels if label not in new.labels]
    if removed:
        raise CheckpointError(
            f"the new class table lacks class(es) {removed} of the parent model (its classes: "
            f"{list(old.labels)}); removing classes is not supported"
        )
    return [(c.index, new.index_of(c.label)) for c in old]


def adapt_state_dict(
    old_state: Mapping[str, torch.Tensor],
    new_state: Mapping[str, torch.Tensor],
    mapping: Sequence[tuple[int, int]],
    old_outputs: int,
    new_outputs: int,
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Old weights in the new model's shapes; returns the state dict and the names of grown tensors.

    A tensor that differs only along dimensions of size ``old_outputs`` -> ``new_outputs`` is
    copied slice by slice following ``mapping``; any other difference is an error.
    """
    result: dict[str, torch.Tensor] = {}
    grown: list[str] = []
    missing = sorted(set(new_state) - set(old_state))
    if missing:
        raise CheckpointError(f"the parent checkpoint lacks weights {missing[:5]}: is it the same network?")
    for name, target in new_state.items():
        source = old_state[name]
        if source.shape == target.shape:
            result[name] = source.clone()
            continue
        dims = (
            [d for d in range(target.dim()) if source.shape[d] != target.shape[d]]
            if source.dim() == target.dim()
            else []
        )
        if not dims or any(source.shape[d] != old_outputs or target.shape[d] != new_outputs for d in dims):
            raise CheckpointError(
                f"weight {name!r} has shape {tuple(source.shape)} in the parent but {tuple(target.shape)} "
                f"in the new model: only the class dimension may change"
            )
        grown_tensor = target.detach().clone()
        for old_i, new_i in mapping:
            index_src: list[Any] = [slice(None)] * source.dim()
            index_dst: list[Any] = [slice(None)] * source.dim()
            for d in dims:
                index_src[d], index_dst[d] = old_i, new_i
            if len(dims) == 1:
                grown_tensor[tuple(index_dst)] = source[tuple(index_src)]
            else:  # a class x class tensor: copy the old-old block entry by entry
                for old_j, new_j in mapping:
                    index_src[dims[1]], index_dst[dims[1]] = old_j, new_j
                    grown_tensor[tuple(index_dst)] = source[tuple(index_src)]
        result[name] = grown_tensor
        grown.append(name)
    return result, grown
