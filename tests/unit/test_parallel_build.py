"""Rendering in forked workers (``fabric build --jobs N``, :mod:`fabric.parallel`): the same
folder, result and build-cache manifest as one process; a failure in any worker changes
nothing, leaves no temp file and no child process behind. Real forks throughout."""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fabric
import fabric.files
import fabric.parallel as par
from fabric.build import CONFIG_DIR, BuildResult
from fabric.buildcache import MANIFEST
from fabric.cli import main
from fabric.design.intent import DeviceIntent
from fabric.errors import FabricError, RenderError
from fabric.render.base import RENDERERS, get_renderer
from tests.bench.gen_fabric import write
from tests.unit.test_build import replan, snapshot
from tests.unit.test_buildcache import apply, settle


@contextmanager
def every_device_counts() -> Iterator[None]:
    """Fork even for the few devices of a test fabric (one device per worker is enough)."""
    old = par.MIN_ITEMS_PER_WORKER
    par.MIN_ITEMS_PER_WORKER = 1
    try:
        yield
    finally:
        par.MIN_ITEMS_PER_WORKER = old


@contextmanager
def renderer_in_place(platform: str, fail: Any) -> Iterator[None]:
    """The built-in renderer of ``platform``, but ``fail(device)`` runs first for each device."""
    real = get_renderer(platform)

    class Failing:
        formats = real.formats
        capabilities: frozenset[str] = frozenset()

        def __init__(self) -> None:
            self.platform = platform

        def render(self, intent: DeviceIntent) -> dict[str, str]:
            fail(intent.device.name)
            return real.render(intent)

        def render_main(self, intent: DeviceIntent) -> str:
            return real.render_main(intent)

    RENDERERS.register(Failing(), replace=True)
    try:
        yield
    finally:
        RENDERERS.register(real, replace=True)


def children() -> list[int]:
    """Processes whose parent is this one (zombies included)."""
    me = str(os.getpid())
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if stat.rsplit(")", 1)[1].split()[1] == me:
                found.append(int(entry))
    return found


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def manifest_shape(out: Path) -> dict[str, Any]:
    """The manifest without the file stamps (inode, times), which differ between folders."""
    m = json.loads((out / MANIFEST).read_text())
    for entry in m["devices"].values():
        entry["files"] = [f[:2] for f in entry["files"]]
    m["exports"] = [f[:2] for f in m["exports"]]
    m["agents"] = [f[:2] for f in m["agents"]]
    return dict(m)


def result_shape(r: BuildResult) -> dict[str, Any]:
    rel = r.out_dir
    return {"devices": r.devices, "platforms": list(r.platforms.items()), "files": r.files, "lines": r.lines,
            "written": [p.relative_to(rel).as_posix() for p in r.written], "unchanged": r.unchanged,
            "cached": r.cached, "removed": [p.relative_to(rel).as_posix() for p in r.removed],
            "skipped": r.skipped, "kept": r.kept, "exports": r.exports}


def leftovers(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*.tmp"))


@pytest.fixture
def gen(tmp_path: Path) -> Path:
    inv = tmp_path / "inv"
    write(inv, spines=2, leaves=6, svis=3, vrfs=1, platforms=("junos", "nxos"))
    replan(inv)
    return inv


def test_the_default_is_one_worker_per_cpu_and_one_for_few_devices() -> None:
    cpus = min(par.usable_cpus(), par.MAX_WORKERS)
    assert par.worker_count(None, 1000) == (cpus if threading.active_count() == 1 else 1)
    assert par.worker_count(None, par.MIN_ITEMS_PER_WORKER * 2 - 1) == 1
    assert par.worker_count(1, 1000) == 1
    assert par.worker_count(3, 3 * par.MIN_ITEMS_PER_WORKER) == 3
    with pytest.raises(ValueError):
        par.worker_count(0, 10)
    assert par.split(list(range(7)), 3) == [[0, 1, 2], [3, 4], [5, 6]]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=st.fixed_dictionaries({
           "spines": st.integers(1, 2), "leaves": st.integers(1, 5), "svis": st.integers(2, 4), "vrfs": st.just(1),
           "platforms": st.sampled_from([("junos", "nxos"), ("nxos", "frr"), ("frr", "junos")])}),
       jobs=st.integers(2, 3), cache=st.booleans(),
       edit=st.sampled_from(["describe", "server_port", "remove_leaf", "hand_edit", "add_network"]))
