"""What a canvas tool may use of the view that hosts it.

Tools are typed against this Protocol, not against :class:`~inspector_app.canvas.view.CanvasView`,
so that ``view`` imports the tools and no tool module imports ``view`` (no import cycle, even
one hidden under ``TYPE_CHECKING``). ``CanvasView`` satisfies it structurally; mypy checks that
where the view hands itself to :func:`~inspector_app.canvas.tools.make_tool`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QGraphicsScene, QWidget

from inspector_app.canvas.layers import PaintLayerItem
from inspector_app.canvas.shape_item import Hit, ShapeItem
from inspector_app.canvas.shape_layer import ShapeLayer
from inspector_app.editing import AnnotationSession


class ToolHost(Protocol):
    """The canvas as its tools see it."""

    paint_layer: PaintLayerItem
    shapes: ShapeLayer
    session: AnnotationSession | None
    brush_radius: float

    @property
    def image_size(self) -> tuple[int, int]:
        """(height, width) of the shown image."""
        ...

    @property
    def current_label(self) -> str | None:
        """Label for new shapes, or None when asked each time."""
        ...

    def scene(self) -> QGraphicsScene:
        """The scene holding the image, overlay and shape items."""
        ...

    def viewport(self) -> QWidget:
        """The widget receiving the mouse (its cursor shows the tool)."""
        ...

    def pixel_size(self) -> float:
        """Image pixels per screen pixel."""
        ...

    def hit_test(self, pos: QPointF) -> tuple[ShapeItem, Hit] | None:
        """Topmost shape part under ``pos``."""
        ...

    def clamp(self, pos: QPointF) -> QPointF:
        """``pos`` limited to the image rectangle."""
        ...

    def request_label(self) -> str | None:
        """The label for a new shape (asked when there is no current label)."""
        ...

    def edit_label(self, ids: Collection[int]) -> None:
        """Ask for a new label for these shapes and apply it."""
        ...
