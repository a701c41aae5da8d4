"""Canvas tools and their gestures.

``select``: click a shape to select it alone, also when it is one of several selected (Ctrl+click
toggles, Shift+click adds); drag a shape's body to move the selection; drag on empty space for a
rubber band (shapes entirely inside get selected; with Ctrl/Shift added to the selection). On a
selected shape: drag a handle to move that vertex (rectangle corners keep the opposite corner; a
circle's centre moves it, its rim sets the radius); click a handle to pick that vertex, Shift+click
a handle to add/remove it from the picked vertices (Delete removes picked vertices, or the selected
shapes when none are picked); **Shift+click on an edge inserts a vertex there** and keeps dragging
it (one undo step), double-click on an edge inserts a vertex too; double-click a shape's body to
change its label. Locked and hidden shapes ignore the mouse. Esc cancels a drag (or clears the
selection).

``polygon``: click vertices; close by clicking the first vertex, double-click or Enter;
Backspace removes the last vertex; Esc cancels. ``linestrip``: the same, finished by Enter,
double-click or a click on the last vertex. ``rectangle``, ``circle`` (centre then rim),
``line``: press-drag-release, or click twice. ``point``: one click. New shapes get the current
label (``CanvasView.set_current_label``) or the one chosen in the label dialog.

``freehand``: press, drag around the area, release: the trace becomes one polygon, simplified to
within about 1.5 screen pixels (Esc while dragging drops it).

``brush`` / ``eraser``: paint with the left button (radius: ``[`` / ``]`` or Ctrl+wheel);
strokes are shown live and become ONE undoable edit when Enter is pressed, the tool is switched
or another image opened (``CanvasView.commit_pending`` does it on demand); Esc drops them. The
brush paints the current label's class (asked when there is none), the eraser cuts from every
visible, unlocked class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from inspector_app.canvas.draw_tools import BrushTool, DrawTool, FreehandTool
from inspector_app.canvas.select_tool import SelectTool
from inspector_app.canvas.tool_base import TOOLS, BaseTool

if TYPE_CHECKING:
    from inspector_app.canvas.tool_host import ToolHost

__all__ = ["TOOLS", "BaseTool", "make_tool"]


def make_tool(name: str, view: ToolHost) -> BaseTool:
    """A new tool object for ``name`` (one of :data:`TOOLS`)."""
    if name == "select":
        return SelectTool(view)
    if name == "freehand":
        return FreehandTool(view)
    if name in ("brush", "eraser"):
        return BrushTool(view, erase=name == "eraser")
    if name in TOOLS:
        return DrawTool(view, name)
    raise ValueError(f"unknown tool {name!r}; expected one of {TOOLS}")
