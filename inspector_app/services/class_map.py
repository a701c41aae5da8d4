"""Model class indices -> project class indices, joined by label.

A model's masks number classes in the order of the MODEL's class table (its card); the station
shows shapes, colours, the legend, visibility, review areas and "Accept prediction" in the order of
the PROJECT's class table. The two often differ (a model trained elsewhere, a project that grew a
label), so every prediction is translated once, in the inference worker, through a 256-entry
uint8 look-up table: ``project_mask = lut[model_mask]`` (``cv2.LUT``, well under a millisecond for
640x480). The result is cached with the map's :attr:`ClassMap.key`, so a changed map never serves
a mask numbered the old way.

Qt-free (numpy and OpenCV only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["ClassMap", "ClassMapError", "mapped_classes", "missing_labels"]

#: uint8 masks: project indices above this cannot be expressed.
MAX_INDEX = 255


class ClassMapError(ValueError):
    """The model's classes cannot be mapped onto the project's table; the message says why."""


def missing_labels(model_table: Any, project_table: Any) -> list[str]:
    """Labels of the model's classes (background excluded) that the project's table lacks."""
    return [c.label for c in model_table.classes[1:] if c.label not in project_table]


def mapped_classes(model_table: Any, project_table: Any) -> tuple[Any, ...]:
    """The project's ``ClassInfo`` of every class the model predicts, in project index order.

    What the legend, the accept-prediction menu and the review areas list: the model's classes,
    but with the project's index, name and colour. Labels the project lacks are left out (add
    them first, see :func:`missing_labels`).
    """
    infos = [project_table.by_label(c.label) for c in model_table.classes[1:] if c.label in project_table]
    return tuple(sorted(infos, key=lambda info: info.index))


@dataclass(frozen=True, eq=False)
class ClassMap:
    """``lut[model index] = project index`` (background 0 -> 0); see the module docstring.

    ``key`` identifies the mapping (two maps with the same key number masks the same way);
    ``num_classes`` is the length of per-class statistics of a mapped mask (highest mapped project
    index + 1).
    """

    lut: npt.NDArray[np.uint8]
    num_classes: int
    key: str
    identity: bool

    @classmethod
    def between(cls, model_table: Any, project_table: Any) -> ClassMap:
        """The map of ``model_table``'s indices onto ``project_table``'s, by label.

        Raises :class:`ClassMapError` when a model label is missing from the project's table
        (add it first) or a project index does not fit in a uint8 mask.
        """
        missing = missing_labels(model_table, project_table)
        if missing:
            raise ClassMapError(f"the project's classes lack the model's label(s) {', '.join(missing)}")
        labels: Sequence[str] = model_table.labels
        if len(labels) > MAX_INDEX + 1:
            raise ClassMapError(f"the model has {len(labels)} classes; masks hold at most {MAX_INDEX + 1}")
        targets = [0] + [project_table.index_of(label) for label in labels[1:]]
        too_high = [labels[i] for i, t in enumerate(targets) if t > MAX_INDEX]
        if too_high:
            raise ClassMapError(
                f"label(s) {', '.join(too_high)} have project indices above {MAX_INDEX} (uint8 masks)"
            )
        lut = np.zeros(MAX_INDEX + 1, np.uint8)
        lut[: len(targets)] = targets
        lut.setflags(write=False)
        identity = targets == list(range(len(targets)))
        key = "identity" if identity else "map:" + ",".join(str(t) for t in targets)
        return cls(lut, max(targets) + 1, key, identity)

    def apply(self, mask: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        """``mask`` (model indices) in project indices; the mask itself when the map is the identity."""
        if self.identity:
            return mask
        return np.asarray(cv2.LUT(np.ascontiguousarray(mask, dtype=np.uint8), self.lut), dtype=np.uint8)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ClassMap) and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)
