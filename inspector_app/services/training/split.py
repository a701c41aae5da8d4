"""A train/validation split of the project's images that stays stable between runs.

Stored in ``.inspector/training/split.json`` (``{"train": [...], "val": [...], "val_fraction":
..., "seed": ...}``, image names). :func:`update_split` keeps every image where it was, drops
images that are no longer usable and places new ones per dominant class: ordered by a hash of
(seed, name), each goes to validation while its class has fewer than ``val_fraction`` of its
images there (at least one per class with two or more images), so adding images never moves the
old ones and the split stays stratified. :func:`move` is the user's edit; the stored split is
written atomically and a corrupt file is reported, never overwritten silently.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from inspector_app.core.fileio import atomic_write_text
from inspector_app.services.training.dataset import ProjectDataset

SPLIT_FILE = Path(".inspector") / "training" / "split.json"


class SplitError(ValueError):
    """The stored split cannot be read (the message names the file)."""


@dataclass(frozen=True)
class ProjectSplit:
    """Image names of the training and validation parts."""

    train: tuple[str, ...] = ()
    val: tuple[str, ...] = ()
    val_fraction: float = 0.2
    seed: int = 0
    #: Names the user placed by hand (kept where they are by :func:`update_split`).
    pinned: frozenset[str] = field(default_factory=frozenset)

    def side_of(self, name: str) -> Literal["train", "val"] | None:
        """Where ``name`` is, or None."""
        return "val" if name in self.val else "train" if name in self.train else None


def _order(seed: int, name: str) -> str:
    return hashlib.sha1(f"{seed}:{name}".encode()).hexdigest()


def update_split(
    dataset: ProjectDataset,
    previous: ProjectSplit | None = None,
    *,
    val_fraction: float | None = None,
    seed: int | None = None,
) -> ProjectSplit:
    """The split of ``dataset``'s images, extending ``previous`` (see the module docstring)."""
    prev = previous or ProjectSplit()
    fraction = prev.val_fraction if val_fraction is None else val_fraction
    seed = prev.seed if seed is None else seed
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1, got {fraction}")
    by_class: dict[str, list[str]] = defaultdict(list)
    for image in dataset.images:
        by_class[image.dominant or ""].append(image.name)
    train: list[str] = []
    val: list[str] = []
    for _label, names in sorted(by_class.items()):
        kept_val = [n for n in names if prev.side_of(n) == "val"]
        kept_train = [n for n in names if prev.side_of(n) == "train"]
        new = sorted((n for n in names if prev.side_of(n) is None), key=lambda n: _order(seed, n))
        target = math.floor(fraction * len(names) + 0.5)
        # a class with two or more images gets at least one validation image and keeps one for training
        target = max(1, min(target, len(names) - 1)) if len(names) >= 2 else 0
        for name in new:
            (kept_val if len(kept_val) < target else kept_train).append(name)
        val += kept_val
        train += kept_train
    return ProjectSplit(
        tuple(sorted(train)),
        tuple(sorted(val)),
        fraction,
        seed,
        frozenset(n for n in prev.pinned if n in set(train) | set(val)),
    )


def move(split: ProjectSplit, name: str, to: Literal["train", "val"]) -> ProjectSplit:
    """``split`` with ``name`` moved to ``to`` (and pinned there)."""
    if split.side_of(name) is None:
        raise KeyError(f"{name} is not in the split")
    train = [n for n in split.train if n != name] + ([name] if to == "train" else [])
    val = [n for n in split.val if n != name] + ([name] if to == "val" else [])
    return ProjectSplit(
        tuple(sorted(train)), tuple(sorted(val)), split.val_fraction, split.seed, split.pinned | {name}
    )


def class_counts(dataset: ProjectDataset, split: ProjectSplit) -> dict[str, tuple[int, int]]:
    """Per class (every label of the training table): images in (train, val)."""
    train = dataset.label_counts(split.train)
    val = dataset.label_counts(split.val)
    return {label: (train[label], val[label]) for label in train}


def load_split(project_root: str | os.PathLike[str]) -> ProjectSplit | None:
    """The stored split, None when there is none; SplitError when the file is corrupt."""
    path = Path(project_root) / SPLIT_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ProjectSplit(
            tuple(str(n) for n in data["train"]),
            tuple(str(n) for n in data["val"]),
            float(data.get("val_fraction", 0.2)),
            int(data.get("seed", 0)),
            frozenset(str(n) for n in data.get("pinned", ())),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SplitError(f"{path}: not a readable split file ({exc}); fix or delete it") from None


def save_split(project_root: str | os.PathLike[str], split: ProjectSplit) -> Path:
    """Write the split atomically; returns the file."""
    path = Path(project_root) / SPLIT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "train": list(split.train),
        "val": list(split.val),
        "val_fraction": split.val_fraction,
        "seed": split.seed,
        "pinned": sorted(split.pinned),
    }
    atomic_write_text(path, json.dumps(payload, indent=1) + "\n")
    return path
