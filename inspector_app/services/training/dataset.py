"""A project's training data: which images carry annotations a person made or confirmed.

Qt-free, torch-free. :func:`scan_project` reads every image of the project folder and its
LabelMe JSON (``<stem>.json`` beside it) and sorts the images into:

* **usable**: every shape was drawn, edited or confirmed by a person. An image whose JSON has no
  shape at all is usable too (a person saved it: "no defect here") unless the batch predictor
  wrote it.
* **unconfirmed**: the JSON was written by batch prediction and not accepted since (top-level
  ``defect_inspector: {"source": "prediction"}``), or at least one of its shapes still carries
  ``flags["prediction"]`` (accepted into the editor, not yet confirmed). Left out unless
  ``include_predictions``: a model's own output would teach the model its own mistakes, and
  unconfirmed regions dropped from an image would teach background where a defect may be.
* **unannotated**: no JSON (the "annotate next" candidates).
* **unreadable**: the image header or the JSON cannot be read (named with the reason).

The class table is the project's; labels found in usable annotations but not in it are reported
as ``new_classes`` (offered to the user, appended in :meth:`ProjectDataset.training_table`).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from inspector_app.core.annotations import AnnotationError, Document, load_document
from inspector_app.core.classes import ClassTable
from inspector_app.core.images import ImageReadError, image_size
from inspector_app.services.file_entries import is_prediction_document
from inspector_app.services.project import is_image_file

#: The shape flag of a model-made shape nobody confirmed (``inspector_app.commands.PREDICTION_FLAG``).
PREDICTION_FLAG = "prediction"


@dataclass(frozen=True)
class AnnotatedImage:
    """One usable (or, when chosen, unconfirmed) image: names relative to the project root."""

    name: str
    json_name: str
    labels: tuple[str, ...]
    #: The label with most shapes (ties: first in the table), None for an image without defects.
    dominant: str | None
    unconfirmed: bool = False


@dataclass(frozen=True)
class ProjectDataset:
    """What :func:`scan_project` found."""

    root: Path
    images: tuple[AnnotatedImage, ...]
    table: ClassTable
    new_classes: tuple[str, ...]
    unconfirmed: tuple[str, ...]
    unannotated: tuple[str, ...]
    #: ``(name, reason)`` of images or JSON files that cannot be read.
    unreadable: tuple[tuple[str, str], ...]
    include_predictions: bool = False

    def training_table(self) -> ClassTable:
        """The project's table with the new classes appended (what the trainer is given)."""
        return self.table.with_labels(self.new_classes)[0] if self.new_classes else self.table

    def label_counts(self, names: Sequence[str] | None = None) -> dict[str, int]:
        """Images per label (all usable images, or those in ``names``), every table label listed."""
        wanted = set(names) if names is not None else None
        counts: Counter[str] = Counter()
        for image in self.images:
            if wanted is None or image.name in wanted:
                counts.update(set(image.labels))
        table = self.training_table()
        return {label: counts.get(label, 0) for label in table.labels[1:]}


def _is_unconfirmed(document: Document) -> bool:
    if is_prediction_document(document):
        return True
    return any(bool(shape.flags.get(PREDICTION_FLAG, False)) for shape in document.shapes)


def _dominant(labels: Sequence[str], order: Mapping[str, int]) -> str | None:
    if not labels:
        return None
    counts = Counter(labels)
    return min(counts, key=lambda lab: (-counts[lab], order.get(lab, len(order)), lab))


def scan_project(
    root: str | os.PathLike[str], table: ClassTable, *, include_predictions: bool = False
) -> ProjectDataset:
    """Sort the project's images (see the module docstring). Never raises for bad files."""
    root = Path(root)
    names = sorted(e.name for e in os.scandir(root) if e.is_file() and is_image_file(e.name))
    order = {label: i for i, label in enumerate(table.labels)}
    images: list[AnnotatedImage] = []
    unconfirmed: list[str] = []
    unannotated: list[str] = []
    unreadable: list[tuple[str, str]] = []
    new: set[str] = set()
    for name in names:
        json_path = (root / name).with_suffix(".json")
        if not json_path.is_file():
            unannotated.append(name)
            continue
        try:
            image_size(root / name)
        except ImageReadError as exc:
            unreadable.append((name, str(exc)))
            continue
        try:
            document = load_document(json_path)
        except AnnotationError as exc:
            unreadable.append((json_path.name, str(exc)))
            continue
        predicted = _is_unconfirmed(document)
        if predicted:
            unconfirmed.append(name)
            if not include_predictions:
                continue
        labels = tuple(shape.label for shape in document.shapes)
        new.update(label for label in labels if label not in order)
        images.append(AnnotatedImage(name, json_path.name, labels, _dominant(labels, order), predicted))
    return ProjectDataset(
        root=root,
        images=tuple(images),
        table=table,
        new_classes=tuple(sorted(new)),
        unconfirmed=tuple(unconfirmed),
        unannotated=tuple(unannotated),
        unreadable=tuple(unreadable),
        include_predictions=include_predictions,
    )
