"""JSON read and written piece by piece, so other threads keep running meanwhile.

``json.loads``/``json.dumps`` run in C and hold Python's global interpreter lock for the whole
call: a 50 MB LabelMe document parsed on a worker thread still froze the GUI thread for seconds.
These functions give the same results (same objects, same text) but handle each element of the
top-level object's arrays (LabelMe's ``shapes``) in its own call, between which the interpreter
lets other threads run (every few milliseconds).
"""

from __future__ import annotations

import gc
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_WS = re.compile(r"[ \t\n\r]*")


def loads(text: str, *, parse_constant: Callable[[str], Any] | None = None) -> Any:
    """``json.loads(text, parse_constant=...)``, a top-level object's arrays element by element.

    Anything this reader does not follow (not an object, malformed text) is handed to
    ``json.loads``, so errors carry its usual message and position.
    """
    decoder = json.JSONDecoder(parse_constant=parse_constant)
    try:
        return _object(text, decoder)
    except (ValueError, IndexError, TypeError):
        return json.loads(text, parse_constant=parse_constant)


def _object(text: str, decoder: json.JSONDecoder) -> dict[str, Any]:
    at = _skip(text, 0)
    if text[at] != "{":
        raise ValueError("not an object")
    at = _skip(text, at + 1)
    result: dict[str, Any] = {}
    if text[at] == "}":
        return _end(text, at + 1, result)
    while True:
        if text[at] != '"':
            raise ValueError("key expected")
        key, at = decoder.raw_decode(text, at)
        at = _skip(text, at)
        if text[at] != ":":
            raise ValueError("colon expected")
        at = _skip(text, at + 1)
        if text[at] == "[":
            value, at = _array(text, at, decoder)
        else:
            value, at = decoder.raw_decode(text, at)
        result[key] = value
        at = _skip(text, at)
        if text[at] == "}":
            return _end(text, at + 1, result)
        if text[at] != ",":
            raise ValueError("comma expected")
        at = _skip(text, at + 1)


def _array(text: str, at: int, decoder: json.JSONDecoder) -> tuple[list[Any], int]:
    at = _skip(text, at + 1)
    items: list[Any] = []
    if text[at] == "]":
        return items, at + 1
    while True:
        item, at = decoder.raw_decode(text, at)  # one element: the lock is free between them
        items.append(item)
        at = _skip(text, at)
        if text[at] == "]":
            return items, at + 1
        if text[at] != ",":
            raise ValueError("comma expected")
        at = _skip(text, at + 1)


def _skip(text: str, at: int) -> int:
    """Index of the first non-blank character at or after ``at``."""
    match = _WS.match(text, at)
    return match.end() if match else at


def _end(text: str, at: int, result: dict[str, Any]) -> dict[str, Any]:
    if _skip(text, at) != len(text):
        raise ValueError("extra data")
    return result


def dumps(obj: Any, *, ensure_ascii: bool = False, allow_nan: bool = False) -> str:
    """``json.dumps(obj, indent=2, ...)`` with a top-level dict's lists written element by element."""

    def one(value: Any) -> str:
        return json.dumps(value, ensure_ascii=ensure_ascii, indent=2, allow_nan=allow_nan)

    if not isinstance(obj, dict) or not obj or not all(isinstance(k, str) for k in obj):
        return one(obj)
    members = []
    for key, value in obj.items():
        if isinstance(value, list) and value:
            # Elements sit two levels deep: every line of theirs is indented by 4 more spaces
            # (strings never hold a raw newline: JSON escapes it).
            items = ",\n".join("    " + one(item).replace("\n", "\n    ") for item in value)
            text = "[\n" + items + "\n  ]"
        else:
            text = one(value).replace("\n", "\n  ")
        members.append(f"  {one(key)}: {text}")
    return "{\n" + ",\n".join(members) + "\n}"


_pause_lock = threading.Lock()
_pauses = 0
_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a large document is built or written on a thread.

    Parsing 50 MB of LabelMe JSON creates millions of lists; each full collection then walks all
    of them with the interpreter lock held (a few hundred ms: the GUI thread stalls). The document
    holds no cycles, so reference counting frees it. Nothing is frozen on the way out: a lasting
    ``gc.freeze`` pins every cyclic garbage of the process for good, and ``freeze`` + ``unfreeze``
    postpones the collection of other objects' cycles (Qt-owned ones among them) to an arbitrary
    later full collection; so the first young collection after the pause walks the new objects once.
    Safe to nest and to use from several threads at once.
    """
    global _pauses, _was_enabled
    with _pause_lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()
