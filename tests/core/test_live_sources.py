"""Live sources against real files, folders and a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import socket
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector_app.services.live.capture import CaptureWorker, Frame
from inspector_app.services.live.hotfolder import FolderWatcher, HotFolderSource
from inspector_app.services.live.sources import OpenCvSource, SourceError, SourceSettings, open_source
from inspector_app.services.live.spec import parse_source
from tests.live_streams import MjpegServer, RtspPublisher, RtspRelay, free_port, write_clip


def test_video_file_source_reads_every_frame_then_ends(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.avi", frames=12)
    source = open_source(parse_source(str(clip)), SourceSettings(fps=-1))
    source.open()
    frames = []
    while (frame := source.read()) is not None:
        frames.append(frame)
    source.close()
    assert len(frames) == 12 and source.ended
    assert frames[0].shape == (120, 160, 3)
    assert frames[0][50, 5, 0] > 150 and frames[0][50, 5, 2] < 80  # red square, as RGB


def test_looping_file_restarts(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.avi", frames=5)
    source = OpenCvSource(parse_source(str(clip), loop=True), SourceSettings(fps=-1))
    source.open()
    got = [source.read() for _ in range(12)]
    source.close()
    assert all(f is not None for f in got) and not source.ended


def test_dead_url_and_missing_camera_fail_quickly_with_a_message() -> None:
    url = f"http://127.0.0.1:{free_port()}/stream.mjpg"
    source = open_source(parse_source(url), SourceSettings(open_timeout_s=1.0))
    with pytest.raises(SourceError, match=r"http://127\.0\.0\.1:\d+/stream\.mjpg: cannot connect"):
        source.open()
    camera = open_source(parse_source("/dev/video63"))
    with pytest.raises(SourceError, match="/dev/video63: camera not found"):
        camera.open()


def test_http_mjpeg_stream() -> None:
    server = MjpegServer(fps=60).start()
    try:
        source = open_source(parse_source(server.url), SourceSettings(open_timeout_s=3, read_timeout_s=1))
        source.open()
        frames = [source.read() for _ in range(5)]
        source.close()
    finally:
        server.kill()
    assert all(f is not None and f.shape == (120, 160, 3) for f in frames)


def test_stream_killed_and_restarted_reconnects() -> None:
    server = MjpegServer(fps=60).start()
    source = open_source(parse_source(server.url), SourceSettings(open_timeout_s=1, read_timeout_s=1))
    worker = CaptureWorker(0, source, stall_s=1.0, backoff=0.1, backoff_max=0.4)
    worker.start()
    try:
        assert worker.take(5.0) is not None
        server.kill()
        deadline = time.monotonic() + 5
        while worker.health().state == "live" and time.monotonic() < deadline:
            time.sleep(0.05)
        lost = worker.health()
        assert lost.state in ("reconnecting", "stalled"), lost
        assert lost.message  # says why (lost stream / refused connection)
        server.start()
        deadline = time.monotonic() + 8
        before = worker.health().captured
        while time.monotonic() < deadline and not (
            worker.health().state == "live" and worker.health().captured > before + 3
        ):
            time.sleep(0.05)
        healed = worker.health()
        assert healed.state == "live" and healed.captured > before + 3
        assert healed.reconnects >= 1
    finally:
        worker.stop()
        server.kill()


def _write_slowly(path: Path, data: bytes, chunks: int, pause: float) -> None:
    step = -(-len(data) // chunks)
    with open(path, "wb") as fh:
        for i in range(0, len(data), step):
            fh.write(data[i : i + step])
            fh.flush()
            time.sleep(pause)


def test_hot_folder_waits_for_complete_files_in_arrival_order(tmp_path: Path) -> None:
    (tmp_path / "old.png").write_bytes(cv2.imencode(".png", np.zeros((8, 8), np.uint8))[1].tobytes())
    source = HotFolderSource(parse_source(str(tmp_path)), poll_s=0.05, settle_s=0.3)
    source.open()
    rng = np.random.default_rng(0)
    first = rng.integers(0, 255, (64, 96, 3), dtype=np.uint8)
    second = np.full((32, 32, 3), 7, np.uint8)
    # 'z_first' arrives first (name sorts last) and is written in 6 chunks over ~0.9 s.
    writer = threading.Thread(
        target=_write_slowly,
        args=(tmp_path / "z_first.png", cv2.imencode(".png", first)[1].tobytes(), 6, 0.15),
    )
    later = threading.Timer(
        0.2, (tmp_path / "a_second.png").write_bytes, args=(cv2.imencode(".png", second)[1].tobytes(),)
    )
    assert source.read() is None  # the source polls from before the files arrive, as on a line
    writer.start()
    later.start()
    got: list[tuple[str, np.ndarray]] = []
    deadline = time.monotonic() + 6
    while len(got) < 2 and time.monotonic() < deadline:
        image = source.read()
        if image is not None:
            got.append((source.frame_name, image))
            if source.frame_name == "z_first.png":
                assert not writer.is_alive()  # never read while still being written
    writer.join()
    later.join()
    names = [n for n, _ in got]
    assert names == ["z_first.png", "a_second.png"]  # arrival order, existing 'old.png' skipped
    np.testing.assert_array_equal(got[0][1], first[:, :, ::-1])  # read back as RGB
    assert source.read() is None


def test_folder_watcher_reports_added_and_removed(tmp_path: Path) -> None:
    watcher = FolderWatcher(str(tmp_path))
    assert watcher.poll().added == ()
    (tmp_path / "a.png").write_bytes(b"x")
    (tmp_path / "notes.txt").write_bytes(b"x")
    assert watcher.poll().added == ("a.png",)
    (tmp_path / "a.png").unlink()
    assert watcher.poll().removed == ("a.png",)


@pytest.mark.skipif(not RtspPublisher.available(), reason="ffmpeg is not installed (apt-get install ffmpeg)")
def test_rtsp_stream_pushed_to_a_listening_source(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.avi", frames=30)
    url = f"rtsp://127.0.0.1:{free_port()}/line"
    settings = SourceSettings(ffmpeg_options="rtsp_flags;listen|rtsp_transport;tcp|listen_timeout;8")
    worker = CaptureWorker(0, open_source(parse_source(url), settings), backoff=0.1)
    worker.start()
    publisher = RtspPublisher(clip, url).start()
    try:
        frames: list[Frame] = []
        deadline = time.monotonic() + 10
        while len(frames) < 5 and time.monotonic() < deadline:
            frame = worker.take(0.5)
            if frame is not None:
                frames.append(frame)
        assert len(frames) == 5, worker.health()
        assert frames[0].image.shape == (120, 160, 3)
        assert worker.health().label == url
    finally:
        publisher.stop()
        worker.stop()


@pytest.mark.skipif(not RtspPublisher.available(), reason="ffmpeg is not installed (apt-get install ffmpeg)")
def test_rtsp_stream_pulled_from_a_server(tmp_path: Path) -> None:
    """The camera case: the source pulls (DESCRIBE/SETUP/PLAY) from an RTSP server that ffmpeg feeds."""
    clip = write_clip(tmp_path / "clip.avi", frames=30)
    relay = RtspRelay()
    publisher = RtspPublisher(clip, relay.url).start()
    worker = CaptureWorker(0, open_source(parse_source(relay.url)), backoff=0.1)
    try:
        deadline = time.monotonic() + 5
        while relay.publishers == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        worker.start()
        frames: list[Frame] = []
        deadline = time.monotonic() + 10
        while len(frames) < 5 and time.monotonic() < deadline:
            frame = worker.take(0.5)
            if frame is not None:
                frames.append(frame)
        assert len(frames) == 5, worker.health()
        assert frames[-1].image.shape == (120, 160, 3) and relay.players >= 1
    finally:
        worker.stop()
        publisher.stop()
        relay.close()


def test_silent_stream_is_abandoned_by_the_watchdog() -> None:
    """A server that sends a few frames and then goes silent without closing the connection.

    FFmpeg's read then blocks until its own time-out (5 s here); the watchdog (1 s) must abandon
    that call and connect again long before. (A hung *open* cannot be helped that way: OpenCV
    serialises FFmpeg opens process-wide, so the open time-out is what bounds it.)
    """
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        jpeg = cv2.imencode(".jpg", np.zeros((48, 64, 3), np.uint8))[1].tobytes()
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.recv(4096)
            part = (
                b"--f\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpeg) + jpeg + b"\r\n"
            )
            conn.sendall(
                b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=f\r\n\r\n" + part * 8
            )
            held.append(conn)  # never another byte, never closed

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}/stream.mjpg"
    source = open_source(parse_source(url), SourceSettings(open_timeout_s=5, read_timeout_s=5))
    worker = CaptureWorker(0, source, stall_s=0.5, backoff=0.1, hang_s=1.0)
    worker.start()
    try:
        assert worker.take(5.0) is not None
        started = time.monotonic()
        while len(held) < 2 and time.monotonic() - started < 4.0:
            worker.health()  # the pipeline's watch thread does this every 0.25 s
            time.sleep(0.05)
        health = worker.health()
        assert len(held) >= 2, health  # a second connection before FFmpeg's 5 s time-out
        deadline = time.monotonic() + 3
        while worker.health().captured <= 8 and time.monotonic() < deadline:
            time.sleep(0.05)
        health = worker.health()
        assert health.reconnects >= 1 and health.captured > 8, health  # frames of the new connection
    finally:
        stop.set()
        worker.stop()
        thread.join(2)
        for conn in held:
            conn.close()
        listener.close()


def test_genicam_without_a_camera_or_without_harvesters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No GenTL producer can be had from the package registries, so no camera is ever opened here:
    # only the two failure paths an operator meets first.
    producer = tmp_path / "not_a_producer.cti"
    producer.write_bytes(b"\0" * 64)
    spec = parse_source(f"genicam:{producer}")
    pytest.importorskip("harvesters.core")
    with pytest.raises(SourceError, match="lists no camera"):
        open_source(spec).open()
    monkeypatch.setitem(sys.modules, "harvesters.core", None)  # as on a machine without the extra
    with pytest.raises(SourceError, match=r"pip install 'defect-inspector\[genicam\]'"):
        open_source(spec).open()
