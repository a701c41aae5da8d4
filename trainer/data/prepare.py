"""From a ``--data`` folder to validated, decoded train/val samples (:func:`prepare_data`).

Order of checks, each failing with a :class:`DataError` that names the files (exit code 2):
empty dataset -> split lists naming missing images -> class table -> labels not in the class
table (unless ``add_unknown_classes``) -> per-file problems (unreadable, size mismatch, bad mask
values), tolerated up to ``max_bad_fraction`` of the samples and then reported as warnings.

Class table when fine-tuning (``base`` = the parent checkpoint's table): the dataset's own table
(classes.yaml/classes.txt) is the target when it has one, else the parent's table extended with
the labels found in the JSON files. Every class of the parent must still be there - a network
cannot silently forget a class (:class:`DataError` naming the missing ones).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

import numpy as np
import numpy.typing as npt

from inspector_app.core.classes import ClassTable, ClassTableError
from inspector_app.core.images import ImageReadError, read_image
from trainer.config import TrainConfig
from trainer.data.decode import (
    BadSample,
    LoadedSample,
    LoadOptions,
    collect_labels,
    load_all,
    probe_sizes,
    read_documents,
)
from trainer.data.samples import (
    DataError,
    Sample,
    find_class_table,
    find_samples,
    generic_table,
    shorten,
    unannotated_images,
)
from trainer.data.split import (
    Split,
    carve_validation,
    carve_validation_with_negatives,
    check_split,
    load_split,
    read_negatives,
    read_split_files,
    stratified_split,
)

SIZE_MULTIPLE = 32
#: Individual warnings listed for tolerated bad samples (the rest are counted).
MAX_LISTED_WARNINGS = 20


@dataclass
class PreparedData:
    """Everything the engine needs from the data folder."""

    table: ClassTable
    table_source: str
    train: list[LoadedSample]
    val: list[LoadedSample]
    split: Split
    size: tuple[int, int]
    added_labels: tuple[str, ...] = ()
    bad: list[BadSample] = field(default_factory=list)
    #: The test split (scored once at the end for the report, never for model selection).
    test: list[LoadedSample] = field(default_factory=list)


def round_size(height: float, width: float) -> tuple[int, int]:
    """Nearest multiples of 32 (at least 32)."""
    return (
        max(SIZE_MULTIPLE, round(height / SIZE_MULTIPLE) * SIZE_MULTIPLE),
        max(SIZE_MULTIPLE, round(width / SIZE_MULTIPLE) * SIZE_MULTIPLE),
    )


def merge_tables(
    base: ClassTable, data_table: ClassTable | None, labels: Sequence[str], source: str
) -> ClassTable:
    """The table of a fine-tuning run (see the module docstring); DataError if a class was removed."""
    if data_table is None:
        return base.with_labels(labels)[0]
    removed = [lab for lab in base.labels if lab not in data_table.labels]
    if removed:
        raise DataError(
            f"the class table {source} lacks class(es) {removed} of the model being fine-tuned "
            f"(its classes: {list(base.labels)}); removing classes is not supported - keep them in "
            f"the class table (they may have no examples)"
        )
    return data_table


def check_named_classes(base: ClassTable, data_table: ClassTable | None, named: bool, root: Path) -> None:
    """DataError when fine-tuning data has class-index masks but no class table.

    A mask value says nothing about which class it is: training value 1 as the parent's class 1
    would silently teach the parent's classes whatever the new data meant by 1.
    """
    if data_table is None and not named:
        raise DataError(
            f"{root} has class-index masks but no class table (classes.yaml / classes.txt / --classes): "
            f"their values cannot be matched to the classes of the model being fine-tuned "
            f"({list(base.labels[1:])}). Give a class table naming each mask value, or pass "
            f"--head replace to train a new classifier on the data's own classes"
        )


def _generic_from_masks(samples: Sequence[Sample]) -> ClassTable:
    top = 0
    for s in samples:
        if s.mask is not None:
            try:
                top = max(top, int(read_image(s.mask).max(initial=0)))
            except ImageReadError:
                continue  # reported when the sample is loaded
    return generic_table(max(top + 1, 2))


def _mask_lut(data_table: ClassTable | None, table: ClassTable) -> npt.NDArray[np.uint8] | None:
    """Mask PNG values are data-table indices: map them to the training table by label."""
    if data_table is None or data_table.labels == table.labels[: len(data_table)]:
        return None
    lut = np.zeros(256, np.uint8)
    for info in data_table:
        lut[info.index] = table.index_of(info.label)
    return lut


def prepare_data(
    config: TrainConfig,
    *,
    base_table: ClassTable | None = None,
    split_file: Path | None = None,
    warn: Callable[[str], None] = lambda message: None,
    log: Callable[[str], None] = lambda message: None,
    threads: int = 2,
    fine_tuning: bool = False,
) -> PreparedData:
    """Find, validate and decode the dataset of ``config`` (a :class:`~trainer.config.TrainConfig`).

    ``split_file``: a ``split.json`` to reuse (a resumed run's); the split used is *not* saved here
    (the engine writes it into the run folder, rank 0 only). ``fine_tuning``: ``base_table`` is
    an ``--init`` parent's (not a resumed run's), whose classes the data must name (see
    :func:`check_named_classes`); with ``head: replace`` the data's own table is used instead.
    """
    cfg = config
    root = Path(cfg.data)
    samples = find_samples(root, cfg.label_source)
    skipped = unannotated_images(root, samples)
    if skipped:
        log(f"{len(skipped)} image(s) without annotation are not used: {shorten(p.name for p in skipped)}")
    stems = [s.stem for s in samples]

    split: Split | None = None
    carve: Split | None = None  # the data's own lists, when validation is carved from train.txt
    negatives: list[str] = []
    if split_file is not None and split_file.is_file():
        split = load_split(split_file)
        check_split(split, stems, os.fspath(split_file))
    else:
        split = read_split_files(root, stems)
        if cfg.negatives:
            negatives = read_negatives(root, cfg.negatives, cfg.negatives_count, cfg.seed, stems)
            if split is None:
                raise DataError(f"negatives ({cfg.negatives}) need the data's train.txt/test.txt lists")
        if split is not None and cfg.val_from_train > 0:
            # Only the training list (and the negatives) are loaded: the test list is never seen.
            carve, split = split, None
            listed = set(carve.train) | set(negatives)
            samples = [s for s in samples if s.stem in listed]
            log(
                f"validation carved from {len(carve.train)} training image(s) (val_from_train "
                f"{cfg.val_from_train}); {len(carve.val)} test image(s) are not used"
            )
        elif split is not None and negatives:
            split = Split(
                (*split.train, *negatives),
                split.val,
                f"{split.source} + {len(negatives)} negatives",
                test=split.test,
            )
    if split is not None:
        listed = set(split.train) | set(split.val) | set(split.test)
        unlisted = [s for s in stems if s not in listed]
        if unlisted:
            log(f"{len(unlisted)} annotated image(s) are in neither split list and are not used")
        samples = [s for s in samples if s.stem in listed]

    # --- class table and labels ------------------------------------------------------------------
    data_table, source = find_class_table(root, cfg.classes)
    documents, bad = read_documents(samples)
    labels_used = collect_labels(documents, samples)
    label_list = sorted(labels_used)
    if fine_tuning and cfg.head == "replace":
        base_table = None  # a new classifier: the data's classes, whatever the parent's were
    elif fine_tuning and base_table is not None:
        check_named_classes(base_table, data_table, bool(documents), root)
    if base_table is not None:
        table = merge_tables(base_table, data_table, label_list, source or "of the data")
        source = source or "the parent model (+ data labels)"
    elif data_table is not None:
        table = data_table
    elif documents:
        try:
            table = ClassTable.from_labels(label_list)
        except ClassTableError as exc:
            raise DataError(f"cannot build a class table from the labels: {exc}") from None
        source = "labels of the JSON files"
    else:
        table = _generic_from_masks(samples)
        source = "mask values (no classes.yaml or classes.txt)"
        warn(f"no class table in {root}: classes are named {list(table.labels[1:])}")
    unknown = {lab: files for lab, files in labels_used.items() if lab not in table.labels}
    added: tuple[str, ...] = ()
    if unknown:
        if not cfg.add_unknown_classes:
            details = "; ".join(
                f"{lab!r} in {len(files)} file(s): {shorten((f.name for f in files), 3)}"
                for lab, files in sorted(unknown.items())
            )
            raise DataError(
                f"label(s) not in the class table ({source}): {details}. Add them to the class table, "
                f"fix the annotations, or pass --add-unknown-classes"
            )
        table, added = table.with_labels(sorted(unknown))
        warn(f"added class(es) {list(added)} found in the annotations but not in the class table ({source})")

    # --- sizes ---------------------------------------------------------------------------------
    sizes, bad_headers = probe_sizes(samples)
    if cfg.input_size:
        size = (int(cfg.input_size[0]), int(cfg.input_size[1]))
        log(f"input size {size[0]}x{size[1]} (input_size)")
    elif sizes:
        distinct = set(sizes.values())
        heights, widths = [s[0] for s in sizes.values()], [s[1] for s in sizes.values()]
        size = round_size(median(heights), median(widths))
        if len(distinct) > 1:
            warn(
                f"images have {len(distinct)} different sizes; all are resized to {size[0]}x{size[1]} "
                f"(set input_size to choose)"
            )
        elif size != next(iter(distinct)):
            log(f"images are resized to {size[0]}x{size[1]} (multiples of {SIZE_MULTIPLE})")
        log(
            f"input size {size[0]}x{size[1]}: the default, the data's median image size "
            f"{median(heights):g}x{median(widths):g} rounded to multiples of {SIZE_MULTIPLE}"
        )
    else:
        size = (SIZE_MULTIPLE, SIZE_MULTIPLE)
    bad_stems = {b.path.stem for b in bad}
    bad += [b for b in bad_headers if b.path.stem not in bad_stems]

    # --- decode ----------------------------------------------------------------------------------
    todo = [s for s in samples if s.stem not in {b.path.stem for b in bad}]
    options = LoadOptions(
        size=(int(size[0]), int(size[1])),
        channels=cfg.input_channels,
        table=table,
        cache_dir=Path(cfg.mask_cache) if cfg.mask_cache else None,
        mask_lut=_mask_lut(data_table, table),
        mask_classes=data_table.num_classes if data_table is not None else table.num_classes,
    )
    log(f"decoding {len(todo)} image(s) at {size[0]}x{size[1]}")
    loaded, bad_loads = load_all(todo, documents, options, threads=threads)
    bad += bad_loads
    if bad:
        fraction = len(bad) / max(1, len(samples))
        listing = "; ".join(str(b) for b in bad[:MAX_LISTED_WARNINGS])
        if fraction > cfg.max_bad_fraction:
            raise DataError(
                f"{len(bad)} of {len(samples)} sample(s) are unusable ({fraction:.1%} > max_bad_fraction "
                f"{cfg.max_bad_fraction:.1%}): {listing}"
                + (f" ... (+{len(bad) - MAX_LISTED_WARNINGS} more)" if len(bad) > MAX_LISTED_WARNINGS else "")
            )
        for b in bad[:MAX_LISTED_WARNINGS]:
            warn(f"skipped {b}")
        if len(bad) > MAX_LISTED_WARNINGS:
            warn(f"skipped {len(bad) - MAX_LISTED_WARNINGS} more unusable sample(s)")
    if not loaded:
        raise DataError(f"empty dataset: none of the {len(samples)} sample(s) in {root} could be used")

    # --- split -----------------------------------------------------------------------------------
    by_stem = {s.stem: s for s in loaded}
    if carve is not None:
        split = carve_validation_with_negatives(
            carve, {s.stem: s.dominant_class for s in loaded}, cfg.val_from_train, cfg.seed, negatives
        )
    elif split is None:
        split = stratified_split(
            {s.stem: s.dominant_class for s in loaded},
            cfg.val_fraction,
            cfg.seed,
        )
    elif not split.val:
        dominant = {s.stem: s.dominant_class for s in loaded}
        split = carve_validation(split, dominant, cfg.val_fraction, cfg.seed)
        log(f"validation carved out of train.txt ({len(split.val)} image(s)); test.txt is for the report")
    train = [by_stem[s] for s in split.train if s in by_stem]
    test = [by_stem[s] for s in split.test if s in by_stem]
    val = [by_stem[s] for s in split.val if s in by_stem]
    if not train:
        raise DataError(f"no usable training image in {root} (split {split.source})")
    if not val:
        raise DataError(
            f"no usable validation image in {root} (split {split.source}); metrics need at least one"
        )
    return PreparedData(table, source, train, val, split, (int(size[0]), int(size[1])), added, bad, test)


def describe_table(table: ClassTable) -> str:
    """``0 _background_, 1 zhe_zhou, ...`` for the log."""
    return ", ".join(f"{c.index} {c.label}" for c in table)


__all__ = ["PreparedData", "describe_table", "merge_tables", "prepare_data", "round_size"]
