"""Station modes (pages): see :mod:`inspector_app.modes.base` and docs/design.md."""

from inspector_app.modes.annotate import AnnotateMode
from inspector_app.modes.base import ModeHost, StationMode, group
from inspector_app.modes.review import ReviewMode

__all__ = ["AnnotateMode", "ModeHost", "ReviewMode", "StationMode", "group"]
