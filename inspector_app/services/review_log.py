"""Review log: OK/NG verdicts per image in an SQLite file (``.inspector/review.sqlite``).

Qt-free. Every verdict is appended (the history is kept); the *current* verdict of an image is its
newest row. Image paths are stored relative to the project root in POSIX form so that a project
folder can be moved or shared between machines; the content hash lets an auditor see whether the
image file changed after it was reviewed.

The database is opened in WAL mode with ``synchronous=NORMAL``: a verdict key press commits in well
under a millisecond and survives an application crash (only a power loss can lose the very last
transaction, never corrupt the file).

Another program holding the database's write lock (an auditor's ``sqlite3`` shell inside a
transaction, a backup tool) makes a write wait at most ``busy_timeout_s`` (default
:data:`BUSY_TIMEOUT_S`), then raise :class:`ReviewBusyError`; :class:`PendingVerdicts` keeps such
verdicts in order and writes them once the lock is gone, so none is lost. Both are plain Python:
the station calls them from a worker thread, never from the GUI thread.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import sqlite3
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from inspector_app.core.fileio import atomic_write_text

VERDICTS = ("OK", "NG")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reviews (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    image        TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    verdict      TEXT NOT NULL CHECK (verdict IN ('OK', 'NG')),
    category     TEXT NOT NULL DEFAULT '',
    comment      TEXT NOT NULL DEFAULT '',
    operator     TEXT NOT NULL DEFAULT '',
    time         TEXT NOT NULL,
    model_id     TEXT NOT NULL DEFAULT '',
    class_areas  TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS reviews_image ON reviews (image, id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_SCHEMA_VERSION = "1"

#: Column order of the CSV export (also its header).
CSV_COLUMNS = (
    "image",
    "verdict",
    "category",
    "comment",
    "operator",
    "time",
    "model_id",
    "content_hash",
    "class_areas",
)


#: How long a write waits for another program's lock before :class:`ReviewBusyError`.
BUSY_TIMEOUT_S = 2.0


class ReviewError(RuntimeError):
    """The review database cannot be opened or written; the message names the file."""


class ReviewBusyError(ReviewError):
    """Another program holds the database's lock longer than the busy time-out; retry later."""


@dataclass(frozen=True)
class ReviewRecord:
    """One verdict. ``class_areas`` maps a class label to its predicted area in pixels."""

    image: str
    verdict: str
    content_hash: str = ""
    category: str = ""
    comment: str = ""
    operator: str = ""
    time: str = ""
    model_id: str = ""
    class_areas: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ReviewSummary:
    """Counts over the current verdicts (newest row per image)."""

    total_images: int
    ok: int
    ng: int
    #: label -> number of NG images where the class had a non-zero area.
    class_frequency: Mapping[str, int]
    #: category -> number of NG images with that category.
    categories: Mapping[str, int]

    @property
    def reviewed(self) -> int:
        """Images with a verdict."""
        return self.ok + self.ng

    @property
    def unreviewed(self) -> int:
        """Images of the list without a verdict (never negative)."""
        return max(0, self.total_images - self.reviewed)

    @property
    def ng_rate(self) -> float:
        """NG / reviewed, 0.0 when nothing is reviewed."""
        return self.ng / self.reviewed if self.reviewed else 0.0


