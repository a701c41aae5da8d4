"""Which images a batch run predicts, skips or refuses, before anything is written.

The rules (see also :mod:`inspector_app.services.batch`):

* an output that exists (not empty) and does not carry our marker is somebody else's file: a
  hand-made LabelMe JSON, an input image, a mask made by hand. It is never overwritten: the image
  is refused, naming the file. ``--force`` lets masks and overlays be replaced, never a LabelMe
  file (people's annotations) and never an input image;
* outputs carrying this model's id: the image is already done (unless ``--force``);
  outputs of another model: the image is redone and reported as such;
* images of one folder sharing a stem (``a.jpg``, ``a.png``) would write the same outputs: both
  are refused, naming each other;
* when the output folder is the input folder or inside it, our own outputs (files carrying our
  marker, the ``overlays`` folder) are not inputs;
* folders that cannot be listed are named (one failure each), never skipped in silence.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from inspector_app.services.batch_marks import read_marker
from inspector_app.services.file_entries import iter_listing

if TYPE_CHECKING:
    from inspector_app.services.batch import BatchOptions

OVERLAY_DIR = "overlays"
_MARKABLE = (".png", ".jpg", ".jpeg")


@dataclass
class BatchPlan:
    """What a run will do with each listed image."""

    #: Every listed input image (relative POSIX, listing order).
    names: list[str] = field(default_factory=list)
    todo: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    #: image -> why it is not predicted (its outputs are not ours, stem collision).
    refused: dict[str, str] = field(default_factory=dict)
    #: Images whose outputs another model wrote (they are in ``todo``).
    redone: list[str] = field(default_factory=list)
    #: (folder or entry relative POSIX + "/", reason) for what could not be listed.
    folder_failures: list[tuple[str, str]] = field(default_factory=list)


def outputs_for(options: BatchOptions, name: str) -> dict[str, Path]:
    """The per-image output files requested for input image ``name`` (relative POSIX)."""
    stem = os.path.splitext(name)[0]
    out: dict[str, Path] = {}
    if options.masks:
        out["mask"] = options.output_dir / f"{stem}.png"
    if options.labelme:
        out["labelme"] = options.output_dir / f"{stem}.json"
    if options.overlays:
        out["overlay"] = options.output_dir / OVERLAY_DIR / f"{stem}.jpg"
    return out


def _output_prefix(input_dir: Path, output_dir: Path) -> str | None:
    """The output folder relative to the input folder ('' when the same), None when outside it."""
    try:
        inside = output_dir.resolve().relative_to(input_dir.resolve())
    except ValueError:
        return None
    text = inside.as_posix()
    return "" if text == "." else text + "/"


def _ours(path: Path) -> bool:
    try:
        return read_marker(path) is not None
    except OSError:
        return False


def _list(options: BatchOptions, failures: list[tuple[str, str]]) -> list[str]:
    def on_error(name: str, exc: OSError) -> None:
        failures.append((name.rstrip("/") + "/", f"cannot list this folder: {exc.strerror or exc}"))

    names = [
        n
        for chunk, _jsons in iter_listing(options.input_dir, max_depth=options.max_depth, on_error=on_error)
        for n in chunk
    ]
    prefix = _output_prefix(options.input_dir, options.output_dir)
    if prefix is None:
        return names
    kept = []
    for name in names:
        if name.startswith(prefix):
            rest = name[len(prefix) :]
            if rest.startswith(OVERLAY_DIR + "/"):
                continue  # our overlays (or, before markers, anything there: never an input)
            if os.path.splitext(name)[1].lower() in _MARKABLE and _ours(options.input_dir / name):
                continue  # a mask this tool wrote
        kept.append(name)
    return kept


def _state(path: Path, kind: str, model_id: str, inputs: set[Path], force: bool) -> tuple[str, str]:
    """('new' | 'done' | 'other' | 'refused', reason) for one output file."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return "new", ""
    except OSError as exc:
        return "refused", f"cannot check its output {path}: {exc.strerror or exc}"
    if path.resolve() in inputs:
        return "refused", f"its {kind} output {path} would replace an input image; choose another --output"
    if info.st_size == 0 and path.is_file():
        return "new", ""  # what an un-fsynced output can be after a power loss
    try:
        mark = read_marker(path) if path.is_file() else None
    except OSError as exc:
        return "refused", f"cannot check its output {path}: {exc.strerror or exc}"
    if mark is None:
        if force and kind != "labelme" and path.is_file():
            return "other", ""
        hint = "" if kind == "labelme" else " (or pass --force to replace it)"
        return (
            "refused",
            f"{path} exists and was not written by defect-inspector predict: not overwritten; "
            f"move it away or choose another --output{hint}",
        )
    return ("done", "") if mark.get("model_id") == model_id else ("other", "")


def plan_batch(options: BatchOptions, model_id: str) -> BatchPlan:
    """List the inputs and decide, per image, under the module's rules. Raises OSError when
    ``options.input_dir`` itself cannot be listed."""
    plan = BatchPlan()
    plan.names = _list(options, plan.folder_failures)
    by_stem: dict[str, list[str]] = defaultdict(list)
    for name in plan.names:
        by_stem[os.path.splitext(name)[0]].append(name)
    inputs = {(options.input_dir / n).resolve() for n in plan.names}
    for name in plan.names:
        twins = by_stem[os.path.splitext(name)[0]]
        if len(twins) > 1:
            others = ", ".join(t for t in twins if t != name)
            plan.refused[name] = (
                f"shares its stem with {others}: their outputs would overwrite each other; rename one"
            )
            continue
        states = [
            _state(path, kind, model_id, inputs, options.force)
            for kind, path in outputs_for(options, name).items()
        ]
        refusals = [reason for state, reason in states if state == "refused"]
        if refusals:
            plan.refused[name] = "; ".join(refusals)
        elif not options.force and states and all(state == "done" for state, _ in states):
            plan.skipped.append(name)
        else:
            plan.todo.append(name)
            if any(state == "other" for state, _ in states) and not options.force:
                plan.redone.append(name)
    return plan
