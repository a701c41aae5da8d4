"""The trainer's event stream: one JSON object per line, version 1.

The trainer prints every event on stdout and appends it to ``run_dir/events.jsonl``; the GUI
reads either. Each line is ``{"v": 1, "type": "<type>", "t": <unix time>, ...fields}``.

Compatibility rules (so that an older GUI can read a newer trainer and vice versa):

* a line whose ``v`` is a newer *major* version than :data:`VERSION` is rejected
  (:class:`ProtocolError`): its meaning may have changed;
* unknown ``type`` values are read as :class:`UnknownEvent` (new event kinds are additive);
* unknown extra fields are ignored, missing optional fields take their defaults (a missing
  ``t`` reads as 0.0);
* a missing required field, a wrong value type or invalid JSON is a :class:`ProtocolError`.

Floats are written with Python's JSON encoder, which writes ``NaN``/``Infinity`` for non-finite
values (a diverged loss is information worth keeping); both ends of this protocol are Python.

Event names follow docs/design.md ("Trainer events and exit codes"); the warning and error
events are called :class:`TrainerWarning` and :class:`TrainerError` (wire types ``"warning"`` and
``"error"``) so that they do not shadow the built-in ``Warning`` and are not mistaken for
exceptions.
"""

from __future__ import annotations

import json
import os
import time
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from enum import IntEnum
from pathlib import Path
from typing import Any, ClassVar, Literal

#: The protocol's major version, written as ``"v"`` in every line.
VERSION = 1


class ProtocolError(ValueError):
    """A line is not a valid event of a protocol version we understand."""


class ExitCode(IntEnum):
    """Exit status of every ``defect-train`` command (and :attr:`Finished.exit_code`).

    The GUI tells a bad input (fix the data or options and retry) from a crash (a bug or a failed
    export check; the log has the traceback) and from a cancel it asked for. argparse's usage
    errors also exit with 2, so every "you asked for something impossible" reads the same.
    """

    OK = 0
    CRASH = 1
    BAD_INPUT = 2
    CANCELLED = 3


def _now() -> float:
    return time.time()


@dataclass(frozen=True)
class Started:
    """Training began: where it writes, what it trains, on which device, on how many images.

    ``resumed_from_epoch`` is the number of epochs already completed when a ``--resume`` run
    continues (training goes on with the next one); None for a run that starts from epoch 1.
    """

    type: ClassVar[str] = "started"
    run_dir: str
    model: str
    device: str
    epochs: int
    num_train: int
    num_val: int
    config: dict[str, Any] = field(default_factory=dict)
    resumed_from_epoch: int | None = None
    t: float = field(default_factory=_now, kw_only=True)


@dataclass(frozen=True)
class Progress:
    """Progress inside an epoch. ``epoch`` counts from 1 to ``epochs``, ``step`` from 1 to ``steps``.

    ``eta_s`` is the estimated time to the end of the whole run, None while unknown.
    """

    type: ClassVar[str] = "progress"
    epoch: int
    epochs: int
    step: int
    steps: int
    loss: float
    lr: float
    images_per_s: float
    eta_s: float | None = None
    t: float = field(default_factory=_now, kw_only=True)


@dataclass(frozen=True)
class Metrics:
    """Evaluation after an epoch on ``split`` (``"train"``, ``"val"`` or ``"test"``).

    ``values`` holds summary metrics (e.g. ``miou``, ``macc``, ``mdice``, ``loss``); ``per_class``
    maps a class label to its metrics (e.g. ``{"zhe_zhou": {"iou": 0.62, "dice": 0.77}}``).
    """

    type: ClassVar[str] = "metrics"
    epoch: int
    split: str
    values: dict[str, float] = field(default_factory=dict)
    per_class: dict[str, dict[str, float]] = field(default_factory=dict)
    t: float = field(default_factory=_now, kw_only=True)


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint was written; ``kind`` is ``"last"`` or ``"best"``."""

    type: ClassVar[str] = "checkpoint"
    path: str
    epoch: int
    kind: Literal["last", "best"] = "last"
    t: float = field(default_factory=_now, kw_only=True)


@dataclass(frozen=True)
class Exported:
    """An ONNX model and its model card (the ``.json`` beside it) were written."""

    type: ClassVar[str] = "exported"
    path: str
    card_path: str
    t: float = field(default_factory=_now, kw_only=True)


@dataclass(frozen=True)
class TrainerWarning:
    """Something the user should know that does not stop training (wire type ``"warning"``)."""

    type: ClassVar[str] = "warning"
    message: str
    t: float = field(default_factory=_now, kw_only=True)


@dataclass(frozen=True)
class TrainerError:
    """Training failed (wire type ``"error"``); a :class:`Finished` event follows when possible.

    ``code`` is a short machine-readable reason, e.g. ``"bad_config"``, ``"bad_input"``,
    ``"out_of_memory"`` or ``"crash"``; ``message`` is for people.
    """

    type: ClassVar[str] = "error"
    message: str
    code: str = "error"
    t: float = field(default_factory=_now, kw_only=True)


@dataclass(frozen=True)
class Finished:
    """The run ended. ``status`` is ``"ok"``, ``"cancelled"`` or ``"failed"``.

    ``exit_code`` is the process exit code the trainer is about to return (an :class:`ExitCode`:
    0 ok, 2 bad input or config, 3 cancelled, 1 crash); ``best_metric``/``best_epoch`` are None
    when nothing was scored.
    """

    type: ClassVar[str] = "finished"
    status: Literal["ok", "cancelled", "failed"]
    exit_code: int
    best_metric: float | None = None
    best_epoch: int | None = None
    t: float = field(default_factory=_now, kw_only=True)


@dataclass(frozen=True)
class UnknownEvent:
    """An event of a type this version does not know; ``data`` holds all its other fields."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)
    t: float = field(default_factory=_now, kw_only=True)


