"""Property tests: whatever the input, the reader returns a Document or raises AnnotationError.

Documents that load also survive the writer: save + load gives an equal Document.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspector_app.core.annotations import (
    SHAPE_TYPES,
    AnnotationError,
    Document,
    decode_mask,
    dump_document,
    encode_mask,
    load_document,
    parse_document,
    save_document,
)

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def _or_garbage(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly valid values, sometimes any JSON value at all."""
    return st.one_of(valid, valid, valid, json_values)


coordinate = st.integers(-10**6, 10**6) | st.floats(-1e6, 1e6, allow_nan=False)
masks = st.builds(
    lambda bits: encode_mask(np.array(bits, dtype=bool).reshape(2, -1)),
    st.lists(st.booleans(), min_size=2, max_size=8).filter(lambda b: len(b) % 2 == 0),
)
COUNTS = {"polygon": (3, 6), "rectangle": (2, 2), "circle": (2, 2), "line": (2, 2), "linestrip": (2, 5),
          "point": (1, 1), "points": (1, 4), "mask": (2, 2), "oriented_rectangle": (4, 4)}


@st.composite
def valid_shapes(draw: st.DrawFn) -> dict[str, Any]:
    """A shape labelme could have written: right point count, mask data for mask shapes."""
    shape_type = draw(st.sampled_from(SHAPE_TYPES))
    low, high = COUNTS[shape_type]
    pair = st.lists(coordinate, min_size=2, max_size=2)
    shape: dict[str, Any] = {
        "label": draw(st.text(max_size=8)),
        "points": draw(st.lists(pair, min_size=low, max_size=high)),
        "group_id": draw(st.none() | st.integers(-5, 5)),
        "description": draw(st.none() | st.text(max_size=8)),
        "shape_type": shape_type,
        "flags": draw(st.dictionaries(st.text(max_size=4), st.booleans(), max_size=2)),
        "mask": draw(masks) if shape_type == "mask" else None,
    }
    if draw(st.booleans()):
        shape[draw(st.text(max_size=6))] = draw(json_values)  # an unknown key (or a clobbered one)
    return shape


@st.composite
def mutated_shapes(draw: st.DrawFn) -> Any:
    """A valid shape with one field replaced, deleted or turned into garbage; or anything at all."""
    shape = draw(valid_shapes())
    key = draw(st.sampled_from(sorted(shape)))
    action = draw(st.sampled_from(["replace", "delete", "garbage-points", "anything"]))
    if action == "replace":
        shape[key] = draw(json_values)
    elif action == "delete":
        del shape[key]
    elif action == "garbage-points":
        shape["points"] = draw(st.lists(st.lists(coordinate | json_scalars, max_size=3), max_size=5))
    else:
        return draw(json_values)
    return shape


shape_dicts = st.one_of(valid_shapes(), valid_shapes(), mutated_shapes())
labelme_like = st.fixed_dictionaries(
    {
        "shapes": _or_garbage(st.lists(shape_dicts, max_size=4)),
        "imagePath": _or_garbage(st.text(max_size=10)),
    },
    optional={
        "version": _or_garbage(st.just("5.4.1")),
        "flags": _or_garbage(st.dictionaries(st.text(max_size=4), st.booleans(), max_size=3)),
        "imageData": _or_garbage(st.none() | st.text(max_size=10)),
        "imageHeight": _or_garbage(st.none() | st.integers(-2, 5000)),
        "imageWidth": _or_garbage(st.none() | st.integers(-2, 5000)),
        "otherKey": json_values,
    },
)


def _loads_or_rejects(data: bytes | str) -> Document | None:
    try:
        document = parse_document(data, "fuzz.json")
    except AnnotationError:
        return None
    assert isinstance(document, Document)
    # Anything we read, we can write and read back identically.
    assert parse_document(dump_document(document, "fuzz.json"), "fuzz.json") == document
    for shape in document.shapes:
        if shape.mask is not None:
            with contextlib.suppress(AnnotationError):
                assert decode_mask(shape).dtype == np.bool_
    return document


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_from_a_file(data: bytes, fuzz_dir: Path) -> None:
    path = fuzz_dir / "bytes.json"
    path.write_bytes(data)
    try:
        document = load_document(path)
    except AnnotationError as e:
        assert str(e).startswith(str(path))
        return
    out = fuzz_dir / "bytes-out.json"
    out.unlink(missing_ok=True)
    save_document(document, out)
    assert load_document(out) == document


@FUZZ
@given(value=json_values)
def test_arbitrary_json_values(value: Any) -> None:
    _loads_or_rejects(json.dumps(value))


@FUZZ
@given(value=labelme_like)
def test_labelme_shaped_documents_with_garbage(value: dict[str, Any]) -> None:
    _loads_or_rejects(json.dumps(value).encode("utf-8"))


@FUZZ
@given(value=labelme_like, cut=st.integers(0, 400))
def test_truncated_labelme_documents(value: dict[str, Any], cut: int) -> None:
    text = json.dumps(value, indent=2)
    _loads_or_rejects(text[: min(cut, len(text))])


def test_the_labelme_strategy_reaches_valid_documents() -> None:
    """Guard against a strategy that only ever produces rejects (the properties would be vacuous)."""
    loaded: list[Document] = []

    @settings(max_examples=200, deadline=None, database=None, derandomize=True)
    @given(value=labelme_like)
    def collect(value: dict[str, Any]) -> None:
        document = _loads_or_rejects(json.dumps(value))
        if document is not None and document.shapes:
            loaded.append(document)

    collect()
    assert len(loaded) >= 5, f"only {len(loaded)} of 200 generated documents were valid with shapes"
