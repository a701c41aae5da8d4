"""Station modes: the pages of the station (Review, Annotate; Live and Training plug in the same way).

A mode is a :class:`StationMode`: a name, a side page, the actions it adds to the mode tool bar,
and ``activate``/``deactivate`` hooks. The window registers each mode once with :class:`ModeHost`
and never refers to a mode's insides; the host stacks the pages, gives every mode a switch action
(Ctrl+1, Ctrl+2, ... in registration order) and calls the hooks. Adding a mode is one new module
and one ``host.add(...)`` line: no other mode changes. Widgets shared by several modes (the
prediction panel) are handed to each mode, which places them in its page when activated.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QGroupBox, QStackedWidget, QToolBar, QVBoxLayout, QWidget


def group(title: str, *widgets: QWidget) -> QGroupBox:
    """A titled box holding ``widgets`` one under the other (the side panels' building block)."""
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(8, 6, 8, 8)
    for widget in widgets:
        layout.addWidget(widget)
    return box


class StationMode(ABC):
    """One page of the station. Subclasses set :attr:`name` and :attr:`title`."""

    #: Stable key (``"review"``): ``ModeHost.switch(name)`` and saved settings use it.
    name: str = ""
    #: Text of the switch action.
    title: str = ""

    @abstractmethod
    def page(self) -> QWidget:
        """The side page shown while the mode is active (built once)."""

    def toolbar_actions(self) -> Sequence[QAction]:
        """Actions added to the mode tool bar while the mode is active."""
        return ()

    def activate(self) -> None:  # noqa: B027 - an optional hook
        """Called when the mode becomes the current one (its page is already visible)."""

    def deactivate(self) -> None:  # noqa: B027 - an optional hook
        """Called when another mode takes over."""


class ModeHost(QObject):
    """The registry the window iterates: pages in a stack, one switch action per mode.

    ``mode_changed(name)`` after a switch.
    """

    mode_changed = Signal(str)

    def __init__(self, stack: QStackedWidget, toolbar: QToolBar, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._stack = stack
        self._toolbar = toolbar
        self._modes: dict[str, StationMode] = {}
        self._switches: dict[str, QAction] = {}
        self._group = QActionGroup(self)
        self._current: StationMode | None = None
        self._contributed: list[QAction] = []

    def add(self, mode: StationMode) -> QAction:
        """Register ``mode``: its page joins the stack, its switch action the tool bar.

        The first mode added becomes the current one.
        """
        if not mode.name or mode.name in self._modes:
            raise ValueError(f"mode name {mode.name!r} is empty or taken")
        self._modes[mode.name] = mode
        self._stack.addWidget(mode.page())
        action = QAction(mode.title, self._toolbar)
        action.setCheckable(True)
        action.setShortcut(QKeySequence(f"Ctrl+{len(self._modes)}"))
        action.setToolTip(f"{mode.title} mode ({action.shortcut().toString()})")
        action.triggered.connect(lambda _checked=False, n=mode.name: self.switch(n))
        self._group.addAction(action)
        if self._contributed:  # switches stay together, before the active mode's actions
            self._toolbar.insertAction(self._contributed[0], action)
        else:
            self._toolbar.addAction(action)
        self._switches[mode.name] = action
        if self._current is None:
            self.switch(mode.name)
        return action

    def names(self) -> list[str]:
        """Registered mode names, in registration order."""
        return list(self._modes)

    def current(self) -> str | None:
        """Name of the active mode."""
        return self._current.name if self._current is not None else None

    def switch(self, name: str) -> None:
        """Make ``name`` the active mode (deactivates the previous one)."""
        mode = self._modes[name]
        if mode is self._current:
            return
        if self._current is not None:
            self._current.deactivate()
        for action in self._contributed:
            self._toolbar.removeAction(action)
        self._current = mode
        self._stack.setCurrentWidget(mode.page())
        self._switches[name].setChecked(True)
        self._contributed = list(mode.toolbar_actions())
        if self._contributed:
            self._contributed.insert(0, self._toolbar.addSeparator())
            for action in self._contributed[1:]:
                self._toolbar.addAction(action)
        mode.activate()
        self.mode_changed.emit(name)
