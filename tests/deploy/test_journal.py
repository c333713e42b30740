"""The journal: records on disk before each step; a torn last line (SIGKILL mid-write) is
ignored, a corrupt earlier one is an error."""

from __future__ import annotations

import os
import stat
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
