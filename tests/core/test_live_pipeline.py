"""The live pipeline with real ONNX sessions, real video files and real sockets on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector_app.core.annotations import load_document
from inspector_app.core.predictor import Predictor
from inspector_app.services.file_entries import PREDICTION_KEY
from inspector_app.services.live.ngcapture import NgCapture, ReviewSink
from inspector_app.services.live.outputs import JsonLineFile, TcpLineServer
from inspector_app.services.live.pipeline import LivePipeline, PipelineOptions
from inspector_app.services.live.result import LiveResult
from inspector_app.services.live.rules import ClassRule, VerdictRules
from inspector_app.services.live.sizing import SizePolicy, infer
from inspector_app.services.live.sources import SourceSettings, open_source
from inspector_app.services.live.spec import parse_source
from inspector_app.services.review_log import ReviewLog
from tests.live_streams import write_clip
from tests.onnx_factory import grey2, rgb4


def _wait(predicate: object, timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.02)


def _source(clip: Path, loop: bool = False, fps: float = 0.0):
    return open_source(parse_source(str(clip), loop=loop), SourceSettings(fps=fps))


def test_results_are_tagged_judged_and_written(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.avi", frames=20)
    model = Predictor(rgb4(tmp_path / "rgb4.onnx"))
    capture = NgCapture(tmp_path / "project" / "live_captures", model.class_table, min_interval_s=0.0)
    lines = JsonLineFile(tmp_path / "verdicts.jsonl")
    tcp = TcpLineServer(0)
    review = ReviewSink(tmp_path / "project" / ".inspector" / "review.sqlite", ok_every=1)
    client = socket.create_connection(("127.0.0.1", tcp.port), timeout=5)
    _wait(lambda: tcp.client_count == 1)
    # red squares of 24x24 = 576 px: NG above 500 px
    rules = VerdictRules({"red": ClassRule(max_area_px=500)}, ClassRule(max_area_px=None))
    pipeline = LivePipeline(
        [_source(clip)], model, PipelineOptions(rules=rules), [capture, lines, tcp, review]
    )
    seen: list[LiveResult] = []
    pipeline.subscribe(seen.append)
    pipeline.start()
    _wait(lambda: pipeline.finished)
    pipeline.stop()

    report = pipeline.report()
    assert report.captured == 20 and report.inferred + report.dropped == 20
    assert report.ng == report.inferred and report.sources[0].state == "ended"
    assert report.latency_ms["p50"] is not None
    first = seen[0]
    assert (first.source_id, first.model_id) == (0, model.model_id)
    assert [r.frame_id for r in seen] == sorted({r.frame_id for r in seen})
    assert first.verdict.fired == ("red",) and 500 < first.verdict.areas["red"] <= 24 * 24 + 50

    records = [json.loads(x) for x in (tmp_path / "verdicts.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(records) == report.inferred
    assert {"source", "frame_id", "time", "verdict", "areas", "model_id"} <= set(records[0])
    assert records[0]["source"] == str(clip) and records[0]["verdict"] == "NG"

    received = b""
    client.settimeout(2)
    while received.count(b"\n") < report.inferred:
        chunk = client.recv(65536)
        if not chunk:
            break
        received += chunk
    client.close()
    tcp_records = [json.loads(x) for x in received.splitlines()]
    assert [r["frame_id"] for r in tcp_records] == [r["frame_id"] for r in records]

    images = sorted((tmp_path / "project" / "live_captures").glob("*.png"))
    assert len(images) == report.ng == capture.counts.saved
    document = load_document(images[0].with_suffix(".json"), check_image=True)
    assert document.extra[PREDICTION_KEY]["model_id"] == model.model_id
    assert [s.label for s in document.shapes] == ["red"]
    with ReviewLog(tmp_path / "project" / ".inspector" / "review.sqlite") as log:
        assert sum(1 for r in log.latest().values() if r.verdict == "NG") == report.ng


def test_ng_capture_rate_limit_and_quota(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.avi", frames=30)
    model = Predictor(rgb4(tmp_path / "rgb4.onnx"))
    limited = NgCapture(tmp_path / "a", model.class_table, min_interval_s=10.0)
    tiny = NgCapture(tmp_path / "b", model.class_table, min_interval_s=0.0, quota_mb=0.0001)
    pipeline = LivePipeline([_source(clip, fps=-1)], model, outputs=[limited, tiny])
    pipeline.start()
    _wait(lambda: pipeline.finished)
    pipeline.stop()
    ng = pipeline.report().ng
    assert ng >= 3
    assert limited.counts.saved == 1 and limited.counts.rate_limited == ng - 1
    assert tiny.counts.saved == 1 and tiny.counts.over_quota == ng - 1  # the first write crosses 100 bytes


def test_pause_switch_model_and_rules_while_running(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.avi", frames=10)
    first = Predictor(rgb4(tmp_path / "rgb4.onnx", model_id="model-a"))
    pipeline = LivePipeline([_source(clip, loop=True)], first)
    pipeline.start()
    try:
        _wait(lambda: pipeline.latest(0) is not None)
        pipeline.pause()
        time.sleep(0.1)  # a result in flight when pausing may still land
        frozen = pipeline.latest(0)
        time.sleep(0.4)
        assert pipeline.latest(0) is frozen and pipeline.paused
        assert pipeline.health()[0].dropped > 0  # capture went on, the newest frame wins
        pipeline.pause(False)

        bad = pipeline.switch_model(tmp_path / "missing.onnx")
        with pytest.raises(Exception, match=r"missing\.onnx"):
            bad.result(10)
        assert pipeline.model is first  # a failing load keeps the running model
        future = pipeline.switch_model(rgb4(tmp_path / "b.onnx", model_id="model-b"))
        assert future.result(20) == "model-b"
        _wait(lambda: (r := pipeline.latest(0)) is not None and r.model_id == "model-b")
        assert pipeline.latest(0).model_id == "model-b"  # type: ignore[union-attr]

        assert pipeline.latest(0).verdict.verdict == "NG"  # type: ignore[union-attr]
        pipeline.set_rules(VerdictRules(default=ClassRule(max_area_px=None)))
        _wait(lambda: (r := pipeline.latest(0)) is not None and r.verdict.verdict == "OK")
        assert pipeline.latest(0).verdict.verdict == "OK"  # type: ignore[union-attr]
    finally:
        pipeline.stop()
    assert pipeline.report().ok > 0 and pipeline.report().ng > 0


@pytest.mark.parametrize("mode", ["full", "downscale", "tiles"])
def test_size_policies_give_a_full_size_mask(tmp_path: Path, mode: str) -> None:
    model = Predictor(grey2(tmp_path / "grey2.onnx"))
    image = np.zeros((300, 700), np.uint8)
    image[100:200, 300:500] = 255  # class 1 where bright
    policy = SizePolicy(mode, max_side=350, tile=128, overlap=32)  # type: ignore[arg-type]
    mask, _ = infer(model, image, policy)
    assert mask.shape == image.shape
    expected = (image > 127).astype(np.uint8)
    if mode == "downscale":
        assert np.mean(mask == expected) > 0.99
    else:
        np.testing.assert_array_equal(mask, expected)  # tiles stitch without seams


def test_hot_folder_through_the_pipeline_names_its_results(tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    model = Predictor(rgb4(tmp_path / "rgb4.onnx"))
    review = ReviewSink(tmp_path / ".inspector" / "review.sqlite", ok_every=1)
    source = open_source(parse_source(str(folder)))
    pipeline = LivePipeline([source], model, outputs=[review])
    pipeline.start()
    try:
        time.sleep(0.2)  # the folder is watched from before the files arrive
        ok_image = np.full((40, 60, 3), 30, np.uint8)
        ng_image = ok_image.copy()
        ng_image[5:15, 5:15] = (0, 0, 240)  # BGR red on disk
        cv2.imwrite(str(folder / "part_001.png"), ok_image)
        _wait(lambda: pipeline.stats.inferred >= 1)
        cv2.imwrite(str(folder / "part_002.png"), ng_image)
        _wait(lambda: pipeline.stats.inferred >= 2)
        time.sleep(0.5)  # a quiet folder is not a stall
        assert pipeline.health()[0].state == "live"
    finally:
        pipeline.stop()
    with ReviewLog(tmp_path / ".inspector" / "review.sqlite") as log:
        latest = log.latest()
    assert {name: r.verdict for name, r in latest.items()} == {"part_001.png": "OK", "part_002.png": "NG"}
    assert latest["part_002.png"].class_areas["red"] == 100
