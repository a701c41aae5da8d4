"""Class table: index, LabelMe label, display name, colour and drawing rules of every class.

A project's ``classes.yaml`` and every model card carry one. Index 0 is the background
(label ``_background_``); indices are contiguous; shapes are rasterised in index order, so a
later class overwrites an earlier one where they overlap (see :mod:`inspector_app.core.masks`).

File format (the one of ``datasets/aluminum/classes.yaml``)::

    classes:
      - {index: 0, label: _background_, name: background, color: "#000000"}
      - {index: 2, label: ca_shang, name: abrasion, color: "#3cb44b", line_width: 10, draw_as: polyline}

``line_width`` (default 1) is the stroke width of open shapes (line, linestrip) and of shapes
drawn as polylines; ``draw_as: polyline`` draws closed shapes of that class (polygon, rectangle,
oriented_rectangle) as open polylines, the way the aluminium set's authors drew ``ca_shang``.

Flags (optional, like labelme's ``--flags`` / ``--labelflags``; tables without them load as
before)::

    image_flags: [blurry, needs_second_look]   # check boxes of the whole image (JSON "flags")
    shape_flags: [occluded]                    # every shape can carry these
    classes:
      - {index: 1, label: zhen_kong, name: pinhole, color: "#4363d8", flags: [through_hole]}

A class's ``flags`` are offered for its shapes only, after the table's ``shape_flags``
(:meth:`ClassTable.flags_for`). Flag names are non-empty strings, unique per list.
"""

from __future__ import annotations

import colorsys
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from inspector_app.core.fileio import atomic_write_text

if TYPE_CHECKING:
    from inspector_app.core.annotations import Document

BACKGROUND_LABEL = "_background_"
#: Allowed values of ``draw_as`` besides None (the shape type decides).
DRAW_AS_VALUES = ("polyline",)

RGB = tuple[int, int, int]

#: Hand-picked high-contrast colours (Sasha Trubetskoy's list, black/white removed), used first
#: so that small tables get easily told apart colours; further classes get golden-ratio hues.
_PALETTE_HEX = (
    "#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6",
    "#bfef45", "#fabed4", "#469990", "#dcbeff", "#9a6324", "#fffac8", "#800000", "#aaffc3",
    "#808000", "#ffd8b1", "#000075", "#a9a9a9",
)  # fmt: skip
_HEX_RE = re.compile(r"^#([0-9a-fA-F]{6})$")
_PLAIN_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


class ClassTableError(ValueError):
    """A class table is invalid; the message names the file (when there is one) and the entry."""


def parse_color(value: Any) -> RGB:
    """``"#rrggbb"`` or a sequence of three 0..255 ints -> ``(r, g, b)``; ValueError otherwise."""
    if isinstance(value, str):
        match = _HEX_RE.match(value.strip())
        if not match:
            raise ValueError(f"colour {value!r} is not '#rrggbb'")
        h = match.group(1)
        return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))
    if isinstance(value, Sequence) and len(value) == 3:
        rgb = tuple(value)
        if all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255 for c in rgb):
            return (int(rgb[0]), int(rgb[1]), int(rgb[2]))
    raise ValueError(f"colour {value!r} is not '#rrggbb' or three integers 0..255")


def color_hex(color: RGB) -> str:
    """``(r, g, b)`` -> ``"#rrggbb"``."""
    return "#{:02x}{:02x}{:02x}".format(*color)


def default_color(n: int) -> RGB:
    """The n-th default class colour (n >= 1; n = 0 is background black). Deterministic.

    The first 20 come from a fixed high-contrast palette; after that hues step by the golden
    ratio (which never repeats and keeps consecutive colours far apart) with alternating
    saturation/value so that neighbours differ in brightness too.
    """
    if n <= 0:
        return (0, 0, 0)
    if n <= len(_PALETTE_HEX):
        return parse_color(_PALETTE_HEX[n - 1])
    k = n - len(_PALETTE_HEX)
    hue = (0.11 + k * 0.618033988749895) % 1.0
    sat, val = ((0.85, 0.95), (0.60, 0.80), (0.95, 0.65))[k % 3]
    r, g, b = colorsys.hsv_to_rgb(hue, sat, val)
    return (round(r * 255), round(g * 255), round(b * 255))


