"""The trainer event protocol: round trips, tolerance rules, events.jsonl reading and appending."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspector_app.core.protocol import (
    EVENT_TYPES,
    VERSION,
    Checkpoint,
    Event,
    Exported,
    Finished,
    Metrics,
    Progress,
    ProtocolError,
    Started,
    TrainerError,
    TrainerWarning,
    UnknownEvent,
    append_event,
    from_line,
    read_events,
    to_line,
)

EVENTS: list[Event] = [
    Started("/runs/r1", "zhong_unet", "cuda:0", 200, 280, 120, {"lr": 0.01, "batch": 4}, t=1.5),
    Progress(3, 200, 17, 70, 0.4321, 0.01, 21.3, 5400.0, t=2.0),
    Progress(1, 1, 1, 1, 1.0, 0.1, 1.0, t=2.5),  # eta unknown
    Metrics(3, "val", {"miou": 0.73, "loss": 0.2}, {"zhe_zhou": {"iou": 0.62, "dice": 0.76}}, t=3.0),
    Checkpoint("/runs/r1/best.pt", 3, "best", t=4.0),
    Exported("/runs/r1/model.onnx", "/runs/r1/model.json", t=5.0),
    TrainerWarning("only 3 validation images\nmetrics will be noisy", t=6.0),
    TrainerError("classes.yaml: entry 2 has no label", "bad_config", t=7.0),
    Finished("ok", 0, 0.7354, 187, t=8.0),
    Finished("cancelled", 3, t=9.0),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_round_trip(event: Event) -> None:
    line = to_line(event)
    assert "\n" not in line and "\r" not in line
    data = json.loads(line)
    assert (data["v"], data["type"], data["t"]) == (VERSION, event.type, event.t)
    assert from_line(line) == event


def test_every_known_type_is_covered() -> None:
    assert {e.type for e in EVENTS} == set(EVENT_TYPES)
    assert set(EVENT_TYPES) == {
        "started", "progress", "metrics", "checkpoint", "exported", "warning", "error", "finished",
    }  # fmt: skip


def test_wire_names_of_warning_and_error() -> None:
    assert json.loads(to_line(TrainerWarning("w")))["type"] == "warning"
    assert json.loads(to_line(TrainerError("e", "crash")))["type"] == "error"


def test_time_defaults_to_now() -> None:
    event = TrainerWarning("x")
    assert event.t > 1.6e9


def test_unknown_type_is_kept_whole() -> None:
    line = '{"v": 1, "type": "lr_found", "t": 12.0, "lr": 0.003, "curve": [1, 2]}'
    event = from_line(line)
    assert event == UnknownEvent("lr_found", {"lr": 0.003, "curve": [1, 2]}, t=12.0)
    assert json.loads(to_line(event)) == json.loads(line)


def test_unknown_fields_and_older_minor_lines_are_tolerated() -> None:
    event = from_line('{"v": 1, "type": "checkpoint", "path": "p", "epoch": 2.0, "gpu_mem": 3}')
    assert event == Checkpoint("p", 2, "last", t=0.0)  # kind defaults, t missing reads 0.0
    assert isinstance(event, Checkpoint) and isinstance(event.epoch, int)
    progress = from_line(
        '{"v":1,"type":"progress","epoch":1,"epochs":2,"step":1,"steps":9,"loss":1,"lr":0,"images_per_s":3}'
    )
    assert isinstance(progress, Progress) and progress.loss == 1.0 and progress.eta_s is None


def test_nan_loss_survives() -> None:
    event = from_line(to_line(Progress(1, 1, 1, 1, float("nan"), 0.1, 1.0, t=0.0)))
    assert isinstance(event, Progress) and math.isnan(event.loss)


def test_paths_and_numpy_values_in_config_are_serialised() -> None:
    event = Started("r", "m", "cpu", 1, 1, 1, {"data": Path("/d/x"), "lr": np.float32(0.5), "w": np.ones(2)})
    assert json.loads(to_line(event))["config"] == {"data": "/d/x", "lr": 0.5, "w": [1.0, 1.0]}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"v": 2, "type": "progress"}', "version 2 is newer"),
        ("not json", "not a JSON line"),
        ("[1, 2]", "not a JSON object"),
        ('{"type": "finished", "status": "ok", "exit_code": 0}', "version"),
        ('{"v": 1, "status": "ok"}', "type"),
        ('{"v": 1, "type": "finished", "exit_code": 0}', "missing required field 'status'"),
        ('{"v": 1, "type": "finished", "status": "great", "exit_code": 0}', "not one of"),
        ('{"v": 1, "type": "checkpoint", "path": "p", "epoch": "three"}', "checkpoint.epoch"),
        ('{"v": 1, "type": "checkpoint", "path": "p", "epoch": true}', "checkpoint.epoch"),
        ('{"v": 1, "type": "checkpoint", "path": "p", "epoch": 1.5}', "checkpoint.epoch"),
        ('{"v": 1, "type": "metrics", "epoch": 1, "split": "val", "values": {"miou": "x"}}', "values.miou"),
        ('{"v": 1, "type": "warning", "message": "m", "t": "noon"}', "unix time"),
    ],
)
def test_invalid_lines(line: str, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        from_line(line)


def test_read_events_skips_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    lines = [to_line(e) for e in EVENTS[:3]]
    path.write_text("\n".join(lines) + "\n" + to_line(EVENTS[3])[:25], encoding="utf-8")
    assert read_events(path) == EVENTS[:3]


def test_append_heals_a_torn_tail_so_a_resumed_run_stays_readable(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    append_event(path, EVENTS[0])
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(to_line(EVENTS[1])[:30])  # killed mid-write
    append_event(path, EVENTS[4])
    append_event(path, EVENTS[8])
    assert read_events(path) == [EVENTS[0], EVENTS[4], EVENTS[8]]
    assert path.read_text(encoding="utf-8").endswith("\n")


def test_blank_lines_are_ignored_and_bad_events_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(to_line(EVENTS[0]) + "\n\n" + '{"v": 9, "type": "x"}\n', encoding="utf-8")
    with pytest.raises(ProtocolError, match=r"events\.jsonl:3: protocol version 9"):
        read_events(path)


def test_read_events_of_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"")
    assert read_events(path) == []


finite = st.floats(allow_nan=False, allow_infinity=True, width=64)
label = st.text(min_size=1, max_size=12)


@given(
    epoch=st.integers(0, 10**6),
    loss=finite,
    values=st.dictionaries(label, finite, max_size=4),
    per_class=st.dictionaries(label, st.dictionaries(label, finite, max_size=3), max_size=3),
    split=label,
)
def test_property_metrics_and_progress_round_trip(epoch, loss, values, per_class, split) -> None:
    metrics = Metrics(epoch, split, values, per_class, t=1.0)
    assert from_line(to_line(metrics)) == metrics
    progress = Progress(epoch, epoch + 1, 1, 2, loss, 1e-3, 0.5, None, t=2.0)
    line = to_line(progress)
    assert "\n" not in line
    assert from_line(line) == progress


@given(message=st.text(max_size=200) | st.sampled_from(["a\u2028b", "\x85", "\r\n", "Prüfung 检测"]))
def test_property_any_message_stays_on_one_ascii_line(message: str) -> None:
    line = to_line(TrainerWarning(message, t=0.0))
    assert len(line.splitlines()) == 1
    assert line.isascii()  # printable on any console code page
    assert from_line(line) == TrainerWarning(message, t=0.0)
