"""A dropped annotation session is freed by reference counting, not left to the cycle collector.

The cycle collector clears Python objects in arbitrary order while Qt still deletes the session's
undo stacks and emits from them; that crashed whole test runs (segfault in ``gc.collect``).
"""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from pytestqt.qtbot import QtBot

from inspector_app.core.annotations import Shape
from inspector_app.core.classes import ClassTable
from inspector_app.editing import AnnotationSession


def test_session_with_undo_history_is_freed_without_the_cycle_collector(qtbot: QtBot, tmp_path: Path) -> None:
    session = AnnotationSession(ClassTable.from_labels(["dent"]))
    session.open(tmp_path / "a.png", tmp_path / "a.json", (40, 50, 3))
    sid = session.add_shape(Shape("dent", ((1.0, 1.0), (20.0, 1.0), (10.0, 15.0))))
    session.move_vertex(sid, 0, (2.0, 3.0))
    assert session.undo_stack is not None
    session.undo_stack.undo()
    alive = weakref.ref(session)
    gc.disable()
    try:
        del session
        assert alive() is None, "a reference cycle keeps the session for the cycle collector"
    finally:
        gc.enable()
