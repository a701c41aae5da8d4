"""Train/validation split: the dataset's own lists when it has them, else a stratified one.

* ``train.txt`` + ``val.txt`` and/or ``test.txt`` in the data folder: one stem per line (a file
  name's extension is ignored). Stems that name no annotated image are an error; annotated images
  in no list are left out (the magnetic tile set's defect-free tiles). Model selection
  (``best.pt``) never looks at the test split: ``val.txt`` is the validation split when present;
  with only ``train.txt`` + ``test.txt`` a validation split is carved out of ``train.txt``
  (stratified, as below, so it is stable), and ``test.txt`` is scored once, for the final report.
* Otherwise a deterministic split stratified by each image's dominant class (the non-background
  class with most pixels): inside every class the images are ordered by a hash of (seed, stem) and
  the validation slots are shared out by the largest-remainder method, so the same data and seed
  always give the same split and adding one image moves at most a few others.

The split used is written to ``run_dir/split.json`` (``{"train": [...], "val": [...], "source":
...}``); a resumed run reads it back instead of splitting again.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from inspector_app.core.fileio import atomic_write_text
from trainer.data.samples import DataError, shorten

VAL_FILES = ("test.txt", "val.txt")


@dataclass(frozen=True)
class Split:
    """Stems of the training and validation images and where the split came from."""

    train: tuple[str, ...]
    val: tuple[str, ...]
    source: str
    #: Images scored only for the final report (never for model selection).
    test: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """The split.json content."""
        out: dict[str, object] = {"source": self.source, "train": list(self.train), "val": list(self.val)}
        if self.test:
            out["test"] = list(self.test)
        return out


def _read_list(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"{path}: cannot read split file ({exc.strerror or exc})") from None
    stems = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            stems.append(Path(line).stem)
    return stems


def check_split(split: Split, available: Sequence[str], where: str) -> None:
    """DataError when the split names stems that are not in ``available`` or names one twice."""
    have = set(available)
    for part, stems in (("train", split.train), ("val", split.val), ("test", split.test)):
        missing = [s for s in stems if s not in have]
        if missing:
            raise DataError(
                f"{where}: the {part} list names {len(missing)} image(s) that are missing or have no "
                f"annotation: {shorten(missing)}"
            )
    for (a, a_stems), (b, b_stems) in (
        (("train", split.train), ("val", split.val)),
        (("train", split.train), ("test", split.test)),
        (("val", split.val), ("test", split.test)),
    ):
        both = sorted(set(a_stems) & set(b_stems))
        if both:
            raise DataError(f"{where}: {len(both)} image(s) are in both {a} and {b}: {shorten(both)}")
    if not split.train:
        raise DataError(f"{where}: the training list is empty")


def read_split_files(root: str | os.PathLike[str], available: Sequence[str]) -> Split | None:
    """The split of ``train.txt`` + ``val.txt`` and/or ``test.txt`` in ``root``, or None without them.

    Without ``val.txt`` the returned ``val`` is empty: the caller carves it out of ``train``
    (:func:`carve_validation`) once it knows each image's dominant class.
    """
    root = Path(root)
    train_file = root / "train.txt"
    val_file, test_file = root / "val.txt", root / "test.txt"
    others = [f for f in (val_file, test_file) if f.is_file()]
    if not train_file.is_file() and not others:
        return None
    if not train_file.is_file() or not others:
        present = train_file if train_file.is_file() else others[0]
        absent = "val.txt (or test.txt)" if train_file.is_file() else "train.txt"
        raise DataError(f"{present} exists but {root / absent} is missing: give both or neither")
    val = tuple(_read_list(val_file)) if val_file.is_file() else ()
    test = tuple(_read_list(test_file)) if test_file.is_file() else ()
    split = Split(
        tuple(_read_list(train_file)), val, "+".join(f.name for f in (train_file, *others)), test=test
    )
    check_split(split, available, " / ".join(str(f) for f in (train_file, *others)))
    return split


def carve_validation(split: Split, dominant: Mapping[str, int], val_fraction: float, seed: int) -> Split:
    """``split`` with a validation split carved out of its training list (stratified, stable)."""
    carved = stratified_split({s: dominant[s] for s in split.train if s in dominant}, val_fraction, seed)
    source = f"{split.source}; val carved from train.txt: {carved.source}"
    return Split(carved.train, carved.val, source, test=split.test)


def _order(seed: int, stem: str) -> str:
    return hashlib.sha1(f"{seed}:{stem}".encode()).hexdigest()


def stratified_split(dominant: Mapping[str, int], val_fraction: float, seed: int) -> Split:
    """Split stems (mapped to their dominant class) so that each class has ~``val_fraction`` in val."""
    stems = sorted(dominant)
    if len(stems) < 2:
        raise DataError(
            f"cannot split {len(stems)} image(s) into train and val: the dataset needs at least 2"
        )
    total_val = min(len(stems) - 1, max(1, round(val_fraction * len(stems))))
    groups: dict[int, list[str]] = {}
    for stem in stems:
        groups.setdefault(dominant[stem], []).append(stem)
    quotas = {c: total_val * len(g) / len(stems) for c, g in groups.items()}
    slots = {c: math.floor(q) for c, q in quotas.items()}
    # Largest remainder; ties broken by class index so the result is deterministic.
    leftover = total_val - sum(slots.values())
    for c in sorted(quotas, key=lambda c: (-(quotas[c] - slots[c]), c))[:leftover]:
        slots[c] += 1
    val: list[str] = []
    for c, group in groups.items():
        ordered = sorted(group, key=lambda s: _order(seed, s))
        val += ordered[: slots[c]]
    val_set = set(val)
    train = [s for s in stems if s not in val_set]
    return Split(tuple(train), tuple(sorted(val)), f"stratified(val_fraction={val_fraction}, seed={seed})")


def save_split(split: Split, path: str | os.PathLike[str]) -> None:
    """Write split.json atomically."""
    atomic_write_text(path, json.dumps(split.to_dict(), indent=1) + "\n")


def load_split(path: str | os.PathLike[str]) -> Split:
    """Read a split.json written by :func:`save_split`."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Split(
            tuple(data["train"]),
            tuple(data["val"]),
            str(data.get("source", path.name)),
            test=tuple(data.get("test", ())),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: not a readable split.json ({exc})") from None


