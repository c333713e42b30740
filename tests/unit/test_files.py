"""``fabric.files.Staging``: every staged file is durable before the first rename, with one
``syncfs`` per file system where the kernel offers a trustworthy one, else file by file;
a failure changes nothing."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

import fabric.files as files
import fabric.speed as speed

NAMES = ("configs/a.conf", "configs/b.conf", "intent/a.json", "docs/devices/x.md")


def staged(out: Path) -> files.Staging:
    s = files.Staging()
    for i, rel in enumerate(NAMES):
        s.add(out / rel, f"text {i}\n")
    return s


def record_fsyncs(monkeypatch: pytest.MonkeyPatch, out: Path) -> list[tuple[str, bool]]:
    """Per-file fsyncs as (temp file name, whether any target already existed then)."""
    calls: list[tuple[str, bool]] = []
    real = files._fsync_file

    def fsync(path: Path) -> None:
        calls.append((path.name, any((out / rel).exists() for rel in NAMES)))
        real(path)

    monkeypatch.setattr(files, "_fsync_file", fsync)
    return calls


def assert_written(out: Path) -> None:
    assert [(out / rel).read_text() for rel in NAMES] == [f"text {i}\n" for i in range(len(NAMES))]
    assert not [p for p in out.rglob(".*.tmp")]
    assert all((out / rel).stat().st_mode & 0o777 == files.FILE_MODE for rel in NAMES)


@pytest.mark.skipif(speed._libc_syncfs() is None, reason="no trustworthy syncfs here (not Linux >= 5.8)")
def test_commit_syncs_the_file_system_once_not_each_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fsyncs = record_fsyncs(monkeypatch, tmp_path)
    syncfs: list[int] = []
    real: Callable[[int], bool] = speed.sync_filesystem

    def counted(fd: int) -> bool:
        syncfs.append(fd)
        return real(fd)

    monkeypatch.setattr(files, "sync_filesystem", counted)
    s = staged(tmp_path)
    assert s.commit() == [tmp_path / rel for rel in NAMES]
    assert len(syncfs) == 1 and fsyncs == []  # one file system
    assert_written(tmp_path)


@pytest.mark.parametrize("why", ["missing", "fails"])
def test_without_syncfs_every_file_is_synced_before_any_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  why: str) -> None:
    if why == "missing":
        monkeypatch.setattr(speed, "_libc_syncfs", lambda: None)
    else:
        monkeypatch.setattr(speed, "_libc_syncfs", lambda: lambda fd: -1)
    fsyncs = record_fsyncs(monkeypatch, tmp_path)
    s = staged(tmp_path)
    s.commit()
    assert len(fsyncs) == len(NAMES) and all(name.endswith(".tmp") for name, _ in fsyncs)
    assert not any(existed for _, existed in fsyncs)  # no target renamed before the last sync
    assert_written(tmp_path)


def test_a_failed_sync_changes_nothing_and_leaves_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "a.conf").write_text("old\n")
    monkeypatch.setattr(speed, "_libc_syncfs", lambda: None)

    def broken(path: Path) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(files, "_fsync_file", broken)
    s = staged(tmp_path)
    with pytest.raises(OSError, match="Input/output"):
        s.commit()
    assert [p.relative_to(tmp_path).as_posix() for p in sorted(tmp_path.rglob("*")) if p.is_file()] == ["configs/a.conf"]
    assert (tmp_path / "configs" / "a.conf").read_text() == "old\n"


def test_discard_and_commit_close_their_descriptors(tmp_path: Path) -> None:
    before = len(os.listdir("/proc/self/fd")) if Path("/proc/self/fd").is_dir() else None
    staged(tmp_path / "one").discard()
    staged(tmp_path / "two").commit()
    assert not list((tmp_path / "one").rglob("*.*"))
    if before is not None:
        assert len(os.listdir("/proc/self/fd")) == before


def test_unchanged_files_are_not_staged(tmp_path: Path) -> None:
    staged(tmp_path).commit()
    s = staged(tmp_path)
    assert s.staged == [] and s.unchanged == len(NAMES)
    assert s.commit() == []


@pytest.mark.parametrize(("release", "parsed"), [("6.1.0-18-amd64", (6, 1)), ("5.7.19", (5, 7)), ("weird", (0, 0))])
def test_kernel_release(release: str, parsed: tuple[int, int]) -> None:
    assert speed._kernel_release(release) == parsed
    assert (parsed >= speed.SYNCFS_SINCE) == (release.startswith("6"))


def test_remove_temp_files_takes_only_the_named_files_temp_files(tmp_path: Path) -> None:
    """What a worker that died left: the temp files the writer makes for the named files
    go; the files themselves, other files' temp files and look-alikes stay."""
    target = tmp_path / "leaf1.conf"
    target.write_text("old\n")
    mine = files._stage(target, b"new\n", sync=False)
    other = files._stage(tmp_path / "leaf2.conf", b"x\n", sync=False)
    alike = tmp_path / ".leaf1.conf.too-long-x.tmp"
    alike.write_text("")
    files.remove_temp_files(tmp_path, ["leaf1.conf"])
    assert not mine.exists()
    assert other.exists() and alike.exists() and target.read_text() == "old\n"
    files.remove_temp_files(tmp_path / "absent", ["leaf1.conf"])  # a missing folder is nothing to do
