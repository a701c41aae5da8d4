"""Where verdicts go: JSON lines to a file and/or a local TCP port, NG capture, the review log.

All outputs run on the pipeline's output thread (never the inference worker), one call per
result, so a slow disk delays outputs but not inference. Each output is a small object with
``write(result)`` and ``close()``.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path
from typing import Protocol

from inspector_app.services.live.result import LiveResult

__all__ = ["JsonLineFile", "Output", "TcpLineServer"]


class Output(Protocol):
    """One destination of results."""

    def write(self, result: LiveResult) -> None:
        """Handle one result."""

    def close(self) -> None:
        """Flush and release."""


def encode_line(result: LiveResult) -> bytes:
    """One JSON line (UTF-8, ending in a newline)."""
    return (json.dumps(result.line(), separators=(",", ":")) + "\n").encode("utf-8")


class JsonLineFile:
    """Appends one JSON line per verdict to a file (line-buffered: a reader tails it live)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "ab", buffering=0)  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise OSError(f"{self.path}: cannot open the verdict file ({exc.strerror or exc})") from exc

    def write(self, result: LiveResult) -> None:
        self._fh.write(encode_line(result))

    def close(self) -> None:
        self._fh.close()


class TcpLineServer:
    """A TCP server on 127.0.0.1 that sends every verdict line to each connected client.

    For PLC/MES bridges: clients connect at any time and receive lines from then on; a client
    that disconnects or cannot keep up (send buffer full) is dropped without stalling the others.
    ``port=0`` picks a free port (see :attr:`port`).
    """

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self._server = socket.create_server((host, port))
        self._server.settimeout(0.2)
        self.port: int = self._server.getsockname()[1]
        self._clients: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="live-tcp-accept", daemon=True)
        self._thread.start()

    @property
    def client_count(self) -> int:
        """Connected clients."""
        with self._lock:
            return len(self._clients)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.setblocking(False)
            with self._lock:
                self._clients.append(client)

    def write(self, result: LiveResult) -> None:
        data = encode_line(result)
        with self._lock:
            alive = []
            for client in self._clients:
                try:
                    sent = client.send(data)
                    if sent == len(data):
                        alive.append(client)
                        continue
                except OSError:
                    pass
                client.close()  # gone, or too slow: a partial line would corrupt its stream
            self._clients = alive

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1.0)
        self._server.close()
        with self._lock:
            for client in self._clients:
                client.close()
            self._clients = []
