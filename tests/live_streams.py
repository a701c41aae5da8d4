"""Real frame sources on 127.0.0.1 for the live tests: video files, an HTTP MJPEG server, RTSP via ffmpeg."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO

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


class RtspRelay:
    """A minimal RTSP server on 127.0.0.1 for pull tests: ffmpeg publishes to it (ANNOUNCE, SETUP,
    RECORD, then RTP interleaved over TCP) and clients pull (OPTIONS, DESCRIBE, SETUP, PLAY); every
    interleaved packet of the publisher is copied to every player. Only TCP transport is offered
    (a UDP SETUP gets 461, and FFmpeg's client then retries over TCP), as many cameras do.
    """

    SESSION = "12345678"

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        self.sdp: bytes | None = None
        self.publishers = 0
        self.players = 0
        self._players: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/live"

    def close(self) -> None:
        self._server.close()
        with self._lock:
            for player in self._players:
                player.close()
            self._players = []

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    @staticmethod
    def _headers(reader: BinaryIO) -> dict[str, str]:
        headers: dict[str, str] = {}
        while (line := reader.readline()) not in (b"\r\n", b"\n", b""):
            key, _, value = line.decode().partition(":")
            headers[key.strip().lower()] = value.strip()
        return headers

    def _forward(self, reader: BinaryIO) -> None:
        meta = reader.read(3)
        packet = b"$" + meta + reader.read(int.from_bytes(meta[1:3], "big"))
        with self._lock:
            for player in list(self._players):
                try:
                    player.sendall(packet)
                except OSError:
                    self._players.remove(player)

    def _reply(self, method: str, headers: dict[str, str], body: bytes) -> tuple[str, str, bytes]:
        """(status, extra header lines, body) for one request."""
        if method == "OPTIONS":
            return "200 OK", "Public: OPTIONS, DESCRIBE, SETUP, PLAY, ANNOUNCE, RECORD, TEARDOWN\r\n", b""
        if method == "ANNOUNCE":
            self.sdp = body
            return "200 OK", "", b""
        if method == "DESCRIBE":
            if self.sdp is None:
                return "404 Not Found", "", b""
            return "200 OK", f"Content-Base: {self.url}/\r\nContent-Type: application/sdp\r\n", self.sdp
        if method == "SETUP":
            if "interleaved" not in headers.get("transport", ""):
                return "461 Unsupported Transport", "", b""
            return (
                "200 OK",
                f"Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nSession: {self.SESSION}\r\n",
                b"",
            )
        return "200 OK", f"Session: {self.SESSION}\r\n", b""  # RECORD, PLAY, keep-alives, TEARDOWN

    def _session(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        try:
            while first := reader.read(1):
                if first == b"$":  # an interleaved RTP/RTCP packet of the publisher
                    self._forward(reader)
                    continue
                request = (first + reader.readline()).decode().split()
                headers = self._headers(reader)
                body = reader.read(int(headers.get("content-length", "0")))
                method = request[0] if request else ""
                status, extra, payload = self._reply(method, headers, body)
                head = f"RTSP/1.0 {status}\r\nCSeq: {headers.get('cseq', '0')}\r\n{extra}"
                conn.sendall(f"{head}Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
                if method == "RECORD":
                    self.publishers += 1
                elif method == "PLAY":
                    self.players += 1
                    with self._lock:
                        self._players.append(conn)
        except OSError:
            return
