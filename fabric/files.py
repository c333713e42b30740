"""The one way files are written: atomically, durably, and only when they change.

Every writer of the project (the ledger, the build directory, the exports, the lab's
state file) goes through here. A file is written to a temp file in the same folder,
fsync'ed, renamed over the target, and the folder is fsync'ed, so a crash or a power
loss leaves either the old or the new file, never a truncated one.

:class:`Staging` does the same for many files at once: everything is written and synced
first, renamed only by :meth:`Staging.commit`, so a failure half-way changes nothing. It
syncs them with one ``syncfs(2)`` per file system (:func:`fabric.speed.sync_filesystem`)
where it can, else file by file (:func:`sync_files`).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fabric.speed import sync_filesystem

FILE_MODE = 0o644
"""Mode of written files (``mkstemp`` alone gives 0600)."""


def _stage(path: Path, data: bytes, mode: int = FILE_MODE, sync: bool = True, make_folder: bool = True) -> Path:
    """``data`` in a temp file beside ``path`` (synced unless ``sync=False``: then the
    caller syncs it before the rename), ready to be renamed over it. ``make_folder=False``:
    the caller made the folder."""
    if make_folder:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if sync:
                f.flush()
                os.fsync(f.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return Path(tmp)


TEMP_SUFFIX = ".tmp"
_TEMP_TAIL = re.compile(r"\.[a-z0-9_]{8}" + re.escape(TEMP_SUFFIX))
_TAIL_LEN = 9 + len(TEMP_SUFFIX)
"""What ``mkstemp`` puts after :func:`_stage`'s prefix ``.<name>.``: 8 random characters
of its alphabet and the suffix."""


def remove_temp_files(folder: Path, names: Iterable[str]) -> None:
    """Remove the temp files :func:`_stage` made for the files ``names`` in ``folder``
    (``.<name>.XXXXXXXX.tmp``): what a process that died while staging left."""
    heads = {f".{n}." for n in names}
    with contextlib.suppress(FileNotFoundError), os.scandir(folder) as entries:
        for entry in entries:
            name = entry.name
            if name[:-_TAIL_LEN] + "." in heads and _TEMP_TAIL.fullmatch(name[-_TAIL_LEN:]):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


SYNC_THREADS = 16
"""fsyncs in flight at once when a :class:`Staging` commits. Each fsync of a file on
ext4 waits for a journal commit; concurrent ones share commits, so a build of ~1,000
files syncs in about half the wall time of one fsync after another (measured on this
project's CI machine: 300 files of 200 kB, 3.0 s one by one, 1.7 s 32 at a time)."""


def sync_files(paths: Iterable[Path]) -> None:
    """fsync every file of ``paths`` (several at once: fsync releases the GIL)."""
    todo = list(paths)
    if len(todo) <= 1:
        for p in todo:
            _fsync_file(p)
        return
    with ThreadPoolExecutor(min(SYNC_THREADS, len(todo))) as pool:
        list(pool.map(_fsync_file, todo))


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
    """Files staged as temp files and renamed into place together by :meth:`commit`
    (which first makes them all durable); :meth:`discard` drops them (a build that fails
    changes nothing). Files whose content is already there are not staged (counted in
    ``unchanged``).

    Durable: each folder a file is staged in is opened once, before its first temp file is
    written, and :meth:`commit` calls :func:`fabric.speed.sync_filesystem` once per file
    system on those; if that is not available or fails, every staged file is synced on
    its own (:func:`sync_files`). Either way every temp file is on stable storage before
    the first rename.

    Files staged by another process (a render worker, :mod:`fabric.parallel`) join with
    :meth:`adopt`: there, ``Staging(watched=parent)`` knows the folders the parent
    already watches (it opened them before the fork, so its ``syncfs`` covers what the
    worker writes into them); a file in a folder the parent does not watch makes its
    commit sync file by file."""

    def __init__(self, watched: Staging | None = None) -> None:
        self.staged: list[tuple[Path, Path]] = []
        self.unchanged = 0
        self._folders: set[Path] = set(watched._folders) if watched is not None else set()
        self._filesystems: dict[int, int] = {}
        """st_dev -> an open descriptor of a folder on that file system."""
        self._unwatched = False
        """A folder could not be opened: :meth:`commit` syncs file by file."""

    def _watch(self, folder: Path) -> None:
        """Create ``folder`` and keep a descriptor on its file system (once per folder)."""
        if folder in self._folders:
            return
        folder.mkdir(parents=True, exist_ok=True)
        self._folders.add(folder)
        try:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            self._unwatched = True
            return
        dev = os.fstat(fd).st_dev
        if dev in self._filesystems:
            os.close(fd)
        else:
            self._filesystems[dev] = fd

    def watch(self, folder: Path) -> None:
        """Create ``folder`` and open it now (before workers that stage into it start)."""
        self._watch(folder)

    def adopt(self, staged: Iterable[tuple[Path, Path]], unchanged: int) -> None:
        """Take over files another process staged ((temp file, target) pairs, as
        :attr:`staged`) and its count of unchanged files: committed or discarded with this
        Staging's own."""
        for tmp, path in staged:
            if path.parent not in self._folders:
                self._unwatched = True  # not covered by a descriptor opened before it was written
                self._folders.add(path.parent)
            self.staged.append((tmp, path))
        self.unchanged += unchanged

    def add(self, path: Path, text: str | bytes) -> None:
        data = _encode(text)
        if differs(path, data):
            self._watch(path.parent)
            self.staged.append((_stage(path, data, sync=False, make_folder=False), path))
        else:
            self.unchanged += 1

    def _sync(self) -> None:
        """Every staged file on stable storage: one ``syncfs`` per file system, else file
        by file."""
        if self._unwatched or not all(sync_filesystem(fd) for fd in self._filesystems.values()):
            sync_files(tmp for tmp, _ in self.staged)

    def _close(self) -> None:
        for fd in self._filesystems.values():
            os.close(fd)
        self._filesystems = {}
        self._folders = set()

    def commit(self) -> list[Path]:
        """Make every staged file durable, then rename each into place and sync the
        folders; the paths written."""
        try:
            if self.staged:
                self._sync()
        except BaseException:
            self.discard()
            raise
        try:
            for tmp, path in self.staged:
                os.replace(tmp, path)
        finally:
            self._close()
        sync_dirs(path.parent for _, path in self.staged)
        done = [path for _, path in self.staged]
        self.staged = []
        return done

    def discard(self) -> None:
        for tmp, _ in self.staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        self.staged = []
        self._close()


__all__ = [
    "FILE_MODE", "SYNC_THREADS", "TEMP_SUFFIX", "Staging", "atomic_write", "differs", "remove_temp_files", "sync_dirs",
    "sync_files", "write_if_changed",
]
