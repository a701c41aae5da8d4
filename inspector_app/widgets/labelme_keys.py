"""The keys a labelme user already knows, and the keys of the issue-11 features, as data for the
window: extra shortcuts on existing actions (:data:`ALIASES`) and new actions (:data:`NEW_ACTIONS`),
plus :func:`clashes` to prove that no two actions share a key. docs/station.md lists the same.

The window wires them: ``add_aliases(lookup)`` with a function from an alias's action name to the
window's action, ``build_new_actions(window)`` for the rest, and connects each new action to the
slot named in :data:`NEW_ACTIONS`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

__all__ = ["ALIASES", "NEW_ACTIONS", "add_aliases", "build_new_actions", "clashes"]

#: Window action name -> labelme's keys added to it. Tool actions are named ``tools.<tool>``.
ALIASES: dict[str, tuple[str, ...]] = {
    "tools.polygon": ("Ctrl+N",),
    "tools.rectangle": ("Ctrl+R",),
    "tools.select": ("Ctrl+J",),
    "next_image": ("Ctrl+Shift+D",),
    "prev_image": ("Ctrl+Shift+A",),
    "open_folder": ("Ctrl+U",),
    "zoom_1to1": ("Ctrl+0",),
}

#: (name, menu text, keys, tooltip, what the window connects ``triggered`` to).
NEW_ACTIONS: tuple[tuple[str, str, tuple[str, ...], str, str], ...] = (
    ("tool_freehand", "Freehand polygon", ("Shift+P",), "Drag around an area; simplified on release",
     "canvas.set_tool('freehand')"),
    ("edit_label", "Edit label…", ("F2",), "Change the label of the selected shapes",
     "canvas.edit_label(session.selection)"),
    ("zoom_in", "Zoom in", ("Ctrl++", "Ctrl+="), "Zoom in around the view centre", "canvas.zoom_by(1)"),
    ("zoom_out", "Zoom out", ("Ctrl+-",), "Zoom out around the view centre", "canvas.zoom_by(-1)"),
    ("fit_width", "Fit width", ("Ctrl+Shift+F",), "Image width fills the view", "canvas.fit_width()"),
    ("toggle_shapes", "Show / hide all shapes", ("T",), "Hide every shape, or show them again",
     "shape_list.toggle_all_shapes()"),
    ("next_region", "Next defect region", ("G",), "Zoom to the next region of the navigator",
     "navigator.next_region()"),
    ("previous_region", "Previous defect region", ("Shift+G",), "Zoom to the previous region",
     "navigator.previous_region()"),
)  # fmt: skip


def add_aliases(lookup: Callable[[str], QAction | None]) -> list[str]:
    """Add :data:`ALIASES` to the window's actions (``lookup(name)``); returns the names not found."""
    missing = []
    for name, keys in ALIASES.items():
        action = lookup(name)
        if action is None:
            missing.append(name)
            continue
        sequences = list(action.shortcuts())
        sequences += [QKeySequence(k) for k in keys if QKeySequence(k) not in sequences]
        action.setShortcuts(sequences)
        shown = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in sequences)
        action.setToolTip(f"{action.statusTip() or action.text()}  ({shown})")
    return missing


def build_new_actions(window: QWidget) -> dict[str, QAction]:
    """One QAction per :data:`NEW_ACTIONS` entry, added to ``window`` (window-wide shortcuts)."""
    actions = {}
    for name, text, keys, tip, _slot in NEW_ACTIONS:
        action = QAction(text, window)
        action.setObjectName(name)
        action.setShortcuts([QKeySequence(k) for k in keys])
        shown = ", ".join(QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText) for k in keys)
        action.setToolTip(f"{tip}  ({shown})")
        action.setStatusTip(tip)
        window.addAction(action)
        actions[name] = action
    return actions


def clashes(actions: Iterable[QAction]) -> dict[str, list[str]]:
    """Key sequences bound to more than one action: ``{"Ctrl+E": ["Export…", "Edit label"]}``."""
    owners: dict[str, list[str]] = defaultdict(list)
    for action in actions:
        for sequence in action.shortcuts():
            owners[sequence.toString()].append(action.text())
    return {key: names for key, names in owners.items() if len(names) > 1}