def read_negatives(
    root: str | os.PathLike[str], name: str, count: int, seed: int, available: Sequence[str]
) -> list[str]:
    """Stems of the defect-free images listed in ``root/name`` to add to training.

    ``count`` > 0 keeps that many, the first in a seeded hash order (so the rest of the list stays
    unseen by training and can measure false alarms); 0 keeps all. Listed stems without an image
    and mask are a DataError naming the file.
    """
    path = Path(root) / name
    if not path.is_file():
        raise DataError(f"negatives list {path} does not exist")
    stems = _read_list(path)
    have = set(available)
    missing = [s for s in stems if s not in have]
    if missing:
        raise DataError(
            f"{path}: {len(missing)} listed image(s) are missing or have no mask: {shorten(missing)}"
        )
    ordered = sorted(dict.fromkeys(stems), key=lambda s: _order(seed, s))
    return ordered[:count] if count > 0 else ordered


def carve_validation_with_negatives(
    files: Split, dominant: Mapping[str, int], fraction: float, seed: int, negatives: Sequence[str] = ()
) -> Split:
    """Validation = a stratified ``fraction`` of the files' *training* list; the test list is dropped.

    ``dominant`` maps the training stems to their dominant class; ``negatives`` (defect-free
    images) get the same share in validation, so that false alarms can be measured there too.
    """
    inner = stratified_split({s: dominant[s] for s in files.train if s in dominant}, fraction, seed)
    val_neg = round(fraction * len(negatives))
    negs = sorted(negatives, key=lambda s: _order(seed + 1, s))
    val = tuple(sorted([*inner.val, *negs[:val_neg]]))
    train = tuple([*inner.train, *sorted(negs[val_neg:])])
    source = f"{files.source}: val_from_train={fraction}, seed={seed}, {len(negatives)} negatives"
    return Split(train, val, source)
