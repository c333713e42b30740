"""Thin wrappers around the system tools the lab drives (ip, sysctl, kill) and /proc.

Everything here is synchronous and bounded by timeouts; errors become :class:`LabError`
carrying the command and its stderr.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from fabric.errors import FabricError

IP = "/usr/sbin/ip" if os.path.exists("/usr/sbin/ip") else "ip"

T = TypeVar("T")


class LabError(FabricError):
    """A lab operation failed (command error, timeout, missing requirement)."""


def run(
    args: Sequence[str], *, check: bool = True, timeout: float = 30, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``args`` and return the completed process (text mode). Raises LabError when
    ``check`` and it exits non-zero, or when it outlives ``timeout``."""
    try:
        proc = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, input=input, check=False)
    except subprocess.TimeoutExpired as e:
        raise LabError(f"timed out after {timeout}s: {' '.join(args)}") from e
    except FileNotFoundError as e:
        raise LabError(f"command not found: {args[0]}") from e
    if check and proc.returncode != 0:
        raise LabError(f"`{' '.join(args)}` exited {proc.returncode}: {(proc.stderr or proc.stdout).strip()}")
    return proc


def ns_run(
    netns: str, args: Sequence[str], *, check: bool = True, timeout: float = 30, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``args`` inside network namespace ``netns`` (``ip netns exec``)."""
    return run([IP, "netns", "exec", netns, *args], check=check, timeout=timeout, input=input)


def list_netns() -> list[str]:
    """Names of all named network namespaces."""
    out = run([IP, "netns", "list"]).stdout
    # lines look like "name (id: 3)" or just "name"
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def netns_pids(netns: str) -> list[int]:
    """Pids of the processes running inside ``netns`` (empty if it is gone)."""
    proc = run([IP, "netns", "pids", netns], check=False)
    return [int(p) for p in proc.stdout.split() if p.isdigit()]


def proc_starttime(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot (None if no such process). Together
    with the pid it identifies a process even after the pid is reused."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # field 22, counted after the command name, which may itself contain spaces or ")"
    return int(stat.rsplit(")", 1)[1].split()[19])


def alive(pid: int) -> bool:
    """True if ``pid`` is a running (not zombie) process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def kill_all(pids: Sequence[int], grace: float = 3.0) -> None:
    """SIGTERM ``pids``, wait up to ``grace`` seconds, then SIGKILL the survivors."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    for pid in pids:
        if alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def delete_netns(netns: str) -> None:
    """Kill every process in ``netns``, then delete it. Missing namespaces are fine."""
    for _ in range(3):
        pids = netns_pids(netns)
        if not pids:
            break
        kill_all(pids)
    run([IP, "netns", "delete", netns], check=False)


def wait_until(fn: Callable[[], T | None], timeout: float, what: str, interval: float = 0.02) -> T:
    """Poll ``fn`` until it returns a truthy value and return that value; raise LabError
    naming ``what`` after ``timeout`` seconds. The bounded wait every lab test uses instead
    of fixed sleeps."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise LabError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
