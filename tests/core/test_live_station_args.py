"""The station's positional argument accepts live sources; Live mode settings saved in the project."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from inspector_app.__main__ import build_parser, station_arg
from inspector_app.services.live.spec import SourceSpec
from inspector_app.services.live.station_settings import (
    LiveSettings,
    LiveSettingsError,
    load_live_settings,
    save_live_settings,
)


def test_live_specs_become_sources_and_paths_stay_paths(tmp_path: Path) -> None:
    clip = tmp_path / "clip.avi"
    clip.write_bytes(b"not decoded here")
    for text, kind in (("0", "camera"), ("/dev/video2", "camera"), (str(clip), "file")):
        spec = station_arg(text)
        assert isinstance(spec, SourceSpec) and spec.kind == kind and spec.text == text
    url = "rtsp://127.0.0.1:8554/line/cam1"
    spec = station_arg(url)
    assert isinstance(spec, SourceSpec) and spec.target == url  # the double slash is kept
    assert station_arg(str(tmp_path)) == tmp_path
    assert build_parser().parse_args(["http://127.0.0.1:8080/mjpg"]).path.kind == "stream"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("ftp://host/x", "unsupported URL scheme"),
        ("/dev/videoX", "not a camera device"),
        ("gone.mp4", "no such file"),
    ],
)
def test_bad_live_specs_are_refused_with_the_reason(
    text: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=reason):
        station_arg(text)
    with pytest.raises(SystemExit):
        build_parser().parse_args([text])
    assert text in capsys.readouterr().err


def test_live_settings_round_trip_and_a_corrupt_file_is_named_and_kept(tmp_path: Path) -> None:
    meta = tmp_path / ".inspector"
    assert load_live_settings(meta) == LiveSettings()
    settings = LiveSettings(("0", "rtsp://127.0.0.1/x"), "tiles", True, 2.5, 100.0, "v.jsonl", 0)
    path = save_live_settings(meta, settings)
    assert load_live_settings(meta) == settings
    path.write_text("{broken", encoding="utf-8")
    with pytest.raises(LiveSettingsError, match=r"live_settings\.json"):
        load_live_settings(meta)
    assert path.read_text(encoding="utf-8") == "{broken"
    with pytest.raises(LiveSettingsError, match="size_mode"):
        LiveSettings.from_dict({"size_mode": "huge"})
