"""The piecewise JSON reader/writer gives exactly json.loads / json.dumps(indent=2) results."""

from __future__ import annotations

import json

import pytest

from inspector_app.core import jsonchunks

DOCS = [
    {},
    {"a": []},
    {
        "shapes": [{"label": "x\ny", "points": [[1.5, 2.0], [3, 4]], "flags": {}}, {"e": [], "d": {}}],
        "imageData": None,
        "version": "5.4.1",
        "flags": {"f": True},
        "nested": {"k": [1, [2, {"z": "é"}]]},
    },
    {"shapes": [1, "two", None, 3.25, [], {}], "b": "\u2028"},
    [1, 2, 3],
    "text",
]


@pytest.mark.parametrize("doc", DOCS)
def test_same_text_and_objects_as_json(doc: object) -> None:
    text = json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False)
    assert jsonchunks.dumps(doc) == text
    assert jsonchunks.loads(text) == doc
    compact = json.dumps(doc, separators=(",", ":"))
    assert jsonchunks.loads(compact) == doc
    assert jsonchunks.loads(" \n" + text + "\n ") == doc


@pytest.mark.parametrize("bad", ['{"a": [1, 2,]}', '{"a": 1} x', '{"a" 1}', "{", '{"shapes": [NaN]}', ""])
def test_bad_text_fails_as_json_does(bad: str) -> None:
    def reject(name: str) -> float:
        raise ValueError(f"{name} is not valid JSON")

    with pytest.raises(ValueError) as ours:
        jsonchunks.loads(bad, parse_constant=reject)
    with pytest.raises(ValueError) as theirs:
        json.loads(bad, parse_constant=reject)
    assert str(ours.value) == str(theirs.value)


def test_nan_refused_on_write() -> None:
    with pytest.raises(ValueError):
        jsonchunks.dumps({"a": [float("nan")]})
