"""Issue 11, bug 3: the NG categories offered come from the class table in use, including a
folder's own ``classes.yaml`` beside its images (not only ``.inspector/classes.yaml``)."""

from __future__ import annotations

from pathlib import Path

from inspector_app.core.classes import ClassTable
from inspector_app.core.demo import demo_class_table
from inspector_app.services.project import Project


def test_folder_classes_yaml_gives_the_categories(tmp_path: Path) -> None:
    demo_class_table().save(tmp_path / "classes.yaml")
    project = Project.open(tmp_path)
    assert project.categories() == ["wrinkling", "abrasion", "contamination", "pinhole", "other"]
    assert project.table_in_use() == (demo_class_table(), "folder")
    assert not project.has_meta  # reading the folder's table writes nothing


def test_the_table_passed_in_wins_then_settings_win(tmp_path: Path) -> None:
    demo_class_table().save(tmp_path / "classes.yaml")
    project = Project.open(tmp_path)
    grown, _ = demo_class_table().with_labels(["burr"])
    assert project.categories(grown)[-2:] == ["burr", "other"]
    project.settings.categories = ["dent", "other"]
    assert project.categories(grown) == ["dent", "other"]


def test_project_table_beats_the_folder_one_and_a_bad_folder_table_is_reported(tmp_path: Path) -> None:
    (tmp_path / "classes.yaml").write_text("classes: [oops]\n", encoding="utf-8")
    project = Project.open(tmp_path)
    assert project.categories() == ["other"]
    assert any("classes.yaml" in w for w in project.warnings)
    project.set_class_table(ClassTable.from_labels(["dent"]))
    assert project.categories() == ["dent", "other"]
    assert Project.open(tmp_path).table_in_use()[1] == "project"


def test_outline_setting_round_trips(tmp_path: Path) -> None:
    project = Project.open(tmp_path)
    assert project.settings.outline_annotations_in_both is True
    project.settings.outline_annotations_in_both = False
    project.save_settings()
    assert Project.open(tmp_path).settings.outline_annotations_in_both is False
