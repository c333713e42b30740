"""The rollout engine behind ``fabric deploy``, ``fabric diff`` and ``fabric rollback``.

1. **Check and build first**: the inventory is valid, the ledger up to date, every device
   renders, every replace target was onboarded (has its pristine config). Any problem
   raises before a single connection is opened.
2. **Connect and diff** every device in scope (bounded parallelism): read the running
   config, load pristine + rendered as the candidate, compare. A device that cannot be
   reached or refuses the candidate stops the run here: nothing was committed anywhere.
3. **Waves** of the changed devices (:mod:`fabric.deploy.waves`): a canary wave, then the
   rest, never both members of a redundant pair in one wave. Per device: journal its
   running config -> ``commit_config(revert_in=...)`` -> post-checks through the getters
   (BGP sessions that were up are still up; the sessions the intent adds towards devices
   already on their new config come up within the timeout) -> ``confirm_commit``.
4. **Any failure** stops the rollout after the current wave's devices finish their step,
   and every device this run committed to is restored to the config it ran before (a
   replace with the journaled text and a plain commit, retried until the device's own
   commit-confirmed timer has had time to fire for a device that became unreachable).

Every step is journaled before it is sent (:mod:`fabric.deploy.journal`), so ``--resume``
finishes an interrupted run and :func:`rollback_run` undoes it, whatever killed the
controller. An unchanged device gets no commit.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from fabric.deploy.driver import Driver
from fabric.deploy.journal import Journal, JournalState, default_journal, read_journal
from fabric.deploy.pristine import combine, read_pristine
from fabric.deploy.registry import driver_for
from fabric.deploy.targets import Target
from fabric.deploy.waves import plan_waves
from fabric.errors import DeployError, FabricError
from fabric.platforms import DEPLOY

if TYPE_CHECKING:
    from fabric.design.intent import DeviceIntent
    from fabric.model import Inventory
    from fabric.render.base import RenderedDevice

DeviceStatus = Literal[
    "unchanged", "changed", "deployed", "failed", "rolled-back", "not-deployed", "unreachable", "restore-failed",
]
RunStatus = Literal["unchanged", "deployed", "rolled-back", "failed", "diffed"]

Progress = Callable[[str, str, str], None]
"""``(device, step, detail)``: called from worker threads as each step starts or ends."""


class Fabric(Protocol):
    """What the engine needs of a loaded fabric (:class:`fabric.api.Fabric` is one); a
    protocol so that the deploy package never imports the API module that calls it."""

    @property
    def path(self) -> Path: ...

    @property
    def name(self) -> str: ...

    @property
    def inventory(self) -> Inventory: ...

    def require_up_to_date(self) -> object: ...

    def render(self) -> dict[str, RenderedDevice]: ...

    def design(self) -> dict[str, DeviceIntent]: ...


class PostCheckError(DeployError):
    """A device's state after a commit is not what it was or should be."""


@dataclass
class DeviceResult:
    """What happened to one device in a run, and why."""

    device: str
    platform: str
    driver: str
    status: DeviceStatus = "not-deployed"
    wave: int | None = None
    diff: str = ""
    cause: str = ""
    steps: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class DeployReport:
    """The outcome of a deploy, diff or rollback (``to_dict`` for ``--json``)."""

    run: str
    fabric: str
    action: Literal["deploy", "diff", "rollback"]
    status: RunStatus
    devices: dict[str, DeviceResult]
    waves: list[list[str]] = field(default_factory=list)
    cause: str = ""
    seconds: float = 0.0
    journal: str = ""

    @property
    def ok(self) -> bool:
        """Whether the run did what was asked (a rollback run: every device restored)."""
        if self.action == "rollback":
            return self.status == "rolled-back"
        return self.status in ("unchanged", "deployed", "diffed")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Options:
    """Knobs of one run (the CLI flags)."""

    canary: int = 1
    parallel: int = 10
    revert_in: int | None = None
    postcheck_timeout: float | None = None
    postcheck_interval: float | None = None
    new_sessions: bool | None = None
    restore_wait: float | None = None
    """Seconds to keep retrying an unreachable device during restore (default: its
    revert_in plus its timeout: long enough for its own timer to roll it back)."""


