"""File list data (Qt-free): one :class:`FileEntry` per image, folder listing and per-file scanning.

Opening a 10,000-image folder must show the list at once, so the work is split in two:

1. :func:`iter_listing` walks the folder with ``os.scandir`` (names only, no ``stat`` per file),
   yielding one naturally sorted chunk per directory;
2. :func:`scan_file` then checks one image (header only) and its LabelMe JSON, off the GUI thread.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

from inspector_app.core.annotations import AnnotationError, Document, load_document
from inspector_app.core.images import IMAGE_SUFFIXES, ImageReadError, image_size
from inspector_app.core.jsonchunks import collector_paused

#: Top-level key our batch prediction writes into LabelMe JSON to mark it as a prediction.
PREDICTION_KEY = "defect_inspector"
#: Folders never listed (our metadata, VCS, caches).
_SKIP_DIRS = frozenset({"__pycache__", "node_modules"})
_DIGITS = re.compile(r"(\d+)")


class Status(IntEnum):
    """What the list shows for an image; ordered by display priority (highest last)."""

    PENDING = 0  # not scanned yet
    UNREVIEWED = 1
    PREDICTION = 2  # has only a LabelMe JSON written by a model
    ANNOTATED = 3
    OK = 4
    NG = 5
    UNREADABLE = 6  # image or JSON cannot be read


STATUS_TEXT = {
    Status.PENDING: "…",
    Status.UNREVIEWED: "unreviewed",
    Status.PREDICTION: "prediction only",
    Status.ANNOTATED: "annotated",
    Status.OK: "OK",
    Status.NG: "NG",
    Status.UNREADABLE: "unreadable",
}


@dataclass(slots=True)
class FileEntry:
    """Mutable state of one listed image (lives in the GUI thread's model)."""

    name: str  # POSIX path relative to the project root
    has_json: bool = False
    scanned: bool = False
    verdict: str | None = None
    category: str = ""
    image_error: str | None = None
    annotation_error: str | None = None
    prediction_json: bool = False
    #: Annotated shapes per label (from the JSON beside the image).
    shape_counts: dict[str, int] = field(default_factory=dict)
    #: Predicted regions per class label (from the last prediction seen or the review record).
    predicted: dict[str, int] | None = None
    dirty: bool = False
    size: tuple[int, int] | None = None  # (height, width)

    @property
    def status(self) -> Status:
        """The one status the list shows (unreadable > verdict > annotation)."""
        if self.image_error or self.annotation_error:
            return Status.UNREADABLE
        if self.verdict == "NG":
            return Status.NG
        if self.verdict == "OK":
            return Status.OK
        if not self.scanned:
            return Status.PENDING
        if self.has_json and self.prediction_json:
            return Status.PREDICTION
        if self.has_json:
            return Status.ANNOTATED
        return Status.UNREVIEWED

    @property
    def shape_total(self) -> int:
        """Number of annotated shapes."""
        return sum(self.shape_counts.values())

    @property
    def defect_count(self) -> int:
        """Predicted regions when known, else annotated shapes."""
        if self.predicted is not None:
            return sum(self.predicted.values())
        return self.shape_total

    def classes(self) -> set[str]:
        """Labels present in the annotation or the prediction."""
        found = {k for k, v in self.shape_counts.items() if v}
        if self.predicted:
            found |= {k for k, v in self.predicted.items() if v}
        return found

    def error(self) -> str | None:
        """Why the image is unreadable (image first), or None."""
        return self.image_error or self.annotation_error


@dataclass(frozen=True, slots=True)
class ScanResult:
    """What :func:`scan_file` found about one image."""

    name: str
    size: tuple[int, int] | None
    image_error: str | None
    annotation_error: str | None
    shape_counts: Mapping[str, int]
    prediction_json: bool
    has_json: bool = False


def natural_key(name: str) -> tuple[Any, ...]:
    """Sort key that puts ``2.png`` before ``10.png`` (digit runs compare as numbers)."""
    return tuple(int(part) if part.isdigit() else part.casefold() for part in _DIGITS.split(name))


def iter_listing(
    root: Path, *, max_depth: int = 2, on_error: Callable[[str, OSError], None] | None = None
) -> Iterator[tuple[list[str], set[str]]]:
    """Yield ``(image names, JSON names)`` per directory, breadth first, names relative POSIX.

    Each chunk is naturally sorted. Hidden folders (``.inspector``, ``.git``) are skipped.
    ``max_depth`` 0 lists only ``root`` itself. An unreadable root raises ``OSError``; a subfolder
    that cannot be listed (or an entry whose kind cannot be told, such as a symlink loop) is
    skipped and passed to ``on_error(relative name, error)`` when given.
    """
    queue: list[tuple[Path, str, int]] = [(root, "", 0)]
    first = True
    while queue:
        folder, prefix, depth = queue.pop(0)
        images: list[str] = []
        jsons: set[str] = set()
        subdirs: list[str] = []
        try:
            with os.scandir(folder) as it:
                for item in it:
                    name = item.name
                    if name.startswith("."):
                        continue
                    try:
                        is_dir = item.is_dir()
                    except OSError as exc:
                        if on_error is not None and depth < max_depth:
                            on_error(prefix + name, exc)
                        continue
                    if is_dir:
                        if depth < max_depth and name not in _SKIP_DIRS:
                            subdirs.append(name)
                    elif name.lower().endswith(".json"):
                        jsons.add(prefix + name)
                    elif os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES:
                        images.append(prefix + name)
        except OSError as exc:
            if first:
                raise
            if on_error is not None:
                on_error(prefix.rstrip("/"), exc)
            continue
        first = False
        images.sort(key=natural_key)
        if images:
            yield images, jsons
        subdirs.sort(key=natural_key)
        queue.extend((folder / d, f"{prefix}{d}/", depth + 1) for d in subdirs)


def json_name_for(image_name: str) -> str:
    """LabelMe's ``<stem>.json`` beside the image, as a relative name."""
    stem, _ext = os.path.splitext(image_name)
    return stem + ".json"


def is_prediction_document(document: Document) -> bool:
    """True when our batch prediction wrote this JSON (and nobody has accepted it since)."""
    marker = document.extra.get(PREDICTION_KEY)
    return isinstance(marker, Mapping) and marker.get("source") == "prediction"


def scan_file(root: Path, name: str, has_json: bool) -> ScanResult:
    """Check one image's header and read its JSON; never raises for bad files (they are reported)."""
    path = root / name
    size: tuple[int, int] | None = None
    image_error: str | None = None
    try:
        size = image_size(path)
    except ImageReadError as exc:
        image_error = exc.problem
    except OSError as exc:  # pragma: no cover - image_size wraps OS errors, belt and braces
        image_error = str(exc)
    annotation_error: str | None = None
    counts: dict[str, int] = {}
    prediction = False
    if has_json:
        try:
            with collector_paused():  # scanner thread: a large JSON must not stall the GUI thread
                document = load_document(root / json_name_for(name))
            counts = dict(Counter(s.label for s in document.shapes))
            prediction = is_prediction_document(document)
        except AnnotationError as exc:
            annotation_error = str(exc)
    return ScanResult(name, size, image_error, annotation_error, counts, prediction, has_json)


def apply_scan(entry: FileEntry, result: ScanResult) -> None:
    """Copy a scan result into an entry (the GUI thread owns entries)."""
    entry.scanned = True
    entry.has_json = result.has_json
    entry.size = result.size
    entry.image_error = result.image_error
    entry.annotation_error = result.annotation_error
    entry.shape_counts = dict(result.shape_counts)
    entry.prediction_json = result.prediction_json
