"""The one way files are written: atomically, durably, and only when they change.

Every writer of the project (the ledger, the build directory, the exports, the lab's
state file) goes through here. A file is written to a temp file in the same folder,
fsync'ed, renamed over the target, and the folder is fsync'ed, so a crash or a power
loss leaves either the old or the new file, never a truncated one.

:class:`Staging` does the same for many files at once: everything is written and synced
first, renamed only by :meth:`Staging.commit`, so a failure half-way changes nothing.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

FILE_MODE = 0o644
"""Mode of written files (``mkstemp`` alone gives 0600)."""


def _stage(path: Path, data: bytes, mode: int = FILE_MODE) -> Path:
    """``data`` in a synced temp file beside ``path``, ready to be renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return Path(tmp)


def sync_dirs(folders: Iterable[Path]) -> None:
    """fsync each folder, so the renames in it survive a power loss (best effort: some
    file systems refuse to open a directory)."""
    for folder in dict.fromkeys(folders):
        try:
            dfd = os.open(folder, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.fsync(dfd)
        except OSError:
            pass
        finally:
            os.close(dfd)


def _encode(text: str | bytes) -> bytes:
    return text.encode("utf-8") if isinstance(text, str) else text


def differs(path: Path, data: bytes) -> bool:
    """Whether ``path`` is missing or holds something other than ``data``."""
    try:
        return not (path.stat().st_size == len(data) and path.read_bytes() == data)
    except FileNotFoundError:
        return True


def atomic_write(path: Path, text: str | bytes, mode: int = FILE_MODE) -> None:
    """Replace ``path`` with ``text`` (UTF-8) so that a crash leaves the old or the new file."""
    tmp = _stage(path, _encode(text), mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    sync_dirs([path.parent])


def write_if_changed(path: Path, text: str | bytes) -> bool:
    """:func:`atomic_write` unless ``path`` already holds exactly ``text``; whether it wrote."""
    data = _encode(text)
    if not differs(path, data):
        return False
    atomic_write(path, data)
    return True


class Staging:
    """Files staged as synced temp files and renamed into place together by
    :meth:`commit`; :meth:`discard` drops them (a build that fails changes nothing).
    Files whose content is already there are not staged (counted in ``unchanged``)."""

    def __init__(self) -> None:
        self.staged: list[tuple[Path, Path]] = []
        self.unchanged = 0

    def add(self, path: Path, text: str | bytes) -> None:
        data = _encode(text)
        if differs(path, data):
            self.staged.append((_stage(path, data), path))
        else:
            self.unchanged += 1

    def commit(self) -> list[Path]:
        """Rename every staged file into place; the paths written."""
        for tmp, path in self.staged:
            os.replace(tmp, path)
        sync_dirs(path.parent for _, path in self.staged)
        done = [path for _, path in self.staged]
        self.staged = []
        return done

    def discard(self) -> None:
        for tmp, _ in self.staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        self.staged = []


__all__ = ["FILE_MODE", "Staging", "atomic_write", "differs", "sync_dirs", "write_if_changed"]
