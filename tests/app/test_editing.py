"""AnnotationSession: files (missing, unreadable, read-only, changed on disk), undo, selection,
clipboard, unknown labels, hidden/locked state. Raster edits are in test_editing_raster.py."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from inspector_app.commands import PREDICTION_FLAG
from inspector_app.core.annotations import Shape, load_document
from inspector_app.core.classes import ClassTable
from inspector_app.editing import AnnotationSession, SaveError

pytestmark = pytest.mark.gui

SQUARE = ((10.0, 10.0), (50.0, 10.0), (50.0, 50.0), (10.0, 50.0))
TABLE = ClassTable.from_labels(["dent", "scratch"])


def _session(tmp_path: Path, name: str = "a") -> AnnotationSession:
    session = AnnotationSession(TABLE)
    session.open(tmp_path / f"{name}.png", tmp_path / f"{name}.json", (100, 120, 3))
    return session


def test_missing_json_is_an_empty_clean_document(tmp_path: Path) -> None:
    session = _session(tmp_path)
    assert session.document is not None and session.document.shapes == ()
    assert session.document.image_path == "a.png"
    assert (session.document.image_height, session.document.image_width) == (100, 120)
    assert not session.is_dirty and session.unreadable is None


def test_every_edit_is_one_undo_step_and_dirty_follows_the_stack(tmp_path: Path) -> None:
    session = _session(tmp_path)
    dirty: list[bool] = []
    session.dirty_changed.connect(dirty.append)
    stack = session.undo_stack
    assert stack is not None
    sid = session.add_shape(Shape("dent", SQUARE))
    session.move_vertex(sid, 0, (0.0, 0.0))
    session.insert_vertex(sid, 1, (30.0, 5.0))
    session.move_shapes([sid], 5.0, -1.0)
    session.set_label([sid], "scratch")
    assert stack.index() == 5 and session.is_dirty
    assert session.shape(sid).points == ((5.0, -1.0), (35.0, 4.0), (55.0, 9.0), (55.0, 49.0), (15.0, 49.0))
    assert session.shape(sid).label == "scratch"
    stack.undo()
    stack.undo()
    assert session.shape(sid).points == ((0.0, 0.0), (30.0, 5.0), (50.0, 10.0), (50.0, 50.0), (10.0, 50.0))
    stack.undo()
    stack.undo()
    assert session.shape(sid).points == SQUARE
    stack.undo()
    assert session.document is not None and session.document.shapes == ()
    assert dirty == [True, False] and not session.is_dirty
    stack.redo()
    assert session.shape_ids == (sid,) and dirty == [True, False, True]


def test_removing_vertices_below_the_minimum_removes_the_shape(tmp_path: Path) -> None:
    session = _session(tmp_path)
    sid = session.add_shape(Shape("dent", SQUARE))
    session.remove_vertices({sid: [1]})
    assert len(session.shape(sid).points) == 3
    session.remove_vertices({sid: [0]})
    assert session.shape_ids == ()
    assert session.undo_stack is not None
    session.undo_stack.undo()
    assert len(session.shape(sid).points) == 3


def test_save_and_reopen_gives_the_same_shapes(tmp_path: Path) -> None:
    session = _session(tmp_path)
    shapes = [
        Shape("dent", SQUARE, group_id=3, description="deep"),
        Shape("scratch", ((1.5, 2.0), (80.0, 90.25)), "line"),
        Shape("scratch", ((60.0, 60.0), (70.0, 60.0)), "circle"),
    ]
    session.add_shapes(shapes)
    session.save()
    assert not session.is_dirty
    reopened = _session(tmp_path)
    assert reopened.document is not None and list(reopened.document.shapes) == shapes
    assert load_document(tmp_path / "a.json").image_path == "a.png"


def test_unreadable_json_is_never_overwritten(tmp_path: Path) -> None:
    bad = tmp_path / "a.json"
    bad.write_bytes(b'{"version": "5.4.1", "shapes": [ {"label": ')
    before = bad.read_bytes()
    session = _session(tmp_path)
    assert session.unreadable is not None and "a.json" in session.unreadable
    session.add_shape(Shape("dent", SQUARE))
    with pytest.raises(SaveError) as info:
        session.save()
    assert info.value.path == bad and "could not be read" in str(info.value)
    assert bad.read_bytes() == before
    assert session.is_dirty and len(session.state.shapes) == 1
    bad.unlink()  # the person moved the broken file away: now saving is safe
    session.save()
    assert len(load_document(bad).shapes) == 1


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder nobody can write into (chmod; ``chattr +i`` when running as root)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    immutable = False
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):  # root ignores mode bits
            done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False)
            immutable = done.returncode == 0
        try:
            (folder / "probe").write_text("x")
        except OSError:
            pass
        else:
            pytest.skip("cannot make a read-only folder on this machine")
        yield folder
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=False)
        folder.chmod(0o755)


def test_save_into_a_read_only_folder_keeps_edits_and_names_the_file(read_only_dir: Path) -> None:
    session = AnnotationSession(TABLE)
    session.open(read_only_dir / "a.png", read_only_dir / "a.json", (100, 120))
    sid = session.add_shape(Shape("dent", SQUARE))
    with pytest.raises(SaveError) as info:
        session.save()
    assert info.value.path == read_only_dir / "a.json"
    assert str(read_only_dir / "a.json") in str(info.value) and "kept in memory" in str(info.value)
    assert session.is_dirty and session.shape(sid).points == SQUARE
    assert not (read_only_dir / "a.json").exists()


def test_file_changed_on_disk_is_not_overwritten_silently(tmp_path: Path) -> None:
    session = _session(tmp_path)
    session.add_shape(Shape("dent", SQUARE))
    session.save()
    other = _session(tmp_path)
    other.add_shape(Shape("scratch", SQUARE))
    path = tmp_path / "a.json"
    os.utime(path, ns=(1, 1))  # someone else's save: another mtime
    session.add_shape(Shape("scratch", SQUARE))
    with pytest.raises(SaveError, match="changed on disk"):
        session.save()
    session.save(overwrite_changed=True)
    assert len(load_document(path).shapes) == 2


def test_unknown_labels_join_the_class_table_with_a_notice(tmp_path: Path) -> None:
    doc = {
        "version": "5.4.1", "flags": {}, "imagePath": "a.png", "imageData": None,
        "imageHeight": 100, "imageWidth": 120,
        "shapes": [
            {"label": "dent", "points": [[1, 1], [5, 1], [5, 5]], "shape_type": "polygon", "flags": {}},
            {"label": "burr", "points": [[1, 1], [9, 9]], "shape_type": "rectangle", "flags": {}},
        ],
    }  # fmt: skip
    (tmp_path / "a.json").write_text(json.dumps(doc))
    session = AnnotationSession(TABLE)
    notices: list[list[str]] = []
    session.labels_added.connect(notices.append)
    session.open(tmp_path / "a.png", tmp_path / "a.json", (100, 120))
    assert notices == [["burr"]]
    assert session.class_table.labels == ("_background_", "dent", "scratch", "burr")
    colors = [c.color for c in session.class_table]
    assert len(set(colors)) == len(colors)


def test_copy_paste_across_images_and_duplicate(tmp_path: Path) -> None:
    session = _session(tmp_path, "a")
    sid = session.add_shape(Shape("dent", SQUARE, flags={PREDICTION_FLAG: True}))
    assert session.copy([sid]) == 1
    session.open(tmp_path / "b.png", tmp_path / "b.json", (100, 120))
    pasted = session.paste()
    assert len(pasted) == 1 and session.shape(pasted[0]).points == SQUARE
    assert PREDICTION_FLAG not in session.shape(pasted[0]).flags  # pasting is a person's act
    assert session.selection == frozenset(pasted)
    dup = session.duplicate(pasted)
    assert session.shape(dup[0]).points[0] == (20.0, 20.0)
    assert session.dirty_images() == [tmp_path / "a.png", tmp_path / "b.png"]


def test_undo_history_survives_switching_images(tmp_path: Path) -> None:
    session = _session(tmp_path, "a")
    sid = session.add_shape(Shape("dent", SQUARE))
    session.open(tmp_path / "b.png", tmp_path / "b.json", (100, 120))
    assert session.shape_ids == () and not session.is_dirty
    session.open(tmp_path / "a.png", tmp_path / "a.json", (100, 120))
    assert session.shape_ids == (sid,) and session.is_dirty
    assert session.undo_group.activeStack() is session.undo_stack
    assert session.undo_stack is not None
    session.undo_stack.undo()
    assert session.shape_ids == ()


def test_undo_of_a_background_image_does_not_touch_the_open_one(tmp_path: Path) -> None:
    session = _session(tmp_path, "a")
    session.add_shape(Shape("dent", SQUARE))
    stack_a = session.undo_stack
    session.open(tmp_path / "b.png", tmp_path / "b.json", (100, 120))
    sid_b = session.add_shape(Shape("scratch", SQUARE))
    assert stack_a is not None
    stack_a.undo()
    assert session.shape_ids == (sid_b,)


def test_hidden_and_locked_are_view_state(tmp_path: Path) -> None:
    session = _session(tmp_path)
    a = session.add_shape(Shape("dent", SQUARE))
    b = session.add_shape(Shape("dent", SQUARE))
    session.set_selection([a, b])
    session.set_hidden([a], True)
    session.set_locked([b], True)
    assert session.is_hidden(a) and session.is_locked(b)
    assert session.selection == {b}  # hidden shapes cannot stay selected
    assert session.undo_stack is not None and session.undo_stack.index() == 2  # no undo steps


def test_edits_clear_the_prediction_mark_and_confirm_clears_it(tmp_path: Path) -> None:
    session = _session(tmp_path)
    ids = session.add_shapes([Shape("dent", SQUARE, flags={PREDICTION_FLAG: True, "x": True})] * 3)
    session.move_vertex(ids[0], 0, (1.0, 1.0))
    assert session.shape(ids[0]).flags == {"x": True}
    session.confirm_shapes([ids[1]])
    assert session.shape(ids[1]).flags == {"x": True}
    assert session.shape(ids[2]).flags[PREDICTION_FLAG]
    session.confirm_shapes()
    assert all(PREDICTION_FLAG not in s.flags for s in session.state.shapes)


def test_selection_follows_undo(tmp_path: Path) -> None:
    session = _session(tmp_path)
    a = session.add_shape(Shape("dent", SQUARE))
    assert session.selection == {a}
    session.remove_shapes([a])
    assert session.selection == frozenset()
    assert session.undo_stack is not None
    session.undo_stack.undo()
    assert session.selection == {a}
    assert np.allclose(session.shape(a).points, SQUARE)
