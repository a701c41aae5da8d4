"""Class table: classes.yaml I/O, validation messages, default colours, lookups, extension."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from inspector_app.core.annotations import Document, Shape
from inspector_app.core.classes import (
    BACKGROUND_LABEL,
    ClassInfo,
    ClassTable,
    ClassTableError,
    default_color,
)

# The aluminium set's file, verbatim (the tests must not depend on ../shared being present).
ALUMINUM_YAML = """\
# Class table for this dataset.
classes:
  - {index: 0, label: _background_, name: background, color: "#000000"}
  - {index: 1, label: zhe_zhou, name: wrinkling, color: "#e6194b"}
  - {index: 2, label: ca_shang, name: abrasion, color: "#3cb44b", line_width: 10, draw_as: polyline}
  - {index: 3, label: zang_wu, name: contamination, color: "#ffe119"}
  - {index: 4, label: zhen_kong, name: pinhole, color: "#4363d8"}
"""


def _write(tmp_path: Path, text: str, name: str = "classes.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_aluminum_format(tmp_path: Path) -> None:
    table = ClassTable.load(_write(tmp_path, ALUMINUM_YAML))
    assert table.labels == ("_background_", "zhe_zhou", "ca_shang", "zang_wu", "zhen_kong")
    assert table.names[2] == "abrasion"
    assert len(table) == table.num_classes == 5
    ca = table.by_label("ca_shang")
    assert ca == ClassInfo(2, "ca_shang", "abrasion", (0x3C, 0xB4, 0x4B), 10, "polyline")
    assert table.by_index(1).line_width == 1 and table.by_index(1).draw_as is None
    assert table.index_of("zhen_kong") == 4
    assert [c.index for c in table] == [0, 1, 2, 3, 4]
    assert "zang_wu" in table and "nope" not in table


def test_real_dataset_tables_load(aluminum_dir: Path, magnetic_tile_dir: Path) -> None:
    al = ClassTable.load(aluminum_dir / "classes.yaml")
    assert al.by_label("ca_shang").draw_as == "polyline"
    assert al.by_label("ca_shang").line_width == 10
    mt = ClassTable.load(magnetic_tile_dir / "classes.yaml")
    assert mt.labels == ("_background_", "blowhole", "break", "crack", "fray", "uneven")


def test_save_writes_the_same_format_and_round_trips(tmp_path: Path) -> None:
    table = ClassTable.load(_write(tmp_path, ALUMINUM_YAML))
    out = tmp_path / "out.yaml"
    table.save(out)
    text = out.read_text(encoding="utf-8")
    entries = [line for line in text.splitlines() if line.startswith("  - ")]
    expected = [line for line in ALUMINUM_YAML.splitlines() if line.startswith("  - ")]
    assert entries == expected  # byte-identical class lines, colours as double-quoted #rrggbb
    assert "classes:" in text.splitlines()
    assert ClassTable.load(out) == table
    assert {p.name for p in tmp_path.iterdir()} == {"classes.yaml", "out.yaml"}  # no temp file left


@pytest.mark.parametrize("label", ["yes", "x y", "中文", "#hash", "a: b", "null", "1", 'it\'s "q"'])
def test_awkward_labels_round_trip(tmp_path: Path, label: str) -> None:
    table = ClassTable.from_labels([label, "plain"])
    path = tmp_path / "c.yaml"
    table.save(path)
    assert ClassTable.load(path) == table


def test_save_is_atomic_and_leaves_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, ALUMINUM_YAML)
    before = path.read_bytes()
    table = ClassTable.from_labels(["a"])

    def boom(src: str, dst: str) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk on fire"):
        table.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["classes.yaml"]


def _error(tmp_path: Path, body: str) -> str:
    path = _write(tmp_path, "classes:\n" + body)
    with pytest.raises(ClassTableError) as info:
        ClassTable.load(path)
    message = str(info.value)
    assert str(path) in message  # every message names the file
    return message


BG = '  - {index: 0, label: _background_, name: background, color: "#000000"}\n'


def test_error_duplicate_index(tmp_path: Path) -> None:
    msg = _error(tmp_path, BG + "  - {index: 1, label: a}\n  - {index: 1, label: b}\n")
    assert "duplicate index 1" in msg and "'a'" in msg and "'b'" in msg


def test_error_duplicate_label(tmp_path: Path) -> None:
    msg = _error(tmp_path, BG + "  - {index: 1, label: a}\n  - {index: 2, label: a}\n")
    assert "duplicate label 'a'" in msg


def test_error_non_contiguous(tmp_path: Path) -> None:
    msg = _error(tmp_path, BG + "  - {index: 1, label: a}\n  - {index: 3, label: b}\n")
    assert "contiguous" in msg and "[2]" in msg


@pytest.mark.parametrize("colour", ['"#12345"', '"red"', '"#gg0000"', "[1, 2]", "[0, 0, 300]"])
def test_error_bad_colour(tmp_path: Path, colour: str) -> None:
    msg = _error(tmp_path, BG + f"  - {{index: 1, label: scratch, color: {colour}}}\n")
    assert "entry 1 (label 'scratch')" in msg and "colour" in msg


def test_error_missing_background(tmp_path: Path) -> None:
    msg = _error(tmp_path, "  - {index: 0, label: a}\n  - {index: 1, label: b}\n")
    assert "_background_" in msg and "'a'" in msg


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ("  - {index: 1, label: a, line_width: 0}\n", "line_width"),
        ("  - {index: 1, label: a, draw_as: dotted}\n", "draw_as"),
        ("  - {index: 1, label: a, colour: '#000000'}\n", "unknown key"),
        ("  - {index: one, label: a}\n", "'index' must be an integer"),
        ("  - {index: 1, label: ''}\n", "'label'"),
        ("  - just a string\n", "expected a mapping"),
    ],
)
def test_error_bad_entry(tmp_path: Path, entry: str, fragment: str) -> None:
    msg = _error(tmp_path, BG + entry)
    assert fragment in msg and "entry 1" in msg


def test_error_not_a_table_and_unreadable(tmp_path: Path) -> None:
    for text in ("- a\n- b\n", "classes: 3\n", ""):
        with pytest.raises(ClassTableError, match="'classes:' list"):
            ClassTable.load(_write(tmp_path, text))
    with pytest.raises(ClassTableError, match="not valid YAML"):
        ClassTable.load(_write(tmp_path, "classes: [\n"))
    missing = tmp_path / "missing.yaml"
    with pytest.raises(ClassTableError, match=re.escape(str(missing))):
        ClassTable.load(missing)


def test_from_labels_sorted_background_first_distinct_colours() -> None:
    table = ClassTable.from_labels(["zeta", "alpha", "alpha", BACKGROUND_LABEL, "mid"])
    assert table.labels == (BACKGROUND_LABEL, "alpha", "mid", "zeta")
    assert table.by_index(0).color == (0, 0, 0)
    many = ClassTable.from_labels(f"c{i:03d}" for i in range(200))
    colours = [c.color for c in many]
    assert len(set(colours)) == len(colours)  # background black is never reused either
    assert ClassTable.from_labels(["b", "a"]) == ClassTable.from_labels(["a", "b"])  # deterministic
    # The first colours are the fixed high-contrast palette the dataset tables use too.
    assert [default_color(i) for i in (1, 2, 3)] == [
        (0xE6, 0x19, 0x4B),
        (0x3C, 0xB4, 0x4B),
        (0xFF, 0xE1, 0x19),
    ]


def test_from_documents() -> None:
    doc = Document(
        image_path="a.png",
        shapes=(
            Shape(label="scratch", points=((0, 0), (1, 1), (2, 0))),
            Shape(label="dent", points=((0, 0),)),
        ),
    )
    assert ClassTable.from_documents([doc]).labels == (BACKGROUND_LABEL, "dent", "scratch")


def test_with_labels_appends_and_keeps_indices(tmp_path: Path) -> None:
    table = ClassTable.load(_write(tmp_path, ALUMINUM_YAML))
    same, added = table.with_labels(["zang_wu", "ca_shang"])
    assert same is table and added == ()
    grown, added = table.with_labels(["new_b", "zang_wu", "new_a", "new_b"])
    assert added == ("new_a", "new_b")
    assert grown.classes[:5] == table.classes
    assert grown.index_of("new_a") == 5 and grown.index_of("new_b") == 6
    colours = [c.color for c in grown]
    assert len(set(colours)) == len(colours)  # new classes do not reuse a colour in the table


def test_dict_round_trip_is_json_serialisable(tmp_path: Path) -> None:
    table = ClassTable.load(_write(tmp_path, ALUMINUM_YAML))
    data = json.loads(json.dumps(table.to_dict()))
    assert data["classes"][2] == {
        "index": 2,
        "label": "ca_shang",
        "name": "abrasion",
        "color": "#3cb44b",
        "line_width": 10,
        "draw_as": "polyline",
    }
    assert ClassTable.from_dict(data) == table
    with pytest.raises(ClassTableError, match="model card: "):
        ClassTable.from_dict({"classes": data["classes"][1:]}, source="model card")


def test_lookups_and_palette(tmp_path: Path) -> None:
    table = ClassTable.load(_write(tmp_path, ALUMINUM_YAML))
    with pytest.raises(KeyError, match="nope"):
        table.by_label("nope")
    with pytest.raises(IndexError):
        table.by_index(5)
    palette = table.palette()
    assert palette.dtype == np.uint8 and palette.shape == (5, 3)
    assert palette[4].tolist() == [0x43, 0x63, 0xD8]
    mask = np.array([[0, 4]], dtype=np.uint8)
    assert palette[mask].shape == (1, 2, 3)  # index a mask with it to colour it


def test_direct_construction_is_validated_and_ordered() -> None:
    bg = ClassInfo(0, BACKGROUND_LABEL, "background", (0, 0, 0))
    table = ClassTable((ClassInfo(1, "a", "A", (1, 2, 3)), bg))
    assert table.labels == (BACKGROUND_LABEL, "a")
    with pytest.raises(ClassTableError, match="empty"):
        ClassTable(())
    with pytest.raises(ClassTableError, match="bad colour"):
        ClassTable((bg, ClassInfo(1, "a", "A", (1, 2, 999))))
