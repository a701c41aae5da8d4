"""Checkpoint files (``last.pt`` / ``best.pt``) and fine-tuning with a grown class head.

Format (docs/api-contract.md): a dict with ``model`` (registry name), ``model_options``,
``num_classes``, ``state_dict``, ``class_table`` (``ClassTable.to_dict()``), ``input_channels``,
``mean``, ``std``, ``epoch`` (completed epochs), ``optimizer``, ``scheduler``, ``best_metric``,
``config`` and ``metrics``; we add ``best_epoch``, ``input_size``, ``num_train``, ``num_val``,
``data``, ``parent`` and ``binary``. Only plain containers, numbers, strings and tensors are
stored, so :func:`load_checkpoint` uses ``torch.load(weights_only=True)`` (no pickled code).
Writes are atomic (``core.fileio``: temp file, fsync, ``os.replace``): a run killed while saving
keeps the previous file.

Fine-tuning (``--init``): weights are copied by name; a parameter whose shape differs only along a
class dimension (the output head, and e.g. the Zhong net's final BatchNorm) is copied class by
class, matched by label, and the new classes keep their fresh initialisation. A parent class that
is missing from the new table is refused (:class:`CheckpointError`): silently dropping a class
would change what the model's outputs mean.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from inspector_app.core.classes import ClassTable
from inspector_app.core.fileio import atomic_write_bytes
from trainer.config import ConfigError, TrainConfig
from trainer.models import create_model, list_models, model_arguments

LAST = "last.pt"
BEST = "best.pt"
REQUIRED_KEYS = ("model", "num_classes", "state_dict", "class_table")


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable or incompatible; the message names the file (exit 2)."""