class _Scrubber:
    """Removes every credential from text before it is stored or shown."""

    def __init__(self, targets: Iterable[Target]) -> None:
        self.secrets = sorted({t.connection.password for t in targets if len(t.connection.password) >= 3}, key=len,
                              reverse=True)

    def __call__(self, text: str) -> str:
        for s in self.secrets:
            text = text.replace(s, "***")
        return text


def _cause(e: BaseException, scrub: _Scrubber) -> str:
    text = str(e) if isinstance(e, FabricError) else f"{type(e).__name__}: {e}"
    return scrub(text.strip() or type(e).__name__)


@dataclass
class _Device:
    target: Target
    desired: str
    intent: DeviceIntent | None
    result: DeviceResult
    driver: Driver | None = None
    before: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)


def desired_configs(fab: Fabric, targets: dict[str, Target]) -> dict[str, str]:
    """Pristine + rendered per target (the whole config a replace pushes), checking
    everything first: ledger up to date, every device renders, every replace target has
    its pristine config. Raises before anything is sent."""
    fab.require_up_to_date()
    rendered = fab.render()
    problems = []
    out: dict[str, str] = {}
    for name, t in targets.items():
        profile = DEPLOY[t.platform]
        r = rendered.get(name)
        if r is None or profile.config_format not in r.files:
            problems.append(f"{name}: no {profile.config_format} config rendered")
            continue
        text = r.files[profile.config_format]
        if profile.load == "replace":
            pristine = read_pristine(fab.path, name, t.platform)
            if pristine is None and profile.require_pristine:
                problems.append(
                    f"{name}: not onboarded (no pristine config); run `fabric onboard {fab.path} --device {name}` "
                    "first so a replace keeps what the fabric does not own"
                )
                continue
            text = combine(t.platform, pristine, text)
        out[name] = text
    if problems:
        raise DeployError("; ".join(problems))
    return out