def content_hash(path: str | os.PathLike[str]) -> str:
    """BLAKE2b-128 hex digest of the file's bytes (about 1 ms for a 640x480 PNG)."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def now_iso() -> str:
    """Current UTC time, ISO 8601 with seconds and offset."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class ReviewLog:
    """The review database of one project. Use from one thread at a time (the connection may be
    handed to a worker thread: ``check_same_thread`` is off).

    ``busy_timeout_s``: how long a statement waits for another program's lock (see the module
    docstring).
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, isolation_level=None, timeout=busy_timeout_s, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            # Only a new database is written to on open: an existing one opens while another
            # program holds its write lock (the first verdict then meets the lock instead).
            known = self._db.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('reviews', 'meta')"
            ).fetchone()[0]
            if known < 2:
                self._db.executescript(_SCHEMA)
                self._db.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)", (_SCHEMA_VERSION,)
                )
        except (sqlite3.Error, OSError) as exc:
            raise self._error("cannot open the review database", exc) from exc

    def close(self) -> None:
        """Close the connection (further calls raise)."""
        self._db.close()

    def __enter__(self) -> ReviewLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing ---------------------------------------------------------------------------
    def record(self, record: ReviewRecord) -> ReviewRecord:
        """Append a verdict; returns it with ``time`` filled in when it was empty."""
        if record.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {record.verdict!r}")
        stamped = record if record.time else _replace_time(record, now_iso())
        try:
            self._db.execute(
                "INSERT INTO reviews (image, content_hash, verdict, category, comment, operator, time,"
                " model_id, class_areas) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    stamped.image,
                    stamped.content_hash,
                    stamped.verdict,
                    stamped.category,
                    stamped.comment,
                    stamped.operator,
                    stamped.time,
                    stamped.model_id,
                    json.dumps(dict(stamped.class_areas), sort_keys=True),
                ),
            )
        except sqlite3.Error as exc:
            raise self._error(f"cannot record the verdict for {stamped.image}", exc) from exc
        return stamped

    def _error(self, what: str, exc: BaseException) -> ReviewError:
        text = str(exc)
        if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
            return ReviewBusyError(
                f"{self.path}: {what}: the database is locked by another program "
                f"(waited {self.busy_timeout_s:g} s); it is kept and written once the lock is released"
            )
        return ReviewError(f"{self.path}: {what}: {text}")

    # --- reading ---------------------------------------------------------------------------
    def latest(self) -> dict[str, ReviewRecord]:
        """image -> its newest verdict."""
        rows = self._db.execute(
            "SELECT image, verdict, content_hash, category, comment, operator, time, model_id,"
            " class_areas FROM reviews WHERE id IN (SELECT MAX(id) FROM reviews GROUP BY image)"
        ).fetchall()
        return {row[0]: _row_to_record(row) for row in rows}

    def history(self, image: str) -> list[ReviewRecord]:
        """Every verdict of one image, oldest first."""
        rows = self._db.execute(
            "SELECT image, verdict, content_hash, category, comment, operator, time, model_id,"
            " class_areas FROM reviews WHERE image = ? ORDER BY id",
            (image,),
        ).fetchall()
        return [_row_to_record(row) for row in rows]

    def summary(self, total_images: int) -> ReviewSummary:
        """Counts over the newest verdicts; ``total_images`` is the size of the image list."""
        return summarize(self.latest().values(), total_images)

    def export_csv(self, path: str | os.PathLike[str], *, all_rows: bool = False) -> int:
        """Write the current verdicts (or the whole history) as CSV; returns the number of rows.

        Atomic (``core.fileio``): a reader sees the old file or the whole new one. Raises OSError.
        """
        if all_rows:
            rows = self._db.execute(
                "SELECT image, verdict, content_hash, category, comment, operator, time, model_id,"
                " class_areas FROM reviews ORDER BY id"
            ).fetchall()
            records = [_row_to_record(row) for row in rows]
        else:
            records = sorted(self.latest().values(), key=lambda r: r.image)
        return write_csv(records, path)


class PendingVerdicts:
    """Verdicts waiting to be written, in the order given; nothing is dropped on a busy database.

    ``submit`` queues a verdict, ``flush`` writes the queue front to back and stops at the first
    :class:`ReviewBusyError` (the rest stays queued, order kept). Not thread-safe: one owner.
    """

    def __init__(self) -> None:
        self._queue: deque[ReviewRecord] = deque()

    def __len__(self) -> int:
        return len(self._queue)

    def submit(self, record: ReviewRecord) -> ReviewRecord:
        """Queue ``record`` (its time stamped now when empty: the moment of the verdict)."""
        if record.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {record.verdict!r}")
        stamped = record if record.time else _replace_time(record, now_iso())
        self._queue.append(stamped)
        return stamped

    def flush(
        self, log: ReviewLog, on_written: Callable[[ReviewRecord], None] | None = None
    ) -> list[ReviewRecord]:
        """Write what is queued; returns the records written. Raises :class:`ReviewBusyError`
        (after writing what it could) while the lock is held, :class:`ReviewError` otherwise.
        ``on_written`` is called with each record as soon as it is written (also when a later one
        raises)."""
        written: list[ReviewRecord] = []
        while self._queue:
            written.append(log.record(self._queue[0]))
            self._queue.popleft()
            if on_written is not None:
                on_written(written[-1])
        return written


def summarize(records: Iterable[ReviewRecord], total_images: int) -> ReviewSummary:
    """A :class:`ReviewSummary` over current verdicts."""
    ok = ng = 0
    freq: Counter[str] = Counter()
    cats: Counter[str] = Counter()
    for rec in records:
        if rec.verdict == "OK":
            ok += 1
            continue
        ng += 1
        freq.update(label for label, area in rec.class_areas.items() if area > 0)
        if rec.category:
            cats[rec.category] += 1
    return ReviewSummary(total_images, ok, ng, dict(freq), dict(cats))


def write_csv(records: Iterable[ReviewRecord], path: str | os.PathLike[str]) -> int:
    """Write records as CSV (header :data:`CSV_COLUMNS`) atomically; returns the row count.

    Built in memory, then ``core.fileio.atomic_write_text`` (unique same-folder temp file, fsync,
    ``os.replace``): an export interrupted at any point leaves the previous file whole and no
    temp file, and two exports to one file never write into each other's temp file. Raises
    :class:`OSError`.
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for rec in records:
        writer.writerow(
            [
                rec.image,
                rec.verdict,
                rec.category,
                rec.comment,
                rec.operator,
                rec.time,
                rec.model_id,
                rec.content_hash,
                json.dumps(dict(rec.class_areas), sort_keys=True),
            ]
        )
        count += 1
    atomic_write_text(path, buffer.getvalue())
    return count


def _replace_time(record: ReviewRecord, time: str) -> ReviewRecord:
    return replace(record, time=time)


def _row_to_record(row: tuple[str, ...]) -> ReviewRecord:
    try:
        areas_raw = json.loads(row[8]) if row[8] else {}
    except json.JSONDecodeError:
        areas_raw = {}
    areas = {str(k): int(v) for k, v in areas_raw.items()} if isinstance(areas_raw, dict) else {}
    return ReviewRecord(
        image=row[0],
        verdict=row[1],
        content_hash=row[2],
        category=row[3],
        comment=row[4],
        operator=row[5],
        time=row[6],
        model_id=row[7],
        class_areas=areas,
    )
