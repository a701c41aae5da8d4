"""Finding a dataset's samples and its class table.

Layouts (``root`` = the ``--data`` folder; images are looked for in ``root/images`` if that folder
exists, else in ``root``):

* LabelMe JSON in ``root/labelme/`` (or ``json/``, ``annotations/``) or beside the images, found by
  file stem; the aluminium set keeps ``imagePath: "../images/<n>.jpg"`` in ``labelme/``.
* Class-index mask PNGs in ``root/masks/<stem>.png`` (the magnetic tile set has no JSON).

``label_source`` picks the targets: ``masks`` or ``json`` force one; ``auto`` takes a sample's mask
PNG when there is one and its JSON otherwise (the same rule as :mod:`trainer.evaluate`, so that
training and evaluation score against the same ground truth). Images with neither are not
annotated yet and are left out (a project folder in the middle of annotation).

Class table, first found: ``--classes FILE``; ``root/classes.yaml``; ``root/classes.txt`` (one
label per line, the first being the background); the labels of the JSON files (sorted).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from inspector_app.core.classes import BACKGROUND_LABEL, ClassInfo, ClassTable, ClassTableError, default_color
from inspector_app.core.images import is_image_file

IMAGE_DIRS = ("images",)
MASK_DIRS = ("masks",)
LABELME_DIRS = ("labelme", "json", "annotations")
#: Names of the background in a classes.txt (the first line) besides ``_background_``.
BACKGROUND_ALIASES = ("background", "bg", "_bg_", BACKGROUND_LABEL)


class DataError(ValueError):
    """The dataset cannot be used as it is; the message names the files (exit code 2)."""


@dataclass(frozen=True)
class Sample:
    """One image and its annotation (exactly one of ``annotation`` and ``mask`` is set)."""

    stem: str
    image: Path
    annotation: Path | None = None
    mask: Path | None = None


def shorten(items: Iterable[object], limit: int = 8) -> str:
    """``a, b, c ... (+12 more)`` for error messages that name files."""
    texts = [str(i) for i in items]
    shown = ", ".join(texts[:limit])
    return shown + (f" ... (+{len(texts) - limit} more)" if len(texts) > limit else "")


def image_dir(root: Path) -> Path:
    """The folder holding the images of a dataset."""
    return next((root / d for d in IMAGE_DIRS if (root / d).is_dir()), root)


def _index(folder: Path, predicate: object) -> dict[str, Path]:
    out: dict[str, Path] = {}
    if not folder.is_dir():
        return out
    for path in sorted(folder.iterdir()):
        if path.is_file() and callable(predicate) and predicate(path):
            out.setdefault(path.stem, path)
    return out


def find_samples(root: str | os.PathLike[str], label_source: str = "auto") -> list[Sample]:
    """All annotated samples of a dataset folder, sorted by stem.

    Raises :class:`DataError` when the folder does not exist or holds no annotated image.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"data folder {root} does not exist")
    images = _index(image_dir(root), is_image_file)
    jsons: dict[str, Path] = {}
    for folder in [root / d for d in LABELME_DIRS] + [image_dir(root), root]:
        for stem, path in _index(folder, lambda p: p.suffix.lower() == ".json").items():
            jsons.setdefault(stem, path)
    masks: dict[str, Path] = {}
    for folder in [root / d for d in MASK_DIRS]:
        for stem, path in _index(folder, lambda p: p.suffix.lower() == ".png").items():
            masks.setdefault(stem, path)
    samples = []
    for stem, image in images.items():
        mask = masks.get(stem) if label_source in ("auto", "masks") else None
        annotation = jsons.get(stem) if label_source in ("auto", "json") and mask is None else None
        if mask is not None or annotation is not None:
            samples.append(Sample(stem, image, annotation, mask))
    if not samples:
        what = {"auto": "LabelMe JSON or masks/ PNG", "json": "LabelMe JSON", "masks": "masks/ PNG"}[
            label_source
        ]
        raise DataError(
            f"empty dataset: no image in {image_dir(root)} has a {what} "
            f"({len(images)} image(s), {len(jsons)} JSON file(s), {len(masks)} mask(s) found)"
        )
    return samples


def unannotated_images(root: str | os.PathLike[str], samples: Iterable[Sample]) -> list[Path]:
    """Images of the dataset that are not among ``samples`` (for a log line)."""
    used = {s.stem for s in samples}
    return [p for stem, p in _index(image_dir(Path(root)), is_image_file).items() if stem not in used]


def table_from_txt(path: Path) -> ClassTable:
    """A ``classes.txt`` (one label per line, background first) as a class table, in file order."""
    try:
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    labels = [ln for ln in lines if ln and not ln.startswith("#")]
    if not labels:
        raise DataError(f"{path}: no class names")
    if labels[0] in BACKGROUND_ALIASES:
        labels = labels[1:]
    infos = [ClassInfo(0, BACKGROUND_LABEL, "background", (0, 0, 0))]
    infos += [ClassInfo(i, lab, lab, default_color(i)) for i, lab in enumerate(labels, start=1)]
    try:
        return ClassTable(tuple(infos))
    except ClassTableError as exc:
        raise DataError(f"{path}: {exc}") from None


def generic_table(num_classes: int) -> ClassTable:
    """``class_1 .. class_{n-1}`` for mask-only data without any class names."""
    infos = [ClassInfo(0, BACKGROUND_LABEL, "background", (0, 0, 0))]
    infos += [ClassInfo(i, f"class_{i}", f"class {i}", default_color(i)) for i in range(1, num_classes)]
    return ClassTable(tuple(infos))


def find_class_table(
    root: str | os.PathLike[str], explicit: str | None = None
) -> tuple[ClassTable | None, str]:
    """The dataset's class table and where it came from; ``(None, "")`` when there is none."""
    root = Path(root)
    candidates = [Path(explicit)] if explicit else [root / "classes.yaml", root / "classes.yml"]
    for path in candidates:
        if path.is_file() or explicit:
            if path.suffix.lower() == ".txt":
                return table_from_txt(path), os.fspath(path)
            try:
                return ClassTable.load(path), os.fspath(path)
            except ClassTableError as exc:
                raise DataError(str(exc)) from None
    txt = root / "classes.txt"
    if txt.is_file():
        return table_from_txt(txt), os.fspath(txt)
    return None, ""