@dataclass(frozen=True)
class ClassInfo:
    """One class. ``color`` is RGB; ``line_width`` applies to open shapes and polylines."""

    index: int
    label: str
    name: str
    color: RGB
    line_width: int = 1
    draw_as: str | None = None
    #: Flags offered for shapes of this class (labelme's ``--labelflags``), besides the table's.
    flags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The mapping written to classes.yaml / model cards (defaults left out)."""
        out: dict[str, Any] = {
            "index": self.index,
            "label": self.label,
            "name": self.name,
            "color": color_hex(self.color),
        }
        if self.line_width != 1:
            out["line_width"] = self.line_width
        if self.draw_as is not None:
            out["draw_as"] = self.draw_as
        if self.flags:
            out["flags"] = list(self.flags)
        return out


def _entry_name(i: int, entry: Any) -> str:
    label = entry.get("label") if isinstance(entry, Mapping) else None
    return f"entry {i}" + (f" (label {label!r})" if label is not None else "")


def _parse_entry(i: int, entry: Any) -> ClassInfo:
    where = _entry_name(i, entry)
    if not isinstance(entry, Mapping):
        raise ClassTableError(f"{where}: expected a mapping, got {type(entry).__name__}")
    unknown = set(entry) - {"index", "label", "name", "color", "line_width", "draw_as", "flags"}
    if unknown:
        raise ClassTableError(f"{where}: unknown key(s) {sorted(map(str, unknown))}")
    index = entry.get("index")
    if not isinstance(index, int) or isinstance(index, bool):
        raise ClassTableError(f"{where}: 'index' must be an integer, got {index!r}")
    label = entry.get("label")
    if not isinstance(label, str) or not label:
        raise ClassTableError(f"{where}: 'label' must be a non-empty string, got {label!r}")
    name = entry.get("name", label)
    if not isinstance(name, str) or not name:
        raise ClassTableError(f"{where}: 'name' must be a non-empty string, got {name!r}")
    try:
        color = parse_color(entry["color"]) if "color" in entry else default_color(index)
    except ValueError as exc:
        raise ClassTableError(f"{where}: bad colour: {exc}") from None
    width = entry.get("line_width", 1)
    if not isinstance(width, int) or isinstance(width, bool) or width < 1:
        raise ClassTableError(f"{where}: 'line_width' must be an integer >= 1, got {width!r}")
    draw_as = entry.get("draw_as")
    if draw_as is not None and draw_as not in DRAW_AS_VALUES:
        raise ClassTableError(f"{where}: 'draw_as' must be one of {list(DRAW_AS_VALUES)}, got {draw_as!r}")
    flags = _flag_list(entry.get("flags"), where)
    return ClassInfo(index, label, name, color, width, draw_as, flags)


def _flag_list(value: Any, where: str) -> tuple[str, ...]:
    """A list of distinct non-empty flag names (None = none); ClassTableError otherwise."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ClassTableError(f"{where}: flags must be a list of non-empty names, got {value!r}")
    if len(set(value)) != len(value):
        raise ClassTableError(f"{where}: flags are listed twice in {value!r}")
    return tuple(value)


def _check(classes: Sequence[ClassInfo]) -> None:
    """Raise ClassTableError for duplicate/non-contiguous indices, duplicate labels, no background."""
    if not classes:
        raise ClassTableError("the class table is empty (it needs at least the background, index 0)")
    seen_index: dict[int, ClassInfo] = {}
    seen_label: dict[str, ClassInfo] = {}
    for c in classes:
        if not isinstance(c.color, tuple) or len(c.color) != 3 or not all(0 <= v <= 255 for v in c.color):
            raise ClassTableError(f"class {c.index} ({c.label!r}): bad colour {c.color!r}")
        if c.index in seen_index:
            raise ClassTableError(
                f"duplicate index {c.index}: {seen_index[c.index].label!r} and {c.label!r}"
            )
        if c.label in seen_label:
            raise ClassTableError(
                f"duplicate label {c.label!r} at indices {seen_label[c.label].index} and {c.index}"
            )
        seen_index[c.index] = c
        seen_label[c.label] = c
    if 0 not in seen_index or seen_index[0].label != BACKGROUND_LABEL:
        got = repr(seen_index[0].label) if 0 in seen_index else "nothing"
        raise ClassTableError(f"index 0 must be the background {BACKGROUND_LABEL!r}, got {got}")
    missing = sorted(set(range(len(classes))) - set(seen_index))
    if missing:
        raise ClassTableError(
            f"indices must be contiguous 0..{len(classes) - 1}: missing {missing}, "
            f"got {sorted(seen_index)}"
        )


