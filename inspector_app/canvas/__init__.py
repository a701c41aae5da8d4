"""The annotation canvas: image + prediction overlay + editable LabelMe shapes.

``CanvasView`` (see :mod:`inspector_app.canvas.view` for its API, :mod:`inspector_app.canvas.tools`
for the mouse and keyboard gestures). Modules: ``view`` (zoom, pan, session binding),
``layers`` (image pyramid, overlay, brush layer), ``shape_item`` (one shape), ``geometry``
(Qt-free hit tests), ``select_tool`` / ``draw_tools`` (interaction).
"""

from inspector_app.canvas.layers import DisplayImage, prepare_display
from inspector_app.canvas.tool_base import TOOLS
from inspector_app.canvas.view import LAYER_MODES, CanvasView

__all__ = ["LAYER_MODES", "TOOLS", "CanvasView", "DisplayImage", "prepare_display"]