def save_checkpoint(payload: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``payload`` atomically to ``path``; returns the path."""
    path = Path(path)
    buffer = io.BytesIO()
    torch.save(dict(payload), buffer)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def _load_problem(exc: BaseException) -> str:
    """torch.load's error in a few words, without its advice to load with ``weights_only=False``
    (running a damaged or foreign pickle's code is never the fix)."""
    text = str(exc)
    if "weights_only" in text or "Weights only" in text:
        return "it holds data a checkpoint never holds"
    first = text.split(". ")[0].strip().rstrip(".")
    return first[:200] or type(exc).__name__


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a trainer checkpoint on the CPU; CheckpointError for anything that is not one."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's pickle-protocol warnings on foreign files
            data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError, RuntimeError, EOFError... for foreign or torn files
        raise CheckpointError(
            f"cannot read checkpoint {path}: the file is damaged or not a checkpoint written by "
            f"defect-train ({_load_problem(exc)}); use another checkpoint or start a new run"
        ) from None
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


def refuse_used_run_folder(config: TrainConfig, run_dir: Path) -> None:
    """ConfigError when a fresh run (no ``--resume``) is pointed at a folder that holds a run.

    Called before the run's events are attached, so that a refused run leaves the finished
    run's events.jsonl and train.log as they were.
    """
    if not config.resume and ((run_dir / LAST).exists() or (run_dir / BEST).exists()):
        raise ConfigError(
            f"run folder {run_dir} already holds a run (last.pt/best.pt): pass --resume to "
            f"continue it, or choose another --run-dir"
        )


def load_sources(
    config: TrainConfig, run_dir: Path
) -> tuple[dict[str, Any] | None, dict[str, Any] | None, Path | None, str | None]:
    """What a run starts from: (resumed last.pt, fine-tuning parent, its path, the parent's model id).

    A fresh run refuses a run folder that already has checkpoints (ConfigError): overwriting a
    finished run by accident would lose it. The parent's model id is read from its card
    (:func:`parent_card_path`), when there is one.
    """
    resumed = parent = None
    path: Path | None = None
    parent_id: str | None = None
    if config.resume:
        resumed = load_checkpoint(run_dir / LAST)
    refuse_used_run_folder(config, run_dir)
    if config.init and resumed is None:
        path = resolve_init(config.init)
        parent = load_checkpoint(path)
        parent_id = parent_model_id(path)
    return resumed, parent, path, parent_id


def parent_card_path(checkpoint: Path) -> Path | None:
    """The model card of a checkpoint: ``<stem>.json`` beside it (the bundled models'
    ``aluminum_zhong.pt`` + ``aluminum_zhong.json``), else ``model.json`` (a run folder's)."""
    for card in (checkpoint.with_suffix(".json"), checkpoint.parent / "model.json"):
        if card.is_file():
            return card
    return None


def parent_model_id(checkpoint: Path) -> str | None:
    """The ``model_id`` of the card found by :func:`parent_card_path`, or None."""
    card = parent_card_path(checkpoint)
    if card is None:
        return None
    with contextlib.suppress(OSError, ValueError, AttributeError):
        model_id = json.loads(card.read_text(encoding="utf-8")).get("model_id")
        return str(model_id) if model_id else None
    return None


def build_model(
    config: TrainConfig, table: ClassTable, source: dict[str, Any] | None, resumed: bool
) -> tuple[nn.Module, dict[str, Any], list[str]]:
    """The network of ``config`` with the weights of ``source`` (resumed or fine-tuned).

    Returns the model, its complete constructor options (what checkpoints store) and the names of
    the tensors grown for new classes. ``in_channels`` follows ``input_channels``.
    """
    outputs = 1 if config.binary else table.num_classes
    if config.model not in list_models():
        raise ConfigError(f"unknown model {config.model!r}; known models: {', '.join(list_models())}")
    options = dict(config.model_options)
    if "in_channels" in model_arguments(config.model):
        given = options.setdefault("in_channels", config.input_channels)
        if given != config.input_channels:
            raise ConfigError(
                f"model_options in_channels={given} contradicts input_channels={config.input_channels}"
            )
    try:
        model = create_model(config.model, num_classes=outputs, **options)
    except TypeError as exc:
        raise ConfigError(f"model_options: {exc}") from None
    options_of = getattr(model, "options", None)
    full_options = dict(options_of()) if callable(options_of) else options
    if source is None:
        return model, full_options, []
    if source["model"] != config.model:
        raise CheckpointError(f"the checkpoint is a {source['model']!r} network, not {config.model!r}")
    if not resumed and config.head == "replace":
        state, fresh = transfer_backbone(config.model, options, source["state_dict"], model, outputs)
        model.load_state_dict(state)
        return model, full_options, fresh
    old_outputs = int(source["num_classes"])
    if (old_outputs == 1) != (outputs == 1):
        kind = {True: "binary (one logit)", False: "multi-class"}
        raise CheckpointError(
            f"the checkpoint is {kind[old_outputs == 1]} but this run is {kind[outputs == 1]} "
            f"(binary: {config.binary})"
        )
    if resumed:
        model.load_state_dict(source["state_dict"])
        return model, full_options, []
    old_table = ClassTable.from_dict(source["class_table"])
    mapping = class_mapping(old_table, table) if outputs > 1 else [(0, 0)]
    if old_outputs == outputs and any(o != n for o, n in mapping):
        # Same classes in another order: equal shapes cannot show which dimensions are the class
        # dimensions, so a probe network with one more class does; copying unchanged would give
        # each class the weights of another.
        model.load_state_dict(_permute_classes(config.model, options, source["state_dict"], model, mapping))
        return model, full_options, []
    state, grown = adapt_state_dict(source["state_dict"], model.state_dict(), mapping, old_outputs, outputs)
    model.load_state_dict(state)
    return model, full_options, grown


def class_dependent(name: str, options: Mapping[str, Any], model: nn.Module, outputs: int) -> set[str]:
    """Names of the tensors whose shape depends on the number of classes (the classifier head,
    and e.g. the Zhong net's final BatchNorm), found with a probe network with one more class."""
    from trainer.models import create_model

    probe = create_model(name, num_classes=outputs + 1, **options).state_dict()
    return {k for k, v in model.state_dict().items() if probe[k].shape != v.shape}


def transfer_backbone(
    name: str,
    options: Mapping[str, Any],
    old_state: Mapping[str, torch.Tensor],
    model: nn.Module,
    outputs: int,
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """``head: replace``: the parent's weights for everything but the class-dependent tensors,
    which keep the new model's fresh initialisation. Returns the state dict and those names."""
    target = model.state_dict()
    head = class_dependent(name, options, model, outputs)
    missing = sorted(set(target) - set(old_state))
    if missing:
        raise CheckpointError(f"the parent checkpoint lacks weights {missing[:5]}: is it the same network?")
    result: dict[str, torch.Tensor] = {}
    for key, tensor in target.items():
        if key in head:
            result[key] = tensor.detach().clone()
        elif old_state[key].shape != tensor.shape:
            raise CheckpointError(
                f"weight {key!r} has shape {tuple(old_state[key].shape)} in the parent but "
                f"{tuple(tensor.shape)} in the new model: only the classifier may change"
            )
        else:
            result[key] = old_state[key].clone()
    return result, sorted(head)


def _permute_classes(
    name: str,
    options: Mapping[str, Any],
    old_state: Mapping[str, torch.Tensor],
    model: nn.Module,
    mapping: Sequence[tuple[int, int]],
) -> dict[str, torch.Tensor]:
    """``old_state`` with its class dimensions reordered by ``mapping`` (same class count)."""
    target = model.state_dict()
    outputs = len(mapping)
    probe = create_model(name, num_classes=outputs + 1, **options).state_dict()
    # Grow into the probe's shapes (mapped slices land at their new indices < outputs), then cut
    # the probe's extra class off again.
    grown, _ = adapt_state_dict(old_state, probe, mapping, outputs, outputs + 1)
    result: dict[str, torch.Tensor] = {}
    for key, tensor in grown.items():
        index = tuple(
            slice(0, outputs) if p != t else slice(None)
            for p, t in zip(probe[key].shape, target[key].shape, strict=True)
        )
        result[key] = tensor[index].clone()
    return result


def model_from_checkpoint(checkpoint: dict[str, Any]) -> nn.Module:
    """Rebuild the network of ``checkpoint`` with its weights, in eval mode."""
    model = create_model(
        checkpoint["model"],
        num_classes=int(checkpoint["num_classes"]),
        **dict(checkpoint.get("model_options") or {}),
    )
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval()


def find_checkpoint(run_dir: str | os.PathLike[str]) -> Path:
    """``best.pt`` of a run folder, else ``last.pt``; :class:`CheckpointError` naming both otherwise."""
    run = Path(run_dir)
    if not run.is_dir():
        raise CheckpointError(f"run folder {run} does not exist")
    for name in (BEST, LAST):
        if (run / name).is_file():
            return run / name
    raise CheckpointError(f"run folder {run} has no checkpoint (neither {BEST} nor {LAST})")
