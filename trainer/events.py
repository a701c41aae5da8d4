"""Where a run reports: events on stdout + ``events.jsonl``, logs on stderr + ``train.log``.

stdout carries *only* protocol lines (:mod:`inspector_app.core.protocol`), one per event, flushed at
once so that the GUI sees progress live; everything for people (log lines, tqdm) goes to stderr.
Under torchrun only rank 0 writes events and files; other ranks log to stderr with a rank prefix.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from inspector_app.core.protocol import Event, TrainerError, TrainerWarning, append_event, to_line

#: Where producers send events (e.g. :meth:`EventSink.emit`).
EmitFn = Callable[[Event], None]

LOGGER_NAME = "defect_train"


class EventSink:
    """Emits protocol events (no-op when ``enabled`` is False, i.e. on ranks other than 0)."""

    def __init__(self, run_dir: Path | None, *, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.run_dir = run_dir
        self.enabled = enabled
        self.stream = stream
        self.log = logging.getLogger(LOGGER_NAME)

    def attach(self, run_dir: Path) -> None:
        """Start appending to ``run_dir/events.jsonl`` (once the folder exists)."""
        self.run_dir = run_dir

    def emit(self, event: Event) -> None:
        """Print ``event`` on stdout and append it to events.jsonl."""
        if not self.enabled:
            return
        stream = self.stream if self.stream is not None else sys.stdout
        stream.write(to_line(event) + "\n")
        stream.flush()
        if self.run_dir is not None and self.run_dir.is_dir():
            append_event(self.run_dir / "events.jsonl", event)

    def warning(self, message: str) -> None:
        """A ``warning`` event plus a log line."""
        self.log.warning(message)
        self.emit(TrainerWarning(message=message))

    def error(self, message: str, code: str) -> None:
        """An ``error`` event plus a log line."""
        self.log.error(message)
        self.emit(TrainerError(message=message, code=code))


class _RankFilter(logging.Filter):
    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        record.rank_prefix = self.prefix
        return True


def setup_logging(run_dir: Path | None, *, rank: int = 0, world: int = 1) -> logging.Logger:
    """The trainer logger: stderr always, ``run_dir/train.log`` on rank 0. Idempotent per run."""
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(logging.INFO)
    logger.propagate = False
    prefix = f"[rank {rank}] " if world > 1 else ""
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(rank_prefix)s%(message)s", "%H:%M:%S")
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(fmt)
    console.addFilter(_RankFilter(prefix))
    logger.addHandler(console)
    if run_dir is not None and rank == 0:
        file_handler = logging.FileHandler(run_dir / "train.log", encoding="utf-8")
        file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(file_handler)
    return logger
