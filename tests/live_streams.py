"""Real frame sources on 127.0.0.1 for the live tests: a video file, an HTTP MJPEG server, RTSP via ffmpeg."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np

BOUNDARY = "frame"


def frame_image(index: int, width: int = 160, height: int = 120) -> np.ndarray:
    """A BGR frame: grey background with a bright red square moving right (class 'red' of rgb4)."""
    image = np.full((height, width, 3), 40, np.uint8)
    x = (index * 4) % max(1, width - 24)
    image[40:64, x : x + 24] = (0, 0, 230)  # BGR red: R = 230 -> class 1 of tests.onnx_factory.rgb4
    return image


def write_clip(path: Path, frames: int = 30, fps: float = 30.0, width: int = 160, height: int = 120) -> Path:
    """An MJPG/AVI clip of :func:`frame_image` frames."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (width, height))
    assert writer.isOpened(), "cv2 cannot write MJPG/AVI"
    for i in range(frames):
        writer.write(frame_image(i, width, height))
    writer.release()
    return path


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MjpegServer:
    """A multipart/x-mixed-replace JPEG stream at http://127.0.0.1:PORT/stream.mjpg (``fps`` frames/s).

    :meth:`kill` closes the listening socket and every open stream (as a crashed camera server
    would); :meth:`start` serves again on the same port.
    """

    def __init__(self, port: int | None = None, fps: float = 30.0) -> None:
        self.port = port or free_port()
        self.fps = fps
        self.sent = 0
        self._server: ThreadingHTTPServer | None = None
        self._alive = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/stream.mjpg"

    def start(self) -> MjpegServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet test output
                pass

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
                self.end_headers()
                i = 0
                while owner._alive.is_set():
                    data = cv2.imencode(".jpg", frame_image(i))[1].tobytes()
                    head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(data)}\r\n\r\n"
                    try:
                        self.wfile.write(head.encode() + data + b"\r\n")
                        self.wfile.flush()
                    except OSError:
                        return
                    owner.sent += 1
                    i += 1
                    time.sleep(1.0 / owner.fps)

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        server.allow_reuse_address = True
        self._server = server
        self._alive.set()
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def kill(self) -> None:
        self._alive.clear()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class RtspPublisher:
    """``ffmpeg`` pushing ``clip`` in a loop as RTSP (over TCP) to ``url``, retried until the
    listener accepts it. ffmpeg cannot serve RTSP to pulling clients, so the tests run the
    station's source in FFmpeg's listen mode and let ffmpeg publish to it (real RTSP + RTP).
    """

    def __init__(self, clip: Path, url: str) -> None:
        self.clip, self.url = clip, url
        self.process: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def available() -> bool:
        return shutil.which("ffmpeg") is not None

    def start(self) -> RtspPublisher:
        self._thread.start()
        return self

    def _run(self) -> None:
        command = [
            str(shutil.which("ffmpeg")),
            "-hide_banner",
            "-loglevel",
            "error",
            "-re",
            "-stream_loop",
            "-1",
            "-i",
            str(self.clip),
            "-c:v",
            "mpeg4",
            "-f",
            "rtsp",
            "-rtsp_transport",
            "tcp",
            self.url,
        ]
        while not self._stop.is_set():
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            while self.process.poll() is None and not self._stop.is_set():
                time.sleep(0.05)
            if self.process.poll() is None:
                self.process.terminate()
                self.process.wait(5)
            self._stop.wait(0.3)  # refused (listener not up yet) or ended: try again

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
