"""Deploy from Python: the functions behind ``Fabric.deploy`` / ``diff`` / ``rollback`` /
``onboard`` and the ``fabric`` commands of the same names.

    import fabric
    fab = fabric.load("inventories/shownet2024")
    report = fab.deploy(canary=1, parallel=10)      # DeployReport
    report.status, report.devices["leaf1"].cause

``targets`` (device -> :class:`~fabric.deploy.targets.Target`) replaces how devices are
reached (the lab does this: each device's lab router with the ``frr`` driver); by default
they come from the inventory's ``deploy`` section and the credentials.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from fabric.deploy.engine import DeployReport, Engine, Fabric, Options, Progress, _cause, _Scrubber
from fabric.deploy.pristine import extract, pristine_path
from fabric.deploy.registry import driver_for
from fabric.deploy.targets import Target, resolve_targets, select
from fabric.files import atomic_write


def targets_for(
    fab: Fabric,
    devices: Iterable[str] = (),
    roles: Iterable[str] = (),
    *,
    host_key_check: bool = True,
    targets: dict[str, Target] | None = None,
) -> dict[str, Target]:
    """The targets in scope (all switches unless ``devices``/``roles`` narrow it)."""
    every = targets if targets is not None else resolve_targets(fab.inventory, fab.path, host_key_check=host_key_check)
    return select(every, devices, roles)


def deploy(
    fab: Fabric,
    *,
    devices: Iterable[str] = (),
    roles: Iterable[str] = (),
    canary: int = 1,
    parallel: int = 10,
    resume: bool = False,
    journal: str | Path | None = None,
    host_key_check: bool = True,
    revert_in: int | None = None,
    postcheck_timeout: float | None = None,
    targets: dict[str, Target] | None = None,
    progress: Progress | None = None,
) -> DeployReport:
    """Roll the fabric out (see :mod:`fabric.deploy.engine`); ``resume`` finishes the run
    the journal says was interrupted."""
    scope = targets_for(fab, devices, roles, host_key_check=host_key_check, targets=targets)
    opts = Options(canary=canary, parallel=parallel, revert_in=revert_in, postcheck_timeout=postcheck_timeout)
    engine = Engine(fab, scope, options=opts, journal=Path(journal) if journal else None, progress=progress)
    return engine.deploy(resume=resume)


def diff(
    fab: Fabric,
    *,
    devices: Iterable[str] = (),
    roles: Iterable[str] = (),
    parallel: int = 10,
    host_key_check: bool = True,
    targets: dict[str, Target] | None = None,
    progress: Progress | None = None,
) -> DeployReport:
    """Each device's diff against pristine + rendered; changes nothing."""
    scope = targets_for(fab, devices, roles, host_key_check=host_key_check, targets=targets)
    return Engine(fab, scope, options=Options(parallel=parallel), progress=progress).diff()


def rollback(
    fab: Fabric,
    *,
    journal: str | Path | None = None,
    parallel: int = 10,
    host_key_check: bool = True,
    targets: dict[str, Target] | None = None,
    progress: Progress | None = None,
) -> DeployReport:
    """Undo the journaled run: every device it committed to gets its config from before."""
    scope = targets_for(fab, host_key_check=host_key_check, targets=targets)
    engine = Engine(fab, scope, options=Options(parallel=parallel), journal=Path(journal) if journal else None,
                    progress=progress)
    return engine.rollback()


@dataclass
class OnboardResult:
    device: str
    status: Literal["written", "kept", "failed"]
    path: str = ""
    lines: int = 0
    cause: str = ""


@dataclass
class OnboardReport:
    fabric: str
    devices: dict[str, OnboardResult] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(r.status != "failed" for r in self.devices.values())


def onboard(
    fab: Fabric,
    *,
    devices: Iterable[str] = (),
    roles: Iterable[str] = (),
    force: bool = False,
    parallel: int = 10,
    host_key_check: bool = True,
    targets: dict[str, Target] | None = None,
) -> OnboardReport:
    """Read each device's running config once and keep its unmanaged parts as
    ``INVENTORY/pristine/<device>.<ext>``. A device already onboarded is kept as it is
    (``force`` reads it again)."""
    scope = targets_for(fab, devices, roles, host_key_check=host_key_check, targets=targets)
    scrub = _Scrubber(scope.values())
    report = OnboardReport(fab.name)

    def one(t: Target) -> OnboardResult:
        path = pristine_path(fab.path, t.device, t.platform)
        if path.exists() and not force:
            return OnboardResult(t.device, "kept", str(path))
        drv = driver_for(t.driver, t.connection)
        try:
            drv.open()
            running = drv.get_config()
        except Exception as e:
            return OnboardResult(t.device, "failed", str(path), cause=_cause(e, scrub))
        finally:
            drv.close()
        text = extract(t.platform, running)
        atomic_write(path, text)
        return OnboardResult(t.device, "written", str(path), lines=len(text.splitlines()))

    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(scope) or 1))) as pool:
        for r in pool.map(one, scope.values()):
            report.devices[r.device] = r
    return report
