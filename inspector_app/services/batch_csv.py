"""The per-input summary CSV of a batch run (``predict --csv FILE``).

One row per input in listing order (unreadable folders first): status (``predicted``, ``skipped``,
``refused``, ``unreadable``, ``too large``, ``failed``), size, the model id for rows this model
did, elapsed time, defect area in px and % (summed over the defect classes, only when there are
several), per class area, % and 8-connected region count, and the error. Written atomically and
fsynced (``core.fileio.atomic_write_text``): one file per run, the cost does not matter.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inspector_app.core.classes import ClassTable
from inspector_app.core.fileio import atomic_write_text
from inspector_app.core.images import ImageReadError, read_image
from inspector_app.core.regions import region_stats


@dataclass
class Row:
    """One input's line of the CSV."""

    name: str
    status: str
    height: int = 0
    width: int = 0
    elapsed_ms: float = 0.0
    stats: tuple[tuple[int, int], ...] = ()
    error: str = ""


def skipped_row(name: str, mask_path: Path | None, num_classes: int) -> Row:
    """A CSV row for an image done earlier by this model: statistics from its mask file."""
    if mask_path is None:
        return Row(name, "skipped")
    try:
        mask = read_image(mask_path)
    except ImageReadError as exc:
        return Row(name, "skipped", error=f"mask {mask_path}: {exc.problem}")
    if mask.ndim != 2 or mask.dtype != np.uint8 or int(mask.max(initial=0)) >= num_classes:
        problem = "not a class-index mask of this model (use --force to redo it)"
        return Row(name, "skipped", error=f"mask {mask_path}: {problem}")
    stats = tuple((int(a), int(r)) for a, r in region_stats(mask, num_classes))
    return Row(name, "skipped", int(mask.shape[0]), int(mask.shape[1]), 0.0, stats)


def csv_header(table: ClassTable) -> list[str]:
    """Column names of the per-image CSV.

    ``defect_px``/``defect_pct`` sum every defect class; a table with one defect class (a
    one-logit model) has only that class's columns, which would say the same thing twice.
    """
    header = ["image", "status", "height", "width", "model_id", "elapsed_ms"]
    if _has_total(table):
        header += ["defect_px", "defect_pct"]
    for info in table.classes[1:]:
        header += [f"{info.label}_px", f"{info.label}_pct", f"{info.label}_regions"]
    return [*header, "error"]


def _has_total(table: ClassTable) -> bool:
    return int(table.num_classes) > 2


def write_csv(path: Path, rows: list[Row], table: ClassTable, model_id: str) -> None:
    """The summary, atomically and fsynced (one file per run: the cost does not matter)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = io.StringIO(newline="")
    writer = csv.writer(fh)
    writer.writerow(csv_header(table))
    total = _has_total(table)
    for row in rows:
        pixels = row.height * row.width
        line: list[Any] = [row.name, row.status, row.height or "", row.width or ""]
        line.append(model_id if row.status in ("predicted", "skipped") else "")
        line.append(f"{row.elapsed_ms:.2f}" if row.status == "predicted" else "")
        if row.stats:
            if total:
                defect = sum(a for a, _r in row.stats[1:])
                line += [defect, f"{100.0 * defect / pixels:.4f}" if pixels else ""]
            for area, regions in row.stats[1:]:
                line += [area, f"{100.0 * area / pixels:.4f}" if pixels else "", regions]
        else:
            line += [""] * ((2 if total else 0) + 3 * (int(table.num_classes) - 1))
        writer.writerow([*line, row.error])
    atomic_write_text(path, fh.getvalue())