class Engine:
    """One run over ``targets``: diff, deploy, resume or roll back."""

    def __init__(
        self,
        fab: Fabric,
        targets: dict[str, Target],
        *,
        options: Options | None = None,
        journal: Path | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.fab = fab
        self.targets = targets
        self.opts = options or Options()
        self.journal_path = journal or default_journal(fab.path)
        self._progress = progress
        self.scrub = _Scrubber(targets.values())
        self.settings = fab.inventory.deploy
        self.journal: Journal | None = None
        self.run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]

    # --- helpers ----------------------------------------------------------------------------

    def _say(self, dev: _Device, step: str, detail: str = "") -> None:
        dev.result.steps.append(step)
        if self._progress is not None:
            self._progress(dev.target.device, step, self.scrub(detail))

    def _step(self, dev: _Device, step: str, detail: str = "") -> None:
        if self.journal is not None:
            self.journal.write("step", device=dev.target.device, step=step, detail=self.scrub(detail))
        self._say(dev, step, detail)

    def _revert_in(self, t: Target) -> int:
        return self.opts.revert_in or self.settings.revert_in or DEPLOY[t.platform].revert_in

    def _open(self, t: Target) -> Driver:
        drv = driver_for(t.driver, t.connection)
        try:
            drv.open()
        except BaseException:
            drv.close()
            raise
        return drv

    def _devices(self, desired: dict[str, str]) -> dict[str, _Device]:
        intents: dict[str, DeviceIntent] = self.fab.design()
        return {
            n: _Device(t, desired[n], intents.get(n), DeviceResult(n, t.platform, t.driver))
            for n, t in self.targets.items()
        }

    def _pool(self, n: int) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=max(1, min(n, self.opts.parallel)), thread_name_prefix="deploy")

    # --- phase 2: connect and diff ----------------------------------------------------------

    def _diff_one(self, dev: _Device, keep_open: bool, check_pending: bool = False) -> None:
        t0 = time.monotonic()
        self._say(dev, "connect")
        drv = self._open(dev.target)
        dev.driver = drv
        try:
            dev.before = drv.get_config()
            self._say(dev, "diff")
            if DEPLOY[dev.target.platform].load == "replace":
                drv.load_replace_candidate(dev.desired)
            else:
                drv.load_merge_candidate(dev.desired)
            dev.result.diff = self.scrub(drv.compare_config())
            dev.result.status = "changed" if dev.result.diff.strip() else "unchanged"
            if check_pending and dev.result.status == "unchanged" and drv.has_pending_commit():
                # an interrupted run's commit confirmed: commit and confirm it, or it reverts
                dev.result.status = "changed"
                dev.result.diff = "(a commit confirmed of the interrupted run waits for its confirmation)"
            if not keep_open or dev.result.status == "unchanged":
                drv.discard_config()
                drv.close()
                dev.driver = None
        except BaseException:
            drv.close()
            dev.driver = None
            raise
        finally:
            dev.result.seconds += time.monotonic() - t0
        self._say(dev, dev.result.status)

    def _diff_all(self, devices: dict[str, _Device], keep_open: bool, check_pending: bool = False) -> list[str]:
        """Diff every device; return the names that failed (their cause is recorded)."""
        failed: list[str] = []

        def work(dev: _Device) -> None:
            try:
                self._diff_one(dev, keep_open, check_pending)
            except Exception as e:
                dev.result.status = "failed"
                dev.result.cause = f"diff: {_cause(e, self.scrub)}"
                self._say(dev, "failed", dev.result.cause)
                failed.append(dev.target.device)

        with self._pool(len(devices)) as pool:
            list(pool.map(work, devices.values()))
        return failed

    # --- phase 3: one device through commit confirmed -> post-checks -> confirm -------------

    def _expected_sessions(self, dev: _Device, settled: set[str]) -> set[str]:
        if dev.intent is None:
            return set()
        new = self.opts.new_sessions if self.opts.new_sessions is not None else self.settings.postchecks.new_sessions
        if not new:
            return set()
        out = set()
        for n in (*dev.intent.underlay.neighbors, *dev.intent.overlay.neighbors):
            if n.peer in settled:
                out.add(str(n.address))
        return out

    def _postcheck(self, dev: _Device, up_before: set[str], expected: set[str]) -> None:
        assert dev.driver is not None
        # a session that was up and whose peer address is still configured must stay up
        required = {a for a in up_before if a in dev.desired} | expected
        if not required:
            dev.driver.get_facts()  # still answering
            return
        pc = self.settings.postchecks
        timeout = self.opts.postcheck_timeout if self.opts.postcheck_timeout is not None else pc.timeout
        interval = self.opts.postcheck_interval if self.opts.postcheck_interval is not None else pc.interval
        deadline = time.monotonic() + timeout
        while True:
            up = {n.address for n in dev.driver.get_bgp_neighbors() if n.up}
            missing = required - up
            if not missing:
                return
            if time.monotonic() >= deadline:
                was = sorted(missing & up_before)
                new = sorted(missing - up_before)
                parts = []
                if was:
                    parts.append(f"BGP sessions down that were up before the commit: {', '.join(was)}")
                if new:
                    parts.append(f"expected new BGP sessions not up after {timeout:g} s: {', '.join(new)}")
                raise PostCheckError("post-check failed: " + "; ".join(parts))
            time.sleep(interval)

    def _deploy_one(self, dev: _Device, wave: int, settled: set[str], stop: threading.Event) -> bool:
        t0 = time.monotonic()
        t = dev.target
        dev.result.wave = wave
        step = "pre-check"
        try:
            if stop.is_set():
                dev.result.status = "not-deployed"
                dev.result.cause = "stopped: another device failed"
                return False
            if dev.driver is None:  # closed after the diff (resume, or the diff-only path)
                dev.driver = self._open(t)
                dev.driver.load_replace_candidate(dev.desired)
            assert self.journal is not None
            self.journal.write("before", device=t.device, config=dev.before)
            up_before = {n.address for n in dev.driver.get_bgp_neighbors() if n.up}
            revert_in = self._revert_in(t)
            step = "commit"
            self._step(dev, "commit", f"commit confirmed, revert in {revert_in} s")
            dev.driver.commit_config(message=f"leafspine {self.run_id}", revert_in=revert_in)
            self._step(dev, "committed")
            step = "post-check"
            self._say(dev, "postcheck")
            self._postcheck(dev, up_before, self._expected_sessions(dev, settled))
            step = "confirm"
            self._step(dev, "confirm")
            dev.driver.confirm_commit()
            self._step(dev, "confirmed")
            dev.result.status = "deployed"
            return True
        except Exception as e:
            dev.result.status = "failed"
            dev.result.cause = f"{step}: {_cause(e, self.scrub)}"
            if self.journal is not None:
                self._step(dev, "failed", dev.result.cause)
            else:
                self._say(dev, "failed", dev.result.cause)
            stop.set()
            return False
        finally:
            dev.result.seconds += time.monotonic() - t0
            if dev.driver is not None:
                dev.driver.close()
                dev.driver = None

    # --- phase 4: restore ----------------------------------------------------------------------

    def _restore_one(self, dev: _Device, before: str) -> None:
        t = dev.target
        wait = self.opts.restore_wait
        if wait is None:
            wait = self._revert_in(t) + t.connection.timeout + 10
        deadline = time.monotonic() + wait
        self._step(dev, "rollback")
        last: Exception | None = None
        while True:
            drv: Driver | None = None
            try:
                drv = self._open(t)
                drv.load_replace_candidate(before)
                diff = drv.compare_config()
                if not diff.strip():
                    drv.discard_config()
                    self._step(dev, "reverted", "running config already as before")
                else:
                    drv.commit_config(message=f"leafspine {self.run_id} rollback")
                    self._step(dev, "restored")
                if dev.result.status != "failed":
                    dev.result.status = "rolled-back"
                return
            except Exception as e:
                last = e
                if time.monotonic() >= deadline:
                    dev.result.status = "restore-failed"
                    why = f"restore: {_cause(last, self.scrub)}"
                    dev.result.cause = f"{dev.result.cause}; {why}" if dev.result.cause else why
                    self._step(dev, "restore-failed", why)
                    return
                time.sleep(min(2.0, max(0.2, t.connection.timeout / 10)))
            finally:
                if drv is not None:
                    drv.close()

    def _restore(self, devices: dict[str, _Device], names: list[str], before: dict[str, str]) -> bool:
        todo = [n for n in names if n in before]
        with self._pool(len(todo)) as pool:
            list(pool.map(lambda n: self._restore_one(devices[n], before[n]), todo))
        return all(devices[n].result.status != "restore-failed" for n in todo)

    # --- runs ------------------------------------------------------------------------------------

    def diff(self) -> DeployReport:
        """Every device's diff; nothing is changed (each candidate is discarded)."""
        t0 = time.monotonic()
        desired = desired_configs(self.fab, self.targets)
        devices = self._devices(desired)
        failed = self._diff_all(devices, keep_open=False)
        status: RunStatus = "failed" if failed else "diffed"
        cause = "; ".join(f"{n}: {devices[n].result.cause}" for n in failed)
        return self._report("diff", status, devices, [], cause, t0)

    def deploy(self, resume: bool = False) -> DeployReport:
        """Roll out to every target (see the module docstring)."""
        t0 = time.monotonic()
        desired = desired_configs(self.fab, self.targets)  # raises before anything is sent
        prior: JournalState | None = None
        if not resume and self.journal_path.exists():
            last = read_journal(self.journal_path)
            if not last.finished and last.touched():
                raise DeployError(
                    f"the last run ({last.run}) was interrupted after committing to {', '.join(last.touched())}: "
                    "finish it with `fabric deploy --resume` or undo it with `fabric rollback` first"
                )
        if resume:
            prior = read_journal(self.journal_path)
            if prior.finished:
                raise DeployError(f"the last run ({prior.run}) ended {prior.end}: nothing to resume")
            missing = [d for d in prior.devices if d not in self.targets]
            if missing:
                raise DeployError(f"the interrupted run covered {', '.join(missing)}, not in this scope")
            self.run_id = prior.run
        devices = self._devices(desired)
        failed = self._diff_all(devices, keep_open=True, check_pending=prior is not None)
        if failed:
            for d in devices.values():
                if d.driver is not None:
                    d.driver.close()
            why = "; ".join(f"{n}: {devices[n].result.cause}" for n in failed)
            return self._report("deploy", "failed", devices, [], f"nothing was sent: {why}", t0)
        changed = [d.target for d in devices.values() if d.result.status == "changed"]
        touched_before: list[str] = prior.touched() if prior else []
        if not changed:
            if prior is not None:
                self.journal = Journal(self.journal_path)
                self.journal.write("resume", run=self.run_id)
                self.journal.write("end", status="deployed")
                self.journal.close()
            return self._report("deploy", "unchanged" if prior is None else "deployed", devices, [], "", t0)
        waves = plan_waves(changed, canary=self.opts.canary, parallel=self.opts.parallel)
        if prior is None:
            self.journal = Journal.start(self.journal_path, self.run_id, self.fab.name, list(self.targets), waves)
        else:
            self.journal = Journal(self.journal_path)
            self.journal.write("resume", run=self.run_id, waves=waves)
            for name, text in prior.before.items():  # the original config, not the half-way one
                if name in devices:
                    devices[name].before = text
        try:
            return self._waves(devices, waves, touched_before, t0)
        finally:
            self.journal.close()
            self.journal = None

    def _waves(self, devices: dict[str, _Device], waves: list[list[str]], touched_before: list[str], t0: float) -> DeployReport:
        assert self.journal is not None
        in_rollout = {n for w in waves for n in w}
        settled = {sw.name for sw in self.fab.inventory.switches()} - in_rollout
        stop = threading.Event()
        committed: list[str] = list(touched_before)
        failed_at: int | None = None
        for i, wave in enumerate(waves, 1):
            settled |= set(wave)
            now = set(settled)
            with self._pool(len(wave)) as pool:
                list(pool.map(lambda n, i=i, now=now: self._deploy_one(devices[n], i, now, stop), wave))
            committed += [n for n in wave if "commit" in devices[n].result.steps and n not in committed]
            if stop.is_set():
                failed_at = i
                break
        if failed_at is None:
            self.journal.write("end", status="deployed")
            return self._report("deploy", "deployed", devices, waves, "", t0)
        # stop: close what is still open (later waves), restore everything this run committed
        for w in waves[failed_at:]:
            for n in w:
                d = devices[n]
                if d.driver is not None:
                    d.driver.close()
                    d.driver = None
                if d.result.status == "changed":
                    d.result.cause = "not deployed: the rollout stopped"
                    d.result.status = "not-deployed"
        bad = [n for n, d in devices.items() if d.result.status == "failed"]
        cause = "; ".join(f"{n}: {devices[n].result.cause}" for n in bad)
        before = {n: devices[n].before for n in committed}
        ok = self._restore(devices, committed, before)
        self.journal.write("end", status="rolled-back" if ok else "failed")
        status: RunStatus = "rolled-back" if ok else "failed"
        return self._report("deploy", status, devices, waves, cause, t0)

    def rollback(self) -> DeployReport:
        """Undo the journaled run: restore every device it committed to."""
        t0 = time.monotonic()
        state = read_journal(self.journal_path)
        self.run_id = state.run
        touched = state.touched()
        missing = [d for d in touched if d not in self.targets]
        if missing:
            raise DeployError(f"the journaled run changed {', '.join(missing)}, which this inventory does not have")
        devices = {
            n: _Device(self.targets[n], "", None, DeviceResult(n, self.targets[n].platform, self.targets[n].driver,
                                                               status="unchanged"))
            for n in state.devices if n in self.targets
        }
        self.journal = Journal(self.journal_path)
        self.journal.write("resume", run=self.run_id, action="rollback")
        try:
            ok = self._restore(devices, touched, state.before)
            self.journal.write("end", status="rolled-back" if ok else "failed")
        finally:
            self.journal.close()
            self.journal = None
        failed = [n for n in touched if devices[n].result.status == "restore-failed"]
        cause = f"could not restore {', '.join(failed)}" if failed else ""
        return self._report("rollback", "rolled-back" if ok else "failed", devices, state.waves, cause, t0)

    def _report(self, action: Literal["deploy", "diff", "rollback"], status: RunStatus, devices: dict[str, _Device],
                waves: list[list[str]], cause: str, t0: float) -> DeployReport:
        return DeployReport(
            run=self.run_id, fabric=self.fab.name, action=action, status=status,
            devices={n: d.result for n, d in devices.items()}, waves=waves, cause=self.scrub(cause),
            seconds=round(time.monotonic() - t0, 3), journal=str(self.journal_path),
        )