@dataclass(frozen=True)
class ClassTable:
    """An ordered, validated, immutable set of classes (``classes[i].index == i``)."""

    classes: tuple[ClassInfo, ...]
    #: Flags of a whole image (labelme's ``--flags``), shown as check boxes per image.
    image_flags: tuple[str, ...] = ()
    #: Flags every shape can carry; a class's own ``flags`` are added for its shapes.
    shape_flags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check(self.classes)
        ordered = tuple(sorted(self.classes, key=lambda c: c.index))
        object.__setattr__(self, "classes", ordered)

    # --- lookups -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.classes)

    def __iter__(self) -> Iterator[ClassInfo]:
        return iter(self.classes)

    def __contains__(self, label: object) -> bool:
        return any(c.label == label for c in self.classes)

    @property
    def num_classes(self) -> int:
        """Number of classes including the background."""
        return len(self.classes)

    @property
    def labels(self) -> tuple[str, ...]:
        """LabelMe labels in index order (``labels[0] == '_background_'``)."""
        return tuple(c.label for c in self.classes)

    @property
    def names(self) -> tuple[str, ...]:
        """Display names in index order."""
        return tuple(c.name for c in self.classes)

    def by_label(self, label: str) -> ClassInfo:
        """The class with this LabelMe label; KeyError if there is none."""
        for c in self.classes:
            if c.label == label:
                return c
        raise KeyError(f"no class with label {label!r} (known: {list(self.labels)})")

    def index_of(self, label: str) -> int:
        """Class index of a LabelMe label; KeyError if unknown."""
        return self.by_label(label).index

    def by_index(self, index: int) -> ClassInfo:
        """The class with this index; IndexError if out of range."""
        if not 0 <= index < len(self.classes):
            raise IndexError(f"class index {index} out of range 0..{len(self.classes) - 1}")
        return self.classes[index]

    def flags_for(self, label: str) -> tuple[str, ...]:
        """Shape flags offered for ``label``: the table's ``shape_flags``, then its class's own."""
        own = self.by_label(label).flags if label in self else ()
        return self.shape_flags + tuple(f for f in own if f not in self.shape_flags)

    def palette(self) -> np.ndarray:
        """uint8 (N, 3) RGB colours, row i = class i (index a class mask with it to colour it)."""
        return np.array([c.color for c in self.classes], dtype=np.uint8).reshape(-1, 3)

    # --- construction ----------------------------------------------------------------------
    @classmethod
    def from_labels(cls, labels: Iterable[str]) -> ClassTable:
        """Background at 0, then the distinct labels in sorted order, default colours.

        ``_background_`` in ``labels`` is ignored (it is always index 0).
        """
        uniq = sorted({lab for lab in labels if lab != BACKGROUND_LABEL})
        for lab in uniq:
            if not isinstance(lab, str) or not lab:
                raise ClassTableError(f"label {lab!r} must be a non-empty string")
        infos = [ClassInfo(0, BACKGROUND_LABEL, "background", (0, 0, 0))]
        infos += [ClassInfo(i, lab, lab, default_color(i)) for i, lab in enumerate(uniq, start=1)]
        return cls(tuple(infos))

    @classmethod
    def from_documents(cls, documents: Iterable[Document]) -> ClassTable:
        """:meth:`from_labels` over every shape label of the documents."""
        return cls.from_labels(s.label for d in documents for s in d.shapes)

    def with_labels(self, labels: Iterable[str]) -> tuple[ClassTable, tuple[str, ...]]:
        """Append unknown labels (sorted) after the existing classes; existing indices never move.

        Returns the new table (``self`` when nothing is new) and the labels added. New classes
        get the first default colours not already used by the table.
        """
        known = set(self.labels)
        added = tuple(sorted({lab for lab in labels if lab not in known}))
        if not added:
            return self, ()
        used = {c.color for c in self.classes}
        infos = list(self.classes)
        n = 1
        for lab in added:
            while default_color(n) in used:
                n += 1
            color = default_color(n)
            used.add(color)
            infos.append(ClassInfo(len(infos), lab, lab, color))
        return replace(self, classes=tuple(infos)), added

    # --- (de)serialisation -----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """``{[image_flags], [shape_flags], "classes": [{index, label, name, color "#rrggbb",
        [line_width], [draw_as], [flags]}, ...]}`` (flag lists only when not empty)."""
        out: dict[str, Any] = {}
        if self.image_flags:
            out["image_flags"] = list(self.image_flags)
        if self.shape_flags:
            out["shape_flags"] = list(self.shape_flags)
        out["classes"] = [c.to_dict() for c in self.classes]
        return out

    @classmethod
    def from_dict(cls, data: Any, *, source: str | os.PathLike[str] | None = None) -> ClassTable:
        """Inverse of :meth:`to_dict`. ``source`` (a file name) is put into error messages."""
        prefix = f"{os.fspath(source)}: " if source is not None else ""
        if not isinstance(data, Mapping) or not isinstance(data.get("classes"), list):
            raise ClassTableError(f"{prefix}expected a mapping with a 'classes:' list")
        try:
            infos = [_parse_entry(i, e) for i, e in enumerate(data["classes"])]
            image_flags = _flag_list(data.get("image_flags"), "image_flags")
            shape_flags = _flag_list(data.get("shape_flags"), "shape_flags")
            return cls(tuple(infos), image_flags, shape_flags)
        except ClassTableError as exc:
            raise ClassTableError(f"{prefix}{exc}") from None

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ClassTable:
        """Read a ``classes.yaml``; ClassTableError naming the file for any problem."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ClassTableError(f"{path}: cannot read: {exc.strerror or exc}") from exc
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ClassTableError(f"{path}: not valid YAML: {exc}") from exc
        return cls.from_dict(data, source=path)

    def to_yaml(self) -> str:
        """The classes.yaml text: one flow mapping per class, colours as double-quoted '#rrggbb'."""
        lines = [
            "# Class table. Index 0 is background; shapes are drawn in index order (a later class",
            "# overwrites an earlier one). `label` is the LabelMe label, `name` what people see.",
        ]
        for key, names in (("image_flags", self.image_flags), ("shape_flags", self.shape_flags)):
            if names:
                lines.append(f"{key}: [" + ", ".join(_yaml_str(n) for n in names) + "]")
        lines.append("classes:")
        for c in self.classes:
            parts = []
            for key, value in c.to_dict().items():
                if key == "color":
                    parts.append(f'color: "{value}"')
                elif isinstance(value, list):
                    parts.append(f"{key}: [" + ", ".join(_yaml_str(v) for v in value) + "]")
                elif isinstance(value, str):
                    parts.append(f"{key}: {_yaml_str(value)}")
                else:
                    parts.append(f"{key}: {value}")
            lines.append("  - {" + ", ".join(parts) + "}")
        return "\n".join(lines) + "\n"

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write classes.yaml atomically (:func:`~inspector_app.core.fileio.atomic_write_text`).

        Raises OSError (the file is then unchanged).
        """
        atomic_write_text(path, self.to_yaml())


def _yaml_str(value: str) -> str:
    """A YAML scalar for ``value`` inside a flow mapping: plain when unambiguous, else quoted."""
    if _PLAIN_RE.match(value) and yaml.safe_load(value) == value:
        return value
    # A JSON string is a valid YAML double-quoted scalar (same escapes), unicode kept readable.
    return json.dumps(value, ensure_ascii=False)
