"""``fabric validate``: the running fabric against its intent.

:mod:`~fabric.validate.expect` computes what should be (pure), :mod:`~fabric.validate.live`
reads what is (driver getters, pings, agents), :mod:`~fabric.validate.compare` compares the
two (pure) into one :class:`Check` per expectation. :func:`validate_lab` does all three for
a named lab, :func:`validate_devices` for the switches the inventory's ``deploy`` section
reaches (sessions, VNIs with their remote VTEPs, L3 VNIs, the Ethernet segments of
dual-homed servers where the driver can read them; no pings or agents there).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from fabric.validate.compare import Check, LiveState, compare, summary
from fabric.validate.expect import ExpectedState, expected_service_routes, expected_state

if TYPE_CHECKING:
    from fabric.api import Fabric
    from fabric.deploy.targets import Target


@dataclass(frozen=True)
class Report:
    fabric: str
    lab: str
    """The lab's name; ``""`` when real devices were read (:func:`validate_devices`)."""
    checks: tuple[Check, ...]
    notes: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return all(c.status != "fail" for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == "fail"]

    def counts(self) -> dict[str, int]:
        return summary(list(self.checks))


def validate_lab(fab: Fabric, name: str | None = None) -> Report:
    """Validate the named lab of ``fab`` (default name: the fabric's)."""
    from fabric.lab.fabriclab import FabricLab
    from fabric.lab.lab import NO_BOND_REASON, bond_supported, vrf_supported
    from fabric.lab.ops import lab_connections, topology
    from fabric.lab.system import LabError
    from fabric.lab.twins import NO_VRF_REASON
    from fabric.validate.live import collect

    lab = FabricLab(name or fab.name)
    if not lab.state():
        raise LabError(f"lab {lab.name} is not running")
    tenant_vrfs = vrf_supported()
    intents = fab.design()
    topo = topology(fab)
    expected = expected_state(intents, topo, tenant_vrfs)
    vrfs = ("default",) if not tenant_vrfs else ("default", *sorted({v.name for i in intents.values() for v in i.vrfs}))
    # without a bonding driver the lab cables a dual-homed server's NICs straight into the
    # leaves' bridges: no LACP bond, so FRR never brings the Ethernet segment up
    bonds = bond_supported()
    live = collect(lab, lab_connections(lab), expected, vrfs, read_segments=bonds)
    checks = compare(intents, expected, live, tenant_vrfs=tenant_vrfs, vrf_skip_reason="skipped: no VRF support (see note)",
                     segment_skip_reason="" if bonds else "skipped: no bonding driver (see note)")
    notes = (() if tenant_vrfs else (NO_VRF_REASON,)) + (
        (NO_BOND_REASON,) if expected.segments and not bonds else ())
    return Report(fab.name, lab.name, tuple(checks), notes)


def validate_devices(
    fab: Fabric,
    *,
    devices: Iterable[str] = (),
    roles: Iterable[str] = (),
    host_key_check: bool = True,
    targets: dict[str, Target] | None = None,
    parallel: int = 8,
) -> Report:
    """Validate the switches in scope (all unless ``devices``/``roles`` narrow it), read
    through their deploy drivers' getters with the ``deploy`` section's connections and
    credentials (``targets`` replaces them, as for :func:`fabric.deploy.api.deploy`).
    Tenant VRFs are real on switches, so Kubernetes sessions and L3 VNIs are checked in
    their VRFs; service routes are checked only where a lab's agents say what is announced."""
    from fabric.deploy.api import targets_for
    from fabric.validate.live import collect_devices

    scope = targets_for(fab, devices, roles, host_key_check=host_key_check, targets=targets)
    intents = fab.design()
    every = expected_state(intents, None, True)
    expected = replace(
        every,
        sessions=tuple(s for s in every.sessions if s.device in scope),
        vnis=tuple(v for v in every.vnis if v.device in scope),
        l3vnis=tuple(v for v in every.l3vnis if v.device in scope),
        segments=tuple(e for e in every.segments if e.device in scope),
    )
    vrfs = {n: ("default", *sorted(v.name for v in intents[n].vrfs)) for n in scope}
    live = collect_devices(scope, vrfs, parallel, frozenset(e.device for e in expected.segments))
    checks = compare({n: intents[n] for n in scope}, expected, live, tenant_vrfs=True)
    return Report(fab.name, "", tuple(checks), ())


def wait_lab(fab: Fabric, name: str | None = None, timeout: float = 90.0, interval: float = 2.0,
             progress: Callable[[str], None] | None = None) -> Report:
    """Validate the lab until every check passes or ``timeout`` seconds passed (sessions and
    agents need a few seconds after a deploy); returns the last report."""
    deadline = time.monotonic() + timeout
    while True:
        report = validate_lab(fab, name)
        if report.ok or time.monotonic() >= deadline:
            return report
        if progress is not None:
            counts = report.counts()
            progress(f"waiting for the fabric to converge: {counts['fail']} check(s) still failing")
        time.sleep(interval)


__all__ = ["Check", "ExpectedState", "LiveState", "Report", "compare", "expected_service_routes", "expected_state",
           "summary", "validate_devices", "validate_lab", "wait_lab"]
