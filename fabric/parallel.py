"""Forked workers: the one place the project runs its own code in several processes.

A full ``fabric build`` renders every device one after another; rendering is pure Python
(the GIL allows one thread at a time), so the build renders in forked worker processes
instead (:meth:`fabric.build.BuildWriter.render_and_stage`). Why a fork: the workers
inherit the designed fabric, the compiled templates and the open folder descriptors of
the build's :class:`~fabric.files.Staging` copy-on-write, so nothing big is sent to them;
each sends back only what it staged (a few paths and counts per device, and the texts
the exports need).

:func:`fork_map` runs ``work(0)`` in the calling process and ``work(1)`` ... ``work(n-1)``
in ``n - 1`` forked children at the same time, and returns the results in order. Each
child sends its result (or its exception) back pickled through a pipe and ends with
``os._exit`` (no ``atexit`` handler, no second flush of the parent's buffers). An
exception in any worker reaches the caller as the same exception (type and message; the
child's traceback is chained as its cause); a child killed by a signal or ending without
a report raises :class:`WorkerLost`. Either way every other child is killed and reaped
first, and the caller is told which results to undo (``undo``) and which workers left
nothing it knows of (``lost``). No zombies, no descriptors left open.

:func:`worker_count` decides how many: the CPUs this process may run on (capped at
:data:`MAX_WORKERS`) or the ``jobs`` asked for, at most one per
:data:`MIN_ITEMS_PER_WORKER` items, and 1 (no fork at all: the caller's one-process path)
when :func:`fork_refused` gives a reason: not Linux (elsewhere ``fork`` without ``exec``
is not safe: macOS's system libraries, no ``fork`` on Windows) or another thread is
running in this process (a threaded caller such as the deploy engine: a child forked
while another thread holds a lock, the allocator's or logging's, can hang on it).

Measured (fresh processes of ``tests/bench/test_build.py``'s full build of the benchmark
fabric, the default ``jobs`` (2 here) and ``jobs=1`` interleaved, medians; docs/build.md):
rendering and staging the 260 devices 1.79 s -> 1.01 s wall with the other core idle; the
whole build 4.69 -> 4.13 s wall at 4.03 -> 4.16 s CPU (all processes) at load average 1.4
to 1.6, and no more than 1.04x faster while another program keeps the second core busy.
Rendering the first device of each renderer before the fork (the workers inherit the
renderers' shared-text caches) took the worker's CPU time from 0.95 to 0.80 s;
``gc.freeze()`` in the worker made no measurable difference and is not done.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import selectors
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from typing import TypeVar, cast

from fabric.errors import FabricError

R = TypeVar("R")
T = TypeVar("T")

MAX_WORKERS = 8
"""Most workers :func:`worker_count` picks by itself (``jobs`` may ask for more)."""

MIN_ITEMS_PER_WORKER = 8
"""Fewer items than this per worker and the fork does not pay: forking a worker and
collecting its report take about 5 ms, while a fabric of 18 small devices
(``gen_fabric.py --spines 2 --leaves 16 --svis 20``) renders in 0.075 s in all (0.057 s in
two processes on an idle machine)."""


class WorkerLost(FabricError):
    """A worker process died without reporting (killed by a signal, or exited)."""


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def fork_refused() -> str | None:
    """Why forking workers is not safe here (None: it is)."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return f"no safe fork on {sys.platform}"
    if threading.active_count() > 1:
        return f"{threading.active_count()} threads running (a fork copies only the calling one)"
    return None


