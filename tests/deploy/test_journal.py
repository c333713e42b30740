"""The journal: records on disk before each step; a torn last line (SIGKILL mid-write) is
ignored, a corrupt earlier one is an error."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from fabric.deploy.journal import Journal, read_journal
from fabric.errors import DeployError


def test_journal_round_trip_and_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / ".deploy" / "journal.jsonl"
    j = Journal.start(path, "run1", "fab", ["a", "b"], [["a"], ["b"]])
    j.write("before", device="a", config="cfg-a")
    j.write("step", device="a", step="commit", detail="")
    j.write("before", device="a", config="later")  # the first one is the original
    j.close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path, "a", encoding="utf-8") as f:
        f.write('{"ev": "step", "device": "b", "st')  # killed mid-write
    st = read_journal(path)
    assert (st.run, st.devices, st.waves, st.finished) == ("run1", ["a", "b"], [["a"], ["b"]], False)
    assert st.before == {"a": "cfg-a"} and st.touched() == ["a"] and st.last("a") == "commit"
    j2 = Journal.start(path, "run2", "fab", ["a"], [["a"]])  # a new run keeps the old file as .prev
    j2.write("end", status="deployed")
    j2.close()
    assert read_journal(path).finished and read_journal(path.with_suffix(".jsonl.prev")).run == "run1"


def test_corrupt_journal_and_missing_journal(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_text('{"ev": "run", "run": "r", "fabric": "f", "devices": [], "waves": []}\nnot json\n{}\n')
    with pytest.raises(DeployError, match=r"j\.jsonl:2: corrupt journal line"):
        read_journal(path)
    with pytest.raises(DeployError, match="no deploy journal"):
        read_journal(tmp_path / "nope.jsonl")


def test_journal_from_many_threads_whole_records_each_synced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A wave writes from every device's thread: records stay whole, and every write returns
    only after an fsync that began after its record was written (writers share fsyncs)."""
    path = tmp_path / "j.jsonl"
    j = Journal.start(path, "r", "f", [f"d{i}" for i in range(16)], [])
    syncs: list[int] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        syncs.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    durable: list[bool] = []

    def work(i: int) -> None:
        for k in range(40):
            j.write("step", device=f"d{i}", step="commit", detail="x" * (k * 50))
            durable.append(j._synced >= 1)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    j.close()
    st = read_journal(path)
    assert all(len(st.steps[f"d{i}"]) == 40 for i in range(16)) and all(durable)
    assert 1 <= len(syncs) <= 16 * 40
