"""The inference worker: runs off the GUI thread, newest request wins, stale results are dropped,
results are cached per (image, model), a failing model load keeps the previous model."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inspector_app.core.images import read_image
from inspector_app.jobs.inference import InferenceService, PredictionResult
from inspector_app.jobs.loader import ImageLoader
from tests.app.test_station_support import expected_mask, make_image, make_model

pytestmark = pytest.mark.gui
WAIT_MS = 15_000


@pytest.fixture
def service(qtbot, tmp_path: Path) -> Iterator[InferenceService]:  # type: ignore[no-untyped-def]
    svc = InferenceService()
    with qtbot.waitSignal(svc.model_changed, timeout=WAIT_MS):
        svc.load_model(make_model(tmp_path / "m.onnx"))
    yield svc
    svc.shutdown()


def _images(tmp_path: Path, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for i in range(n):
        rgb = make_image(tmp_path / f"{i}.png", shift=i)
        out.append((read_image(tmp_path / f"{i}.png"), expected_mask(rgb)))
    return out


def test_runs_in_the_worker_thread(qtbot, service: InferenceService, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (image, expected), = _images(tmp_path, 1)
    with qtbot.waitSignal(service.prediction_ready, timeout=WAIT_MS) as blocker:
        assert service.predict("a", image) is None
    result: PredictionResult = blocker.args[0]
    assert result.thread_ident == service.worker_ident
    assert result.thread_ident not in (0, threading.get_ident())
    assert service.worker_thread is not None and service.worker_thread.isRunning()
    np.testing.assert_array_equal(result.mask, expected)
    assert result.stats[1] == (375, 1) and result.stats[3] == (0, 0)
    # Same image, same model: answered from the cache, synchronously, no new run.
    cached = service.predict("a", image)
    assert cached is result


def test_stale_results_are_dropped(qtbot, service: InferenceService, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (a, _), (b, expected_b) = _images(tmp_path, 2)
    # Hold the worker inside the first prediction so that the second request is made while the
    # first one runs: the first result then arrives stale and must not be delivered.
    predictor: Any = service._worker._predictor
    real_predict = predictor.predict
    gate, entered = threading.Event(), threading.Event()

    def gated(image: np.ndarray, **kwargs: Any) -> Any:
        entered.set()
        assert gate.wait(10)
        return real_predict(image, **kwargs)

    predictor.predict = gated
    delivered: list[str] = []
    service.prediction_ready.connect(lambda r: delivered.append(r.image_id))
    service.predict("a", a)
    assert entered.wait(10)
    service.predict("b", b)  # supersedes "a" while it runs
    gate.set()
    qtbot.waitUntil(lambda: delivered == ["b"], timeout=WAIT_MS)
    assert service.stale_dropped == 1
    # The stale result is still cached for its own image.
    cached = service.cached("a")
    assert cached is not None and cached.image_id == "a"
    np.testing.assert_array_equal(service.cached("b").mask, expected_b)  # type: ignore[union-attr]


def test_newest_request_wins_in_the_mailbox(qtbot, service: InferenceService, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    images = _images(tmp_path, 5)
    delivered: list[str] = []
    service.prediction_ready.connect(lambda r: delivered.append(r.image_id))
    for i, (image, _) in enumerate(images):
        service.predict(str(i), image)
    qtbot.waitUntil(lambda: "4" in delivered, timeout=WAIT_MS)
    qtbot.wait(100)
    assert delivered == ["4"]


def test_failed_load_keeps_previous_model(qtbot, service: InferenceService, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    before = service.model
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00garbage")
    with qtbot.waitSignal(service.model_failed, timeout=WAIT_MS) as blocker:
        service.load_model(bad)
    assert blocker.args[0] == str(bad) and blocker.args[1]
    assert service.model is before
    (image, expected), = _images(tmp_path, 1)
    with qtbot.waitSignal(service.prediction_ready, timeout=WAIT_MS) as ready:
        service.predict("x", image)
    np.testing.assert_array_equal(ready.args[0].mask, expected)


def test_model_switch_drops_old_results(qtbot, service: InferenceService, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (image, _), = _images(tmp_path, 1)
    with qtbot.waitSignal(service.prediction_ready, timeout=WAIT_MS):
        service.predict("x", image)
    with qtbot.waitSignal(service.model_changed, timeout=WAIT_MS):
        service.load_model(make_model(tmp_path / "m2.onnx", model_id="rgb4-b"))
    assert service.model is not None and service.model.model_id == "rgb4-b"
    assert service.cached("x") is None  # results of the old model are not served
    with qtbot.waitSignal(service.prediction_ready, timeout=WAIT_MS) as ready:
        service.predict("x", image)
    assert ready.args[0].model_id == "rgb4-b"


def test_cache_is_bounded(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    svc = InferenceService(cache_bytes=3 * (48 * 64 + 256))
    try:
        with qtbot.waitSignal(svc.model_changed, timeout=WAIT_MS):
            svc.load_model(make_model(tmp_path / "m.onnx"))
        (image, _), = _images(tmp_path, 1)
        for i in range(6):
            with qtbot.waitSignal(svc.prediction_ready, timeout=WAIT_MS):
                svc.predict(str(i), image)
        assert len(svc.cache) == 3
        assert svc.cached("0") is None and svc.cached("5") is not None
    finally:
        svc.shutdown()


def test_loader_decodes_off_thread_and_reports_errors(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_image(tmp_path / "ok.png")
    (tmp_path / "bad.png").write_bytes(b"nope")
    loader = ImageLoader()
    try:
        with qtbot.waitSignal(loader.loaded, timeout=WAIT_MS) as blocker:
            assert loader.request("ok.png", tmp_path / "ok.png") is None
        ok = blocker.args[0]
        assert ok.error is None and ok.display.shape == (48, 64, 3)
        assert loader.request("ok.png", tmp_path / "ok.png") is ok  # cached
        with qtbot.waitSignal(loader.loaded, timeout=WAIT_MS) as blocker:
            loader.request("bad.png", tmp_path / "bad.png")
        assert blocker.args[0].error
    finally:
        loader.shutdown()


def test_confidence_is_delivered_when_asked(qtbot, service: InferenceService, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 11 (navigator): per-pixel confidence of the predicted class, uint8, only on request."""
    (image, expected), = _images(tmp_path, 1)
    with qtbot.waitSignal(service.prediction_ready, timeout=WAIT_MS) as plain:
        service.predict("a", image)
    assert plain.args[0].confidence is None
    service.set_confidence(True)
    with qtbot.waitSignal(service.prediction_ready, timeout=WAIT_MS) as rich:
        assert service.predict("a", image) is None  # the cached result had none: asked again
    result: PredictionResult = rich.args[0]
    np.testing.assert_array_equal(result.mask, expected)
    assert result.confidence is not None and result.confidence.dtype == np.uint8
    assert result.confidence.shape == result.mask.shape
    # The winning class has at least 1/num_classes of the probability everywhere.
    num_classes = len(result.stats)
    assert int(result.confidence.min()) >= int(255 / num_classes) - 1
