"""GenICam industrial cameras through ``harvesters`` (the optional extra ``[genicam]``).

A GenTL producer (a vendor's ``.cti`` file) is required: ``--source genicam:/opt/vendor/lib.cti``
opens the first camera it lists, ``genicam:lib.cti#SERIAL`` the camera with that serial number.
``harvesters`` is imported only when such a source opens, so the app never needs it otherwise.
Settings mapped to GenICam features when the camera has them: Width, Height,
AcquisitionFrameRate, ExposureTime.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from inspector_app.services.live.sources import SourceError, SourceSettings
from inspector_app.services.live.spec import SourceSpec

__all__ = ["GenICamSource"]

_MISSING = (
    "GenICam support is not installed: pip install 'defect-inspector[genicam]' "
    "(installs harvesters), and give the camera vendor's GenTL producer as genicam:PATH.cti"
)


def _frame_from_component(component: Any) -> np.ndarray:
    """A copy of one image component as HxW or HxWxC uint8/uint16 (the buffer is requeued)."""
    data = np.asarray(component.data)
    height, width = int(component.height), int(component.width)
    channels = max(1, data.size // max(1, height * width))
    shape = (height, width) if channels == 1 else (height, width, channels)
    return data.reshape(shape).copy()


class GenICamSource:
    """A :class:`~inspector_app.services.live.sources.FrameSource` for one GenICam camera."""

    def __init__(self, spec: SourceSpec, settings: SourceSettings | None = None) -> None:
        self.spec = spec
        self.settings = settings or SourceSettings()
        self.ended = False
        self.event_driven = False
        self.frame_name = ""
        self._harvester: Any = None
        self._acquirer: Any = None

    def open(self) -> None:
        try:
            from harvesters.core import Harvester
        except ImportError as exc:
            raise SourceError(f"{self.spec.text}: {_MISSING}") from exc
        harvester = Harvester()
        try:
            harvester.add_file(self.spec.target, check_existence=True)
            harvester.update()
            devices = harvester.device_info_list
            if not devices:
                raise SourceError(f"{self.spec.text}: the GenTL producer lists no camera")
            if self.spec.serial:
                serials = [str(getattr(d, "serial_number", "")) for d in devices]
                if self.spec.serial not in serials:
                    raise SourceError(
                        f"{self.spec.text}: no camera with serial {self.spec.serial!r} "
                        f"(found: {', '.join(serials)})"
                    )
                acquirer = harvester.create({"serial_number": self.spec.serial})
            else:
                acquirer = harvester.create(0)
            self._apply(acquirer)
            acquirer.start()
        except SourceError:
            harvester.reset()
            raise
        except Exception as exc:  # harvesters/GenTL raise their own exception types
            harvester.reset()
            raise SourceError(f"{self.spec.text}: cannot open the camera ({exc})") from exc
        self._harvester, self._acquirer = harvester, acquirer

    def _apply(self, acquirer: Any) -> None:
        nodes = acquirer.remote_device.node_map
        s = self.settings
        for feature, value in (
            ("Width", s.width),
            ("Height", s.height),
            ("AcquisitionFrameRate", s.fps),
            ("ExposureTime", s.exposure or 0),
        ):
            if value and hasattr(nodes, feature):
                try:
                    getattr(nodes, feature).value = type(getattr(nodes, feature).value)(value)
                except Exception:  # a read-only feature keeps the camera's value
                    continue

    def read(self) -> np.ndarray | None:
        if self._acquirer is None:
            raise SourceError(f"{self.spec.text}: not open")
        try:
            with self._acquirer.fetch(timeout=self.settings.read_timeout_s) as buffer:
                return _frame_from_component(buffer.payload.components[0])
        except Exception as exc:  # a GenTL time-out or a lost device
            raise SourceError(
                f"{self.spec.text}: no frame within {self.settings.read_timeout_s:g} s ({exc})"
            ) from exc

    def close(self) -> None:
        acquirer, self._acquirer = self._acquirer, None
        harvester, self._harvester = self._harvester, None
        if acquirer is not None:
            try:
                acquirer.stop()
                acquirer.destroy()
            except Exception:  # closing a lost device must not raise
                pass
        if harvester is not None:
            harvester.reset()

    def clone(self) -> GenICamSource:
        return GenICamSource(self.spec, self.settings)

    def properties(self) -> dict[str, float]:
        if self._acquirer is None:
            return {}
        nodes = self._acquirer.remote_device.node_map
        return {k: float(getattr(nodes, k).value) for k in ("Width", "Height") if hasattr(nodes, k)}