def test_workers_write_what_one_process_writes(shape: dict[str, Any], jobs: int, cache: bool, edit: str) -> None:
    with tempfile.TemporaryDirectory(prefix="parallel-") as tmp, every_device_counts():
        inv, one, many = Path(tmp) / "inv", Path(tmp) / "one", Path(tmp) / "many"
        write(inv, **shape)
        replan(inv)
        settle()  # the inventory files older than the load: both record the whole build's key
        for step in range(2):  # a fresh build, then a rebuild after an edit
            if step:
                apply(edit, 7, inv, one)  # the inventory (once), or a file of the first folder
                if edit == "hand_edit":
                    apply(edit, 7, inv, many)
                settle()
            r1 = fabric.load(inv).build(one, cache=cache, jobs=1)
            rn = fabric.load(inv).build(many, cache=cache, jobs=jobs)
            assert r1.workers == 1
            todo = r1.devices - r1.cached - len(r1.skipped)
            if threading.active_count() == 1 and todo >= 2:
                assert rn.workers == min(jobs, todo)
            assert snapshot(one) == snapshot(many)
            assert result_shape(r1) == result_shape(rn)
            assert manifest_shape(one) == manifest_shape(many)
            assert not leftovers(many) and not children()


def test_a_render_error_in_a_worker_is_raised_as_in_one_process(gen: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    fabric.load(gen).build(out)
    apply("describe", 3, gen, out)  # every leaf would change
    before, fds = snapshot(out), open_fds()

    def fail(device: str) -> None:
        if device == "leaf6":  # the last device: a child's
            raise RenderError(f"cannot render {device}")

    errors = []
    with renderer_in_place("nxos", fail), every_device_counts():
        for jobs in (1, 3):
            with pytest.raises(RenderError) as e:
                fabric.load(gen).build(out, jobs=jobs)
            errors.append(str(e.value))
            assert snapshot(out) == before and not leftovers(out) and not children()
        # the CLI says the same
        runs = [CliRunner().invoke(main, ["build", str(gen), "-o", str(out), "--jobs", j]) for j in ("1", "3")]
    assert errors == ["cannot render leaf6"] * 2
    assert runs[0].output == runs[1].output and runs[0].exit_code == runs[1].exit_code == 1
    assert "error: cannot render leaf6" in runs[1].output
    assert snapshot(out) == before and open_fds() == fds


def test_the_first_error_by_device_order_wins(gen: Path, tmp_path: Path) -> None:
    """Errors in several workers (and in this process): the one a single process meets first."""
    def fail(device: str) -> None:
        raise ValueError(f"bad {device}")

    with renderer_in_place("junos", fail), every_device_counts():
        for jobs in (1, 2, 4):
            with pytest.raises(ValueError, match=r"^bad leaf1$"):
                fabric.load(gen).build(tmp_path / "out", jobs=jobs)
            assert not leftovers(tmp_path / "out") and not children()


def test_a_killed_worker_is_an_error_and_changes_nothing(gen: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    fabric.load(gen).build(out)
    apply("describe", 4, gen, out)
    before, fds = snapshot(out), open_fds()
    me = os.getpid()

    def die(device: str) -> None:
        if device == "leaf6" and os.getpid() != me:
            os.kill(os.getpid(), signal.SIGKILL)

    with renderer_in_place("nxos", die), every_device_counts(), pytest.raises(par.WorkerLost) as e:
        fabric.load(gen).build(out, jobs=2)
    assert "killed by signal SIGKILL" in str(e.value) and "leaf6" in str(e.value)
    assert snapshot(out) == before and not leftovers(out) and not children() and open_fds() == fds
    assert fabric.load(gen).build(out, jobs=2).exports == "written"  # and the next build is a normal one


def test_a_worker_that_exits_without_a_report(gen: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    me = os.getpid()

    def leave(device: str) -> None:
        if device == "leaf5" and os.getpid() != me:
            os._exit(3)

    with renderer_in_place("junos", leave), every_device_counts(), pytest.raises(par.WorkerLost, match="status 3"):
        fabric.load(gen).build(out, jobs=2)
    assert not (out / CONFIG_DIR).exists() or not any((out / CONFIG_DIR).iterdir())
    assert not leftovers(out) and not children()


def test_leftovers_of_a_dead_worker_go_with_the_next_build(gen: Path, tmp_path: Path) -> None:
    """What a worker killed from outside (not by the build) leaves: its temp files."""
    out = tmp_path / "out"
    settle()
    fabric.load(gen).build(out)
    (out / CONFIG_DIR / ".leaf1.conf.abcd1234.tmp").write_text("half")
    settle()
    r = fabric.load(gen).build(out)  # the whole build is skipped: strays still go
    assert list(r.seconds) == ["unchanged"] and not leftovers(out)
    (out / CONFIG_DIR / ".leaf2.cfg.abcd1234.tmp").write_text("half")
    fabric.load(gen).build(out, cache=False)
    assert not leftovers(out)


def test_with_another_thread_running_one_process_renders(gen: Path, tmp_path: Path) -> None:
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        with every_device_counts():
            r = fabric.load(gen).build(tmp_path / "out", jobs=4)
        assert r.workers == 1 and par.fork_refused() is not None
    finally:
        stop.set()
        t.join()
    with every_device_counts():
        assert fabric.load(gen).build(tmp_path / "again", jobs=4).workers == 4
    assert snapshot(tmp_path / "out") == snapshot(tmp_path / "again")


def test_the_file_by_file_fallback_syncs_the_workers_files(gen: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ``syncfs`` every staged temp file, the workers' included, is fsync'ed."""
    synced: list[Path] = []
    real = fabric.files.sync_files

    def record(paths: Any) -> None:
        todo = list(paths)
        synced.extend(todo)
        real(todo)

    monkeypatch.setattr(fabric.files, "sync_filesystem", lambda fd: False)
    monkeypatch.setattr(fabric.files, "sync_files", record)
    with every_device_counts():
        r = fabric.load(gen).build(tmp_path / "out", jobs=3)
    assert r.workers == 3
    configs = {p for p in r.written if p.parent.name == CONFIG_DIR}
    assert len(configs) == r.files
    # each temp file is named after its target: ".<name>.XXXXXXXX.tmp"
    assert configs <= {p.parent / p.name[1:-13] for p in synced}


def test_an_interrupt_here_kills_the_workers(tmp_path: Path) -> None:
    lost: list[int] = []
    t = time.monotonic()

    def work(i: int) -> int:
        if i == 0:
            time.sleep(0.2)
            raise KeyboardInterrupt
        time.sleep(60)
        return i

    with pytest.raises(KeyboardInterrupt):
        par.fork_map(work, 3, undo=lambda r: None, lost=lost.append)
    assert time.monotonic() - t < 10 and sorted(lost) == [1, 2] and not children()


def test_results_come_back_in_order_and_reported_ones_are_undone() -> None:
    assert par.fork_map(lambda i: i * i, 4, undo=lambda r: None, lost=lambda i: None) == [0, 1, 4, 9]
    undone: list[int] = []

    def work(i: int) -> int:
        if i == 2:
            raise OSError(5, "disk")
        return i

    with pytest.raises(OSError, match="disk") as e:
        par.fork_map(work, 4, undo=undone.append, lost=lambda i: None)
    assert e.value.errno == 5 and sorted(undone) == [1, 3] and not children()
    assert "Traceback" in str(e.value.__cause__)


def test_an_unpicklable_error_still_comes_back() -> None:
    class Odd(Exception):
        def __init__(self, a: int, b: int) -> None:
            super().__init__(a)
            self.fn = lambda: b

    def work(i: int) -> int:
        if i:
            raise Odd(1, 2)
        return 0

    with pytest.raises(FabricError, match=r"^worker 1: Odd: 1$"):
        par.fork_map(work, 2, undo=lambda r: None, lost=lambda i: None)
    assert not children()


def test_cli_help_names_jobs() -> None:
    r = CliRunner().invoke(main, ["build", "--help"])
    assert "--jobs N" in r.output and "one process" in r.output


def test_one_process_and_workers_agree_on_a_bigger_fabric(tmp_path: Path) -> None:
    """Above the threshold, by default: the default number of workers."""
    inv = tmp_path / "inv"
    write(inv, spines=2, leaves=2 * par.MIN_ITEMS_PER_WORKER + 2, svis=4, vrfs=2)
    replan(inv)
    r1 = fabric.load(inv).build(tmp_path / "one", jobs=1)
    rn = fabric.load(inv).build(tmp_path / "many", jobs=2)
    assert (r1.workers, rn.workers) == (1, 2 if threading.active_count() == 1 else 1)
    assert snapshot(tmp_path / "one") == snapshot(tmp_path / "many")
    assert result_shape(r1) == result_shape(rn)
    shutil.rmtree(tmp_path / "many")
