"""Live mode: source specs and verdict rules (no threads, no streams)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inspector_app.core.regions import region_stats
from inspector_app.services.live.rules import (
    ClassRule,
    RulesError,
    VerdictRules,
    judge,
    load_rules,
    rules_path,
    save_rules,
)
from inspector_app.services.live.source_store import (
    SourceStoreError,
    load_source_settings,
    save_source_settings,
)
from inspector_app.services.live.sources import SourceSettings
from inspector_app.services.live.spec import SourceSpecError, parse_source
from tests.onnx_factory import RGB_TABLE


def test_specs_of_each_kind(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"x")
    assert parse_source("0").kind == "camera" and parse_source("0").index == 0
    dev = parse_source("/dev/video2")
    assert (dev.kind, dev.index, dev.target) == ("camera", 2, "/dev/video2")
    assert parse_source(str(clip), loop=True).loop
    assert parse_source(str(tmp_path)).kind == "folder"
    url = "rtsp://127.0.0.1:8554/line/1?x=1"
    spec = parse_source(url)
    # URLs are never passed through pathlib: 'rtsp://' must not become 'rtsp:/'.
    assert (spec.kind, spec.target, spec.label) == ("stream", url, url)
    assert parse_source("http://127.0.0.1:8080/stream.mjpg").target == "http://127.0.0.1:8080/stream.mjpg"
    cti = tmp_path / "producer.cti"
    cti.write_bytes(b"")
    gen = parse_source(f"genicam:{cti}#SN42")
    assert (gen.kind, gen.target, gen.serial) == ("genicam", str(cti), "SN42")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty source"),
        ("ftp://127.0.0.1/x", "unsupported URL scheme 'ftp'"),
        ("rtsp://", "no host"),
        ("missing_clip.mp4", "'missing_clip.mp4': no such file or folder"),
        ("/dev/sda", "not a camera device"),
        ("genicam:", "needs a GenTL producer"),
        ("genicam:lib.so", "is not a GenTL producer"),
        ("genicam:nowhere.cti", "not found"),
    ],
)
def test_bad_specs_say_why(text: str, message: str) -> None:
    with pytest.raises(SourceSpecError, match=message.replace("(", r"\(").replace(".", r"\.")):
        parse_source(text)


def _mask() -> np.ndarray:
    mask = np.zeros((100, 100), np.uint8)
    mask[0:10, 0:10] = 1  # red: 100 px = 1 %
    mask[50:52, 50:55] = 2  # green: 10 px
    return mask


def test_rules_area_share_and_default() -> None:
    mask = _mask()
    verdict = judge(mask, RGB_TABLE, VerdictRules())  # default: any defect pixel is NG
    assert verdict.verdict == "NG" and set(verdict.fired) == {"red", "green"}
    assert dict(verdict.areas) == {"red": 100, "green": 10, "blue": 0}
    stats = region_stats(mask, RGB_TABLE.num_classes)  # the core's count agrees
    assert [verdict.areas[label] for label in RGB_TABLE.labels[1:]] == [s.area_px for s in stats[1:]]
    lenient = VerdictRules({"red": ClassRule(max_area_px=100), "green": ClassRule(max_area_px=None)})
    assert judge(mask, RGB_TABLE, lenient).verdict == "OK"
    by_share = VerdictRules({"red": ClassRule(None, max_share_pct=0.5)}, default=ClassRule(max_area_px=50))
    assert judge(mask, RGB_TABLE, by_share).fired == ("red",)


def test_rules_min_confidence_ignores_unsure_pixels() -> None:
    mask = _mask()
    probs = np.zeros((4, 100, 100), np.float32)
    probs[1][mask == 1] = 0.55
    probs[2][mask == 2] = 0.95
    rules = VerdictRules(default=ClassRule(max_area_px=0, min_confidence=0.9))
    assert rules.needs_probabilities
    verdict = judge(mask, RGB_TABLE, rules, probs)
    assert verdict.fired == ("green",) and verdict.areas["red"] == 0


def test_rules_round_trip_and_errors(tmp_path: Path) -> None:
    rules = VerdictRules({"red": ClassRule(500, 2.5, 0.6)}, ClassRule(None, 1.0))
    path = rules_path(tmp_path / ".inspector")
    save_rules(rules, path)
    assert load_rules(path) == rules
    assert load_rules(tmp_path / "none.json") == VerdictRules()
    path.write_text("{broken", encoding="utf-8")
    with pytest.raises(RulesError, match=r"verdict_rules\.json: cannot read"):
        load_rules(path)
    assert path.read_text(encoding="utf-8") == "{broken"  # a load never rewrites the file
    path.write_text('{"classes": {"red": {"max_share_pct": 150}}}', encoding="utf-8")
    with pytest.raises(RulesError, match=r"classes\.red.*max_share_pct"):
        load_rules(path)


def test_source_settings_are_remembered_per_source(tmp_path: Path) -> None:
    meta = tmp_path / ".inspector"
    url = "rtsp://127.0.0.1:8554/line/1"
    settings = {
        url: SourceSettings(1280, 720, 25.0, exposure=-6.0, ffmpeg_options="rtsp_transport;tcp"),
        "0": SourceSettings(fps=60.0),
    }
    save_source_settings(meta, settings)
    assert load_source_settings(meta) == settings
    assert load_source_settings(tmp_path / "none") == {}
    (meta / "live_sources.json").write_text('{"sources": {"0": {"width": "wide"}}}', encoding="utf-8")
    with pytest.raises(SourceStoreError, match=r"live_sources\.json: cannot read"):
        load_source_settings(meta)
