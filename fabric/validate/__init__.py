"""``fabric validate``: the running fabric against its intent.

:mod:`~fabric.validate.expect` computes what should be (pure), :mod:`~fabric.validate.live`
reads what is (driver getters, pings, agents), :mod:`~fabric.validate.compare` compares the
two (pure) into one :class:`Check` per expectation. :func:`validate_lab` does all three for
a named lab.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fabric.validate.compare import Check, LiveState, compare, summary
from fabric.validate.expect import ExpectedState, expected_service_routes, expected_state

if TYPE_CHECKING:
    from fabric.api import Fabric


@dataclass(frozen=True)
class Report:
    fabric: str
    lab: str
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
    from fabric.lab.lab import vrf_supported
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
    live = collect(lab, lab_connections(lab), expected, vrfs)
    checks = compare(intents, expected, live, tenant_vrfs=tenant_vrfs, vrf_skip_reason="skipped: no VRF support (see note)")
    notes = () if tenant_vrfs else (NO_VRF_REASON,)
    return Report(fab.name, lab.name, tuple(checks), notes)


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
           "summary", "validate_lab", "wait_lab"]
