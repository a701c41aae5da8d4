"""Atomic file replacement: a reader sees either the old file or the new one, never a mix.

Every writer of project files (annotations, class tables, model cards, exported models, settings)
goes through here, so that the recipe is written and fixed once:

1. write a temp file ``.<name>.<random>.tmp`` in the target's own folder (``os.replace`` is atomic
   only within one file system, and the folder is the one place sure to be on the target's);
2. flush and fsync it, so that the rename cannot reach the disk before the bytes do;
3. give it the right permission bits: an existing target's, else ``0666 & ~umask`` like any new
   file (``tempfile.mkstemp`` creates 0600, which would hide shared project files from colleagues);
4. ``os.replace`` it over the target and fsync the folder (POSIX) so that the rename itself is
   durable.

The temp file is removed on any failure. A process killed mid-write leaves at most a stale
``.<name>.*.tmp`` beside an intact target. Functions raise :class:`OSError`; callers wrap it into
their own error type naming the file. Stdlib only, no Qt.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

PathLike = str | os.PathLike[str]

#: Mode used for new files when the umask cannot be read (the common umask 022).
FALLBACK_FILE_MODE = 0o644


def default_file_mode() -> int:
    """Permission bits an ordinary new file gets here: ``0o666 & ~umask``.

    Reads the umask from ``/proc/self/status`` (Linux >= 4.7): the only portable way,
    ``os.umask()``, has to set it to learn it, which briefly changes it for every thread of the
    process (a file another thread creates in that window gets the wrong mode). Falls back to
    :data:`FALLBACK_FILE_MODE` where the umask cannot be read (macOS, Windows, old kernels).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return FALLBACK_FILE_MODE


def _mode_for(target: Path) -> int:
    """An existing target's permission bits (kept across the replace), else the default mode."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        return default_file_mode()


def _set_mode(path: PathLike, mode: int) -> None:
    # Some file systems (FAT, some network shares) have no permission bits: the write still counts.
    with contextlib.suppress(OSError):
        os.chmod(path, mode)


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable; best effort (impossible on Windows, some FUSE mounts)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def atomic_write_bytes(path: PathLike, data: bytes, *, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically: either the old or the new file, never a mix.

    Writes a temp file in the same folder, fsyncs it, ``os.replace``-s it over the target and
    fsyncs the folder (POSIX). The temp file is removed on any failure, and then the target is
    untouched. Keeps an existing target's permission bits; a new file gets
    :func:`default_file_mode`. The folder must exist. Raises :class:`OSError`.

    ``durable=False`` skips both fsyncs: still never a partial file after a crash of the
    process, but the new content may be lost on power failure. For bulk outputs that can be
    regenerated (batch predictions, caches), where an fsync per file costs 20-25 % throughput.
    """
    target = Path(path)
    mode = _mode_for(target)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        _set_mode(tmp_name, mode)
        os.replace(tmp_name, target)
    except BaseException:  # KeyboardInterrupt too: never leave the temp file behind
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    if durable:
        _fsync_folder(target.parent)


def atomic_write_text(path: PathLike, text: str, encoding: str = "utf-8") -> None:
    """Replace ``path`` with ``text`` atomically (see :func:`atomic_write_bytes`).

    Written exactly as given: ``\\n`` stays ``\\n`` on every platform (no newline translation),
    so the same project files come out byte-identical on Windows and Linux. Raises
    :class:`OSError`, and :class:`UnicodeEncodeError` (a ValueError) before touching any file
    when ``text`` cannot be encoded.
    """
    atomic_write_bytes(path, text.encode(encoding))


def atomic_replace(src: PathLike, dst: PathLike) -> None:
    """Move the finished file ``src`` over ``dst`` atomically, for files a library writes itself.

    For writers that only take a path (ONNX exporters, ``onnx.save``): let them write ``src``, a
    temp file in ``dst``'s folder, then call this. It fsyncs ``src``, gives it ``dst``'s current
    permission bits (else :func:`default_file_mode`), renames it over ``dst`` and fsyncs the
    folder. ``src`` stays the caller's to delete when this raises (:class:`OSError`; e.g. another
    file system, which ``os.replace`` cannot cross atomically): use ``try``/``finally`` with
    ``Path(src).unlink(missing_ok=True)``, which is a no-op after a successful replace.
    """
    target = Path(dst)
    mode = _mode_for(target)
    # O_RDWR, not O_RDONLY: Windows refuses to flush a handle opened read-only.
    fd = os.open(src, os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    _set_mode(src, mode)
    os.replace(src, target)
    _fsync_folder(target.parent)
