"""``python -m fabric.demo`` (what ``make demo`` runs): the main job, end to end.

1. For each example inventory: check it, confirm its ledger is up to date (a dry plan: the
   ledger is reviewed and committed, the demo never rewrites it) and build it into
   ``build/<name>``.
2. Then, as root, the live fabric of ``inventories/lab``: ``fabric lab up`` (a running lab
   of the same name is replaced), ``fabric deploy --lab``, wait until the agents' sessions
   are up and ``fabric validate`` is green, print the validation table and a few DNS answers
   from a host through the cluster's anycast address, how to look around, and the one
   command that removes the lab, which is left running.

Exit status 0 when every step passed, 1 otherwise (the failing step is printed), 2 for a
broken inventory or ledger.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import fabric
from fabric.errors import FabricError, InventoryError, LedgerError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ("shownet2024", "shownet2024-dci", "lab")
LIVE = "lab"
"""The example that runs live."""


def run(name: str, inventories: Path, build_root: Path) -> str:
    """Check, dry-plan and build one example; return its summary line."""
    t0 = time.perf_counter()
    fab = fabric.load(inventories / name)                      # check: every problem at once
    inv = fab.inventory
    fab.require_up_to_date()                                   # plan (dry): the ledger must hold it
    result = fab.build(build_root / name)
    secs = time.perf_counter() - t0
    platforms = ", ".join(f"{n} {p}" for p, n in sorted(result.platforms.items())) or "none"
    line = (
        f"{name:16} {len(inv.spines)} spines, {len(inv.leaves)} leaves ({platforms}); "
        f"{result.files} config files, {result.lines} lines; "
        f"{len(result.written)} written, {result.unchanged} unchanged, {len(result.removed)} removed; "
        f"exports {result.exports}; {secs:.2f} s -> {build_root / name}"
    )
    for device, why in result.skipped.items():
        line += f"\n{'':16} warning: {device} not rendered ({why})"
    return line


def _step(t0: float, msg: str) -> None:
    print(f"  [{time.perf_counter() - t0:5.1f} s] {msg}", flush=True)


def live(inventory: Path) -> int:
    """Lab up, deploy, agents up, validate; print what to look at. Returns the exit status."""
    from fabric.cli_lab import print_report
    from fabric.lab import ops
    from fabric.lab.fabriclab import FabricLab, lab_requirements
    from fabric.validate import wait_lab

    why = lab_requirements()
    if why is not None:
        print(f"\nlive fabric skipped: {why}")
        return 1
    fab = fabric.load(inventory)
    lab = FabricLab(fab.name)
    t0 = time.perf_counter()
    print(f"\nlive fabric {fab.name}: lab up -> deploy -> agents up -> validate")
    ops.up(fab, lab.name, replace=True, progress=lambda m: _step(t0, f"lab up: {m}"))
    report = ops.deploy(fab, lab.name, progress=lambda m: _step(t0, f"deploy: {m}"))
    if not report.ok:
        for d in report.devices:
            if d.error:
                print(f"deploy failed on {d.device}: {d.error}", file=sys.stderr)
        return 1
    _step(t0, f"deploy: {len(report.changed)} devices configured; waiting for sessions and agents")
    result = wait_lab(fab, lab.name, timeout=120, progress=lambda m: _step(t0, m))
    _step(t0, "validate: done")
    print_report(result, only_failed=False)
    topo = ops.topology(fab)
    node = topo.k8s_nodes[0] if topo.k8s_nodes else None
    if node is not None and node.dns_address is not None and shutil.which("dig"):
        print(f"\nDNS through the anycast address {node.dns_address} (each leaf prefers its own node):")
        for h in [h for h in topo.hosts if h.network == topo.hosts[0].network]:
            out = subprocess.run(
                ["ip", "netns", "exec", lab.netns(h.name), "dig", "+short", "+time=2", "+tries=2",
                 f"@{node.dns_address}", node.dns_name, "TXT"],
                capture_output=True, text=True, timeout=15, check=False,
            ).stdout.strip() or "(no answer)"
            print(f"  {h.name:20} dig @{node.dns_address} {node.dns_name} TXT -> {out}")
    leaf = next((r.name for r in topo.routers if r.vtep is not None), topo.routers[0].name)
    host = topo.hosts[0].name if topo.hosts else ""
    rel = inventory.relative_to(ROOT) if inventory.is_relative_to(ROOT) else inventory
    print(f"""
Look around (the lab keeps running):
  fabric lab status {rel}
  fabric validate {rel} --lab {lab.name}
  vtysh --vty_socket {lab.node_dir(leaf)} -c 'show bgp summary'      # FRR of {leaf}
  ip netns exec {lab.netns(host)} ping -c 3 {topo.hosts[1].address4.ip if len(topo.hosts) > 1 and topo.hosts[1].address4 else ''}
  ip netns list | grep {lab.prefix}
Remove everything of it:
  .venv/bin/fabric lab down {rel}""")
    return 0 if result.ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    names = list(argv if argv is not None else sys.argv[1:]) or list(EXAMPLES)
    inventories = ROOT / "inventories"
    build_root = Path("build")
    status = 0
    print(f"leafspine demo: check, plan (dry), build -> {build_root}/")
    for name in names:
        try:
            print(run(name, inventories, build_root))
        except InventoryError as e:
            print(f"{name}: inventory problems:\n{e}", file=sys.stderr)
            status = max(status, 2)
        except LedgerError as e:
            print(f"{name}: ledger: {e}", file=sys.stderr)
            status = max(status, 2)
        except FabricError as e:
            print(f"{name}: {e}", file=sys.stderr)
            status = max(status, 1)
    if status == 0 and LIVE in names:
        try:
            status = live(inventories / LIVE)
        except FabricError as e:
            print(f"live fabric: {e}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
