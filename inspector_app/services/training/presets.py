"""Training presets: named, visible option sets that map one to one onto ``defect-train train``.

Each option key is a key of the trainer's configuration (``defect-train train --help``: the
option ``--dashed-name`` of the key ``dashed_name``); :func:`command_arguments` turns a mapping
of them into command-line arguments. A preset is a frozen dataclass: the GUI shows its options,
the user edits a copy (:meth:`Preset.with_options`), and what runs is exactly what was shown.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


def _frozen(values: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(values))


@dataclass(frozen=True)
class Preset:
    """A named set of trainer options (keys = ``defect-train train`` config keys)."""

    key: str
    title: str
    description: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", _frozen(self.options))

    def with_options(self, **changes: Any) -> Preset:
        """A copy with options changed (None removes an option: the trainer's default applies)."""
        merged = {**self.options, **changes}
        return Preset(
            self.key, self.title, self.description, {k: v for k, v in merged.items() if v is not None}
        )


QUICK_FINE_TUNE = Preset(
    "quick",
    "Quick fine-tune",
    "Start from the current model, keep its classes and add new ones; a short cosine schedule with "
    "flips. Minutes on a CPU for a few dozen images.",
    # Measured (docs/benchmarks.md, "Fine-tuning a new class"): 12 epochs at 3e-4 never predicted
    # the new class on 20 aluminium images; 40 epochs at 1e-3 did, in under 4 minutes on 2 cores.
    {
        "epochs": 40,
        "batch_size": 4,
        "lr": 1e-3,
        "scheduler": "cosine",
        "warmup_epochs": 0.5,
        "hflip": 0.5,
        "vflip": 0.5,
        "head": "extend",
        "normalization": "inherit",
        "class_weights": "auto",
        "log_every": 1,
    },
)

FULL_TRAINING = Preset(
    "full",
    "Full training",
    "Train a network from scratch on the project's data: a long schedule with augmentation. "
    "Hours on a CPU; use a GPU.",
    {
        "epochs": 120,
        "batch_size": 8,
        "lr": 1e-3,
        "scheduler": "cosine",
        "warmup_epochs": 2,
        "hflip": 0.5,
        "vflip": 0.5,
        "brightness": 0.1,
        "contrast": 0.1,
        "class_weights": "auto",
        "log_every": 5,
    },
)

PRESETS: Mapping[str, Preset] = MappingProxyType({p.key: p for p in (QUICK_FINE_TUNE, FULL_TRAINING)})


def _value(value: Any) -> str:
    if isinstance(value, Mapping):
        return json.dumps(dict(value))
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def command_arguments(options: Mapping[str, Any]) -> list[str]:
    """``{"epochs": 3, "hflip": 0.5, "export": False, "input_size": (480, 640)}`` ->
    ``["--epochs", "3", "--hflip", "0.5", "--no-export", "--input-size", "480,640"]``."""
    args: list[str] = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is None:
            continue
        if isinstance(value, bool):
            args.append(flag if value else "--no-" + key.replace("_", "-"))
        else:
            args += [flag, _value(value)]
    return args
