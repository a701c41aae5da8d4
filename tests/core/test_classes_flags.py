"""Flags in classes.yaml (labelme's --flags / --labelflags): optional, round-tripped, validated."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspector_app.core.classes import ClassTable, ClassTableError

YAML = """\
image_flags: [blurry, needs second look]
shape_flags: [occluded]
classes:
  - {index: 0, label: _background_, name: background, color: "#000000"}
  - {index: 1, label: zhen_kong, name: pinhole, color: "#4363d8", flags: [through_hole, occluded]}
  - {index: 2, label: zang_wu, name: contamination, color: "#ffe119"}
"""


def test_flags_load_save_and_apply_per_label(tmp_path: Path) -> None:
    path = tmp_path / "classes.yaml"
    path.write_text(YAML, encoding="utf-8")
    table = ClassTable.load(path)
    assert table.image_flags == ("blurry", "needs second look")
    assert table.flags_for("zhen_kong") == ("occluded", "through_hole")
    assert table.flags_for("zang_wu") == ("occluded",)
    assert table.flags_for("unknown") == ("occluded",)
    table.save(tmp_path / "again.yaml")
    assert ClassTable.load(tmp_path / "again.yaml") == table
    grown, added = table.with_labels(["dent"])
    assert added == ("dent",) and grown.image_flags == table.image_flags
    assert grown.flags_for("zhen_kong") == table.flags_for("zhen_kong")


def test_tables_without_flags_are_written_as_before() -> None:
    table = ClassTable.from_labels(["dent"])
    assert "flags" not in table.to_yaml()
    assert ClassTable.from_dict(table.to_dict()) == table


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("image_flags: blurry\n", "image_flags: flags must be a list"),
        ("shape_flags: [a, a]\n", "shape_flags: flags are listed twice"),
        ("image_flags: ['']\n", "image_flags: flags must be a list"),
    ],
)
def test_bad_flag_lists_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "classes.yaml"
    path.write_text(text + "classes:\n  - {index: 0, label: _background_}\n", encoding="utf-8")
    with pytest.raises(ClassTableError, match=message) as info:
        ClassTable.load(path)
    assert "classes.yaml" in str(info.value)
