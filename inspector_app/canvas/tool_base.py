"""The interface every canvas tool implements (the view forwards its events to the active tool)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent

if TYPE_CHECKING:
    from inspector_app.canvas.tool_host import ToolHost

__all__ = ["TOOLS", "BaseTool"]

TOOLS = (
    "select", "polygon", "freehand", "rectangle", "circle", "linestrip", "line", "point", "brush", "eraser",
)  # fmt: skip


class BaseTool:
    """A canvas interaction mode. Positions are scene (= image) coordinates."""

    name = ""

    def __init__(self, view: ToolHost) -> None:
        self.view = view

    def cursor(self) -> Qt.CursorShape:
        """Cursor shown over the canvas while this tool is active."""
        return Qt.CursorShape.ArrowCursor

    def activate(self) -> None:
        """The tool became active."""
        self.view.viewport().setCursor(self.cursor())

    def deactivate(self) -> None:
        """The tool is being replaced (after :meth:`cancel_or_commit`)."""

    def press(self, event: QMouseEvent, pos: QPointF) -> None:
        """Mouse button pressed."""

    def move(self, event: QMouseEvent, pos: QPointF) -> None:
        """Mouse moved (with or without buttons)."""

    def release(self, event: QMouseEvent, pos: QPointF) -> None:
        """Mouse button released."""

    def double_click(self, event: QMouseEvent, pos: QPointF) -> None:
        """Mouse double-clicked (after press and release of the first click)."""

    def key(self, event: QKeyEvent) -> bool:
        """A key was pressed; True when the tool used it."""
        return False

    def commit(self) -> None:
        """Hand pending work (brush strokes) to the session."""

    def cancel_or_commit(self) -> None:
        """Another image or tool is coming: keep what can be kept, drop half-done gestures."""
        self.commit()

    def reset(self) -> None:
        """A new document was opened: forget per-document state."""

    def zoom_changed(self) -> None:
        """The zoom or brush radius changed."""