Event = (
    Started
    | Progress
    | Metrics
    | Checkpoint
    | Exported
    | TrainerWarning
    | TrainerError
    | Finished
    | UnknownEvent
)

#: Known event classes by wire type.
EVENT_TYPES: dict[str, type[Any]] = {
    cls.type: cls
    for cls in (Started, Progress, Metrics, Checkpoint, Exported, TrainerWarning, TrainerError, Finished)
}

_RESERVED = ("v", "type", "t")


def _json_default(value: Any) -> Any:
    """Make paths, numpy scalars/arrays and tuples-in-sets JSON-friendly (configs carry them)."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        return item()  # numpy scalar or 0-d array
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def to_line(event: Event) -> str:
    """Serialise ``event`` as one JSON line (no newline inside, none at the end)."""
    payload: dict[str, Any] = {"v": VERSION, "type": event.type, "t": event.t}
    if isinstance(event, UnknownEvent):
        payload.update({k: v for k, v in event.data.items() if k not in _RESERVED})
    else:
        for f in fields(event):
            if f.name != "t":
                payload[f.name] = getattr(event, f.name)
    # ASCII-only output: control characters, U+2028/U+2029 and NEL are escaped, so the result is one
    # line for every line splitter (str.splitlines, Qt), and printing it never fails on a console
    # whose encoding is not UTF-8 (Windows code pages) even for non-ASCII paths.
    return json.dumps(payload, ensure_ascii=True, default=_json_default, separators=(",", ":"))


_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Check (and where lossless, convert) a decoded JSON value against a field's type hint."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _coerce(value, inner, where)
    if origin is Literal:
        if value not in typing.get_args(hint):
            raise ProtocolError(f"{where}: {value!r} is not one of {typing.get_args(hint)}")
        return value
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif hint is str:
        if isinstance(value, str):
            return value
    elif origin is dict:
        if isinstance(value, dict):
            _key_hint, value_hint = typing.get_args(hint)
            if value_hint is Any:
                return value
            return {str(k): _coerce(v, value_hint, f"{where}.{k}") for k, v in value.items()}
    else:  # pragma: no cover - every field type of this module is handled above
        raise TypeError(f"unsupported field type {hint!r}")
    raise ProtocolError(f"{where}: expected {getattr(hint, '__name__', hint)}, got {value!r}")


def from_dict(data: dict[str, Any]) -> Event:
    """Build an event from an already decoded JSON object (see :func:`from_line`)."""
    version = data.get("v")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ProtocolError(f"missing or invalid protocol version 'v': {version!r}")
    if version > VERSION:
        raise ProtocolError(f"protocol version {version} is newer than the supported {VERSION}")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ProtocolError(f"missing or invalid event 'type': {kind!r}")
    t_raw = data.get("t", 0.0)
    if isinstance(t_raw, bool) or not isinstance(t_raw, (int, float)):
        raise ProtocolError(f"{kind}.t: expected a unix time, got {t_raw!r}")
    t = float(t_raw)
    cls = EVENT_TYPES.get(kind)
    if cls is None:
        return UnknownEvent(kind, {k: v for k, v in data.items() if k not in _RESERVED}, t=t)
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name == "t":
            continue
        if f.name in data:
            kwargs[f.name] = _coerce(data[f.name], hints[f.name], f"{kind}.{f.name}")
        elif f.default is f.default_factory:  # both MISSING: a required field
            raise ProtocolError(f"{kind}: missing required field {f.name!r}")
    event: Event = cls(**kwargs, t=t)
    return event


def from_line(line: str | bytes) -> Event:
    """Parse one line of the stream. Raises :class:`ProtocolError` for anything that is not an event."""
    try:
        data = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"not a JSON line: {exc}") from None
    if not isinstance(data, dict):
        raise ProtocolError(f"not a JSON object: {str(line)[:80]!r}")
    return from_dict(data)


def iter_events(path: str | os.PathLike[str]) -> Iterator[Event]:
    """Yield the events of an ``events.jsonl`` file in order.

    A line that is not JSON can only be a write torn by a killed process (our writer always writes
    whole JSON lines): the last line of a run killed mid-write, or such a fragment followed by the
    events of a resumed run (see :func:`append_event`). Those are skipped. A line that is JSON but
    not a valid event (e.g. a newer protocol version) raises :class:`ProtocolError` naming the file
    and line. Blank lines are ignored.
    """
    file = Path(path)
    for number, line in enumerate(file.read_bytes().split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            continue  # torn write
        try:
            if not isinstance(data, dict):
                raise ProtocolError(f"not a JSON object: {line[:80]!r}")
            yield from_dict(data)
        except ProtocolError as exc:
            raise ProtocolError(f"{file}:{number}: {exc}") from None


def read_events(path: str | os.PathLike[str]) -> list[Event]:
    """All events of an ``events.jsonl`` file (see :func:`iter_events` for the error rules)."""
    return list(iter_events(path))


def append_event(path: str | os.PathLike[str], event: Event) -> None:
    """Append ``event`` as one line to an ``events.jsonl`` file, creating it if needed.

    If a previous writer was killed mid-line (the file does not end with a newline), a newline is
    written first so that the torn fragment stays a line of its own and the new event is readable.
    The line is written with a single ``write`` and flushed, so readers never see half of it
    unless the process dies inside that call.
    """
    data = (to_line(event) + "\n").encode("utf-8")
    with open(path, "ab") as fh:
        if fh.tell() > 0:
            with open(path, "rb") as check:
                check.seek(-1, os.SEEK_END)
                if check.read(1) != b"\n":
                    data = b"\n" + data
        fh.write(data)
        fh.flush()
