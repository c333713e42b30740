"""The rollout journal: one JSON object per line, flushed and fsynced before the step it
announces is sent, so that a controller killed at any point (SIGKILL included) leaves a
file that says which devices may have changed and what each ran before.

Records (``ev`` field):

- ``run``: a new run: ``run`` id, ``fabric``, ``devices`` in scope, ``waves``;
- ``before``: a device's running config before this run touched it (written once per
  device, before its first commit; a resumed run keeps the first one);
- ``step``: ``device``, ``step`` (``commit``, ``committed``, ``postcheck``, ``confirmed``,
  ``unchanged``, ``failed``, ``rollback``, ``restored``, ``reverted``), ``detail``;
- ``end``: ``status`` (``deployed``, ``rolled-back``, ``failed``).

The journal holds device configs (which can carry password hashes of local users), so it
is created with mode 0600; it never holds a credential of the controller.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fabric.errors import DeployError

JOURNAL_DIR = ".deploy"


def default_journal(inventory: Path) -> Path:
    return inventory / JOURNAL_DIR / "journal.jsonl"


class Journal:
    """Append-only writer; every record is on disk before :meth:`write` returns.

    Safe from many threads at once (a rollout wave writes from each of its devices): a
    record is appended whole under a lock, and writers waiting for the disk share one
    ``fsync`` (group commit): each returns only after an ``fsync`` that began after its
    record was written, so the guarantee is the same as one ``fsync`` per record, without
    queueing a wave's devices behind each other's disk flushes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._f = os.fdopen(fd, "a", encoding="utf-8")
        self._write_lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._written = 0  # records appended (and flushed to the OS)
        self._synced = 0  # records known to be on disk

    def write(self, ev: str, **fields: Any) -> None:
        rec = {"ev": ev, "t": round(time.time(), 3), **fields}
        line = json.dumps(rec, sort_keys=False) + "\n"
        with self._write_lock:
            self._f.write(line)
            self._f.flush()
            self._written += 1
            mine = self._written
        with self._sync_lock:
            if self._synced >= mine:  # another writer's fsync began after ours was written
                return
            with self._write_lock:
                upto = self._written
            os.fsync(self._f.fileno())
            self._synced = upto

    def close(self) -> None:
        self._f.close()

    @staticmethod
    def start(path: Path, run: str, fabric: str, devices: list[str], waves: list[list[str]]) -> Journal:
        """A fresh journal for a new run (the previous file is kept as ``.prev``)."""
        if path.exists():
            os.replace(path, path.with_suffix(path.suffix + ".prev"))
        j = Journal(path)
        j.write("run", run=run, fabric=fabric, devices=devices, waves=waves)
        return j


@dataclass
class JournalState:
    """What a journal says happened."""

    run: str
    fabric: str
    devices: list[str]
    waves: list[list[str]]
    before: dict[str, str] = field(default_factory=dict)
    steps: dict[str, list[str]] = field(default_factory=dict)
    end: str | None = None

    @property
    def finished(self) -> bool:
        return self.end is not None

    def touched(self) -> list[str]:
        """Devices a commit may have reached (a ``commit`` step was journaled)."""
        return [d for d in self.devices if "commit" in self.steps.get(d, [])]

    def last(self, device: str) -> str | None:
        s = self.steps.get(device)
        return s[-1] if s else None


def read_journal(path: Path) -> JournalState:
    """Parse ``path``; a torn last line (a controller killed mid-write) is ignored."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DeployError(f"no deploy journal at {path}: nothing to resume or roll back") from None
    state: JournalState | None = None
    for i, line in enumerate(lines):
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            if i == len(lines) - 1:
                break
            raise DeployError(f"{path}:{i + 1}: corrupt journal line") from None
        ev = rec.get("ev")
        if ev == "run":
            state = JournalState(rec["run"], rec["fabric"], list(rec["devices"]), [list(w) for w in rec["waves"]])
        elif state is None:
            raise DeployError(f"{path}:{i + 1}: journal does not start with a run record")
        elif ev == "before":
            state.before.setdefault(rec["device"], rec["config"])
        elif ev == "step":
            state.steps.setdefault(rec["device"], []).append(rec["step"])
        elif ev == "end":
            state.end = rec["status"]
        elif ev == "resume":
            state.end = None
    if state is None:
        raise DeployError(f"{path}: empty journal")
    return state