def worker_count(jobs: int | None, items: int) -> int:
    """How many processes to spread ``items`` over: ``jobs`` (default: :func:`usable_cpus`,
    at most :data:`MAX_WORKERS`), at most one per :data:`MIN_ITEMS_PER_WORKER` items, and
    1 when :func:`fork_refused` gives a reason."""
    if jobs is not None and jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}")
    want = min(usable_cpus(), MAX_WORKERS) if jobs is None else jobs
    want = min(want, items // MIN_ITEMS_PER_WORKER)
    if want <= 1 or fork_refused() is not None:
        return 1
    return want


def split(items: Sequence[T], parts: int) -> list[list[T]]:
    """``items`` in ``parts`` contiguous runs of sizes differing by at most one (the
    first runs the longer), so the results join back in order."""
    size, extra = divmod(len(items), parts)
    out: list[list[T]] = []
    at = 0
    for i in range(parts):
        n = size + (1 if i < extra else 0)
        out.append(list(items[at:at + n]))
        at += n
    return out


class _RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker (chained as its cause)."""

    def __str__(self) -> str:
        return str(self.args[0])


def _child(index: int, work: Callable[[int], object], write_fd: int, others: list[int]) -> None:
    """The forked child: run ``work(index)``, send the pickled outcome, ``os._exit``."""
    status = 1
    try:
        for fd in others:
            os.close(fd)
        try:
            outcome: tuple[str, object] = ("ok", work(index))
        except BaseException as e:  # every failure goes to the parent
            outcome = ("error", (e, traceback.format_exc()))
        try:
            data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
            if outcome[0] == "error":  # an exception class may pickle but not unpickle (other __init__ arguments)
                pickle.loads(data)
        except BaseException as e:  # an unpicklable result or exception: its type and message
            what, tb = (cast("tuple[BaseException, str]", outcome[1]) if outcome[0] == "error"
                        else (e, traceback.format_exc()))
            data = pickle.dumps(("error", (FabricError(f"worker {index}: {type(what).__name__}: {what}"), tb)))
        view = memoryview(data)
        while view:
            view = view[os.write(write_fd, view):]
        status = 0
    finally:
        os._exit(status)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return f"was killed by signal {name}"
    return f"exited with status {os.waitstatus_to_exitcode(status)} without a report"


def fork_map(
    work: Callable[[int], R],
    count: int,
    *,
    undo: Callable[[R], None],
    lost: Callable[[int], None],
    name: Callable[[int], str] = str,
) -> list[R]:
    """``[work(0), ..., work(count - 1)]``: ``work(0)`` in this process, each other in a
    forked child, all at once (see the module docstring).

    On failure (an exception in any worker, a child lost, an exception or a
    ``KeyboardInterrupt`` here) every child still running is killed and all are reaped;
    ``undo(result)`` is called for each result a child did report, ``lost(i)`` for each
    child ``i`` that did not; then the error is raised: a worker's own exception (the
    first by index, so the one a single process would have met first when ``work``
    handles contiguous runs of the items), else :class:`WorkerLost` naming the worker
    (``name(i)``). ``work(0)``'s own result is the caller's to undo."""
    if count < 1:
        return []
    pids: dict[int, int] = {}
    """worker index -> child pid."""
    running: set[int] = set()
    """Children not reaped yet."""
    reads: dict[int, int] = {}
    """worker index -> read end of its pipe (open)."""
    chunks: dict[int, list[bytes]] = {}
    statuses: dict[int, int] = {}
    settled: set[int] = set()
    """Children whose report was used, undone or declared lost."""
    ok = False
    try:
        for i in range(1, count):
            r, w = os.pipe()
            try:
                pid = os.fork()
            except BaseException:
                os.close(r)
                os.close(w)
                raise
            if pid == 0:  # the child never returns from here
                os.close(r)
                _child(i, work, w, list(reads.values()))
            os.close(w)
            pids[i] = pid
            running.add(i)
            reads[i] = r
            chunks[i] = []
        mine = work(0)
        _collect(reads, chunks)
        for i in sorted(running):
            statuses[i] = _reap(pids[i])
            running.discard(i)
        results: list[R] = [mine]
        failure: BaseException | None = None
        for i in range(1, count):
            outcome = _outcome(chunks[i])
            if outcome is None:
                if failure is None:
                    failure = WorkerLost(f"render worker {name(i)} (pid {pids[i]}) {_describe(statuses[i])}")
                continue
            kind, value = outcome
            if kind == "ok":
                results.append(value)  # type: ignore[arg-type]
            elif failure is None or isinstance(failure, WorkerLost):
                exc, tb = cast("tuple[BaseException, str]", value)
                exc.__cause__ = _RemoteTraceback(f'\n"""\n{tb}"""')
                failure = exc
        if failure is not None:
            raise failure
        ok = True
        settled.update(range(1, count))
        return results
    finally:
        if not ok:
            _abort(pids, running, reads, chunks, settled, undo, lost)
        for r in reads.values():
            os.close(r)


def _outcome(chunks: list[bytes]) -> tuple[str, object] | None:
    """A child's report, or None when it sent none (or a truncated one)."""
    if not chunks:
        return None
    try:
        outcome: tuple[str, object] = pickle.loads(b"".join(chunks))
    except Exception:  # a truncated report is no report
        return None
    return outcome


def _collect(reads: dict[int, int], chunks: dict[int, list[bytes]]) -> None:
    """Read every pipe to its end (a child blocks on a full pipe until it is read)."""
    with selectors.DefaultSelector() as sel:
        for i, fd in reads.items():
            sel.register(fd, selectors.EVENT_READ, i)
        left = len(reads)
        while left:
            for key, _ in sel.select():
                data = os.read(key.fd, 1 << 20)
                if data:
                    chunks[key.data].append(data)
                else:
                    sel.unregister(key.fd)
                    left -= 1


def _reap(pid: int) -> int:
    """Wait for ``pid``; its wait status (0 when the kernel reaped it: SIGCHLD ignored)."""
    while True:
        try:
            return os.waitpid(pid, 0)[1]
        except ChildProcessError:
            return 0
        except InterruptedError:
            continue


def _abort(pids: dict[int, int], running: set[int], reads: dict[int, int], chunks: dict[int, list[bytes]],
           settled: set[int], undo: Callable[[R], None], lost: Callable[[int], None]) -> None:
    """Kill and reap the children still running; undo what each child reported, tell
    ``lost`` about the others."""
    for i in running:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pids[i], signal.SIGKILL)
    for i in sorted(running):
        _reap(pids[i])
    running.clear()
    for i in sorted(pids):
        if i in settled:
            continue
        settled.add(i)
        try:  # whatever it sent before it ended (every writer is gone: this ends)
            while data := os.read(reads[i], 1 << 20):
                chunks[i].append(data)
        except OSError:
            pass
        outcome = _outcome(chunks[i])
        if outcome is not None and outcome[0] == "ok":
            undo(outcome[1])  # type: ignore[arg-type]
        else:
            lost(i)
