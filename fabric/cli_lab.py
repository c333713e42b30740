"""CLI commands of the live fabric: ``fabric lab up|down|status``, ``fabric deploy --lab``,
``fabric validate``. Registered on the ``fabric`` group by :func:`register`; like
``fabric.cli`` this module prints and exits, the library modules never do.

Exit status: 0 success; 1 a device or check failed; 2 bad input (inventory, ledger) or a
lab that cannot be used (not root, not running).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

from fabric.errors import DesignError, FabricError, InventoryError, LedgerError

if TYPE_CHECKING:
    from fabric.api import Fabric
    from fabric.validate import Report

out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False, soft_wrap=True)

inventory_arg = click.argument("inventory", type=click.Path(path_type=Path))


def _load(inventory: Path) -> Fabric:
    from fabric.api import load

    return load(inventory)


def _fail(e: Exception) -> None:
    from fabric.lab.system import LabError

    if isinstance(e, InventoryError):
        for p in e.problems:
            err.print(str(p), markup=False)
        err.print(f"{len(e.problems)} problem(s); nothing was done", markup=False)
        sys.exit(2)
    if isinstance(e, LedgerError | DesignError):
        err.print(f"error: {e}", markup=False)
        sys.exit(2)
    if isinstance(e, LabError):
        err.print(f"lab: {e}", markup=False)
        sys.exit(2)
    err.print(f"error: {e}", markup=False)
    sys.exit(1)


def _progress(start: float) -> Callable[[str], None]:
    def show(msg: str) -> None:
        err.print(f"[{time.perf_counter() - start:5.1f} s] {msg}", markup=False)

    return show


@click.group("lab")
def lab_group() -> None:
    """Run the fabric on this machine (root): FRR per switch in network namespaces, test
    hosts per network and leaf, bgp-agent + unbound on the Kubernetes nodes."""


@lab_group.command("up")
@inventory_arg
@click.option("--name", help="lab name (default: the fabric's name)")
@click.option("--replace", is_flag=True, help="remove a running lab of that name first")
def lab_up(inventory: Path, name: str | None, replace: bool) -> None:
    """Build the lab and leave it running. FRR starts without configuration: push it with
    `fabric deploy INVENTORY --lab NAME`."""
    from fabric.lab import ops

    t0 = time.perf_counter()
    try:
        fab = _load(inventory)
        lab = ops.up(fab, name, replace=replace, progress=_progress(t0))
    except (FabricError, ValueError) as e:
        _fail(e)
        return
    out.print(f"lab {lab.name} is up ({time.perf_counter() - t0:.1f} s): next `fabric deploy {inventory} --lab "
              f"{lab.name}`; remove it with `fabric lab down {inventory} --name {lab.name}`", markup=False)


@lab_group.command("down")
@inventory_arg
@click.option("--name", help="lab name (default: the fabric's name)")
def lab_down(inventory: Path, name: str | None) -> None:
    """Remove every namespace, link, process and file of the lab (also after a crash)."""
    from fabric.lab.fabriclab import FabricLab

    try:
        lab = FabricLab(name or _load(inventory).name)
        removed = lab.down()
    except (FabricError, ValueError) as e:
        _fail(e)
        return
    out.print(f"lab {lab.name}: {len(removed)} namespaces removed", markup=False)


@lab_group.command("status")
@inventory_arg
@click.option("--name", help="lab name (default: the fabric's name)")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def lab_status(inventory: Path, name: str | None, as_json: bool) -> None:
    """Nodes, daemons and BGP sessions of the lab."""
    from fabric.lab.fabriclab import FabricLab

    try:
        lab = FabricLab(name or _load(inventory).name)
        st = lab.status()
    except (FabricError, ValueError) as e:
        _fail(e)
        return
    if as_json:
        click.echo(json.dumps({
            "name": st.name, "fabric": st.fabric, "exists": st.exists, "stray_namespaces": list(st.stray_namespaces),
            "nodes": [{"name": n.name, "kind": n.kind, "netns": n.netns, "exists": n.exists, "daemons": n.daemons,
                       "sessions_up": n.sessions_up, "sessions": n.sessions} for n in st.nodes],
        }, indent=2))
        return
    if not st.exists:
        out.print(f"lab {st.name}: not running", markup=False)
        return
    table = Table(title=f"lab {st.name} (fabric {st.fabric})", title_justify="left")
    for col in ("node", "kind", "namespace", "daemons", "BGP sessions"):
        table.add_column(col)
    for n in sorted(st.nodes, key=lambda n: ({"router": 0, "k8s-node": 1}.get(n.kind, 2), n.name)):
        daemons = " ".join(f"{d}{'' if ok else '(down)'}" for d, ok in n.daemons.items()) or "-"
        sessions = f"{n.sessions_up}/{n.sessions} up" if n.kind == "router" else "-"
        table.add_row(n.name, n.kind, n.netns if n.exists else f"{n.netns} (missing)", daemons, sessions)
    out.print(table)
    if st.stray_namespaces:
        out.print(f"namespaces not in the state file: {', '.join(st.stray_namespaces)}", markup=False)


LAB_OPTION_HELP = "deploy to the routers of the running lab NAME (frr driver)"


def deploy_lab(inventory: Path, lab_name: str, dry_run: bool = False, show_diff: bool = True) -> None:
    """``fabric deploy INVENTORY --lab NAME``: every router of the lab is a device whose
    connection is its FRR pathspace, reached with the ``frr`` driver."""
    from fabric.lab import ops

    t0 = time.perf_counter()
    try:
        fab = _load(inventory)
        report = ops.deploy(fab, lab_name, dry_run=dry_run, progress=_progress(t0))
    except (FabricError, ValueError) as e:
        _fail(e)
        return
    for d in report.devices:
        if show_diff and (d.diff or d.linux):
            out.print(f"--- {d.device}", markup=False)
            for cmd in d.linux:
                out.print(f"  linux: ip {cmd}", markup=False)
            out.print(d.diff.rstrip("\n"), markup=False)
        if d.error:
            err.print(f"{d.device}: {d.error}", markup=False)
    changed = report.changed
    verb = "would change" if dry_run else "changed"
    if changed:
        out.print(f"lab {report.lab}: {len(changed)} device(s) {verb}: {', '.join(changed)}; "
                  f"{len(report.devices) - len(changed)} unchanged ({time.perf_counter() - t0:.1f} s)", markup=False)
    else:
        out.print(f"lab {report.lab}: no changes ({len(report.devices)} devices unchanged)", markup=False)
    if not report.ok:
        sys.exit(1)


@click.command("deploy")
@inventory_arg
@click.option("--lab", "lab_name", required=True, metavar="NAME", help=LAB_OPTION_HELP)
@click.option("--dry-run", is_flag=True, help="show each device's diff, change nothing")
@click.option("--diff/--no-diff", "show_diff", default=True, help="print each changed device's diff")
def deploy_cmd(inventory: Path, lab_name: str, dry_run: bool, show_diff: bool) -> None:
    """Push the built configs to the devices: today to a lab's routers (--lab NAME)."""
    deploy_lab(inventory, lab_name, dry_run, show_diff)


def _add_lab_option(command: click.Command) -> None:
    """Give an existing ``fabric deploy`` (the rollout engine's) the ``--lab NAME`` path:
    with it, the lab's routers are deployed through the frr driver; without it, the
    command runs as it is."""
    command.params.append(click.Option(["--lab", "lab_name"], metavar="NAME", default=None, help=LAB_OPTION_HELP))
    original = command.callback
    assert original is not None

    def callback(**kwargs: Any) -> Any:
        lab_name = kwargs.pop("lab_name", None)
        if lab_name:
            return deploy_lab(kwargs["inventory"], lab_name)
        return original(**kwargs)

    command.callback = callback


@click.command("validate")
@inventory_arg
@click.option("--lab", "lab_name", metavar="NAME", help="validate the running lab NAME (default: the switches)")
@click.option("--device", "devices", multiple=True, metavar="NAME", help="only this device (repeatable; switches)")
@click.option("--role", "roles", multiple=True, type=click.Choice(["spine", "leaf", "border"]),
              help="only devices of this role (repeatable; switches)")
@click.option("--no-host-key-check", "no_host_key_check", is_flag=True,
              help="do NOT check SSH host keys against the known_hosts file (deploy.known_hosts)")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.option("--failed", "only_failed", is_flag=True, help="list failed checks only")
def validate_cmd(inventory: Path, lab_name: str | None, devices: tuple[str, ...], roles: tuple[str, ...],
                 no_host_key_check: bool, as_json: bool, only_failed: bool) -> None:
    """Check the running fabric against its intent: sessions, VNIs and remote VTEPs, L3 VNIs
    and, in a lab, host pings, service routes with their ECMP width and agents. Without
    --lab the switches are read through their deploy drivers (the inventory's deploy
    section and credentials, as for `fabric deploy`). Exit 1 if a check fails."""
    from fabric.validate import validate_devices, validate_lab

    if lab_name is not None and (devices or roles):
        err.print("--device/--role select switches; they do not apply to --lab", markup=False)
        sys.exit(2)
    try:
        fab = _load(inventory)
        if lab_name is not None:
            report = validate_lab(fab, lab_name)
        else:
            report = validate_devices(fab, devices=devices, roles=roles, host_key_check=not no_host_key_check)
    except (FabricError, ValueError) as e:
        _fail(e)
        return
    counts = report.counts()
    if as_json:
        click.echo(json.dumps({"fabric": report.fabric, "lab": report.lab or None, "ok": report.ok, "counts": counts,
                               "notes": list(report.notes), "checks": [c.as_dict() for c in report.checks]}, indent=2))
    else:
        print_report(report, only_failed)
    if not report.ok:
        sys.exit(1)


def print_report(report: Report, only_failed: bool = False) -> None:
    """The validation table, the VRF note and the counts."""
    where = f"lab {report.lab}" if report.lab else "switches"
    table = Table(title=f"validate {report.fabric} ({where})", title_justify="left")
    for col in ("", "area", "device", "check", "expected", "seen"):
        table.add_column(col, overflow="fold")
    style = {"pass": "green", "fail": "bold red", "skipped": "yellow"}
    for c in report.checks:
        if only_failed and c.status != "fail":
            continue
        table.add_row(f"[{style[c.status]}]{c.status}[/]", c.area, c.device, c.item, c.expected, c.seen)
    out.print(table)
    for note in report.notes:
        out.print(f"note: {note}; VRF checks skipped", markup=False)
    counts = report.counts()
    out.print(f"{counts['pass']} passed, {counts['fail']} failed, {counts['skipped']} skipped", markup=False)


def register(main: click.Group) -> None:
    """Add ``lab``, ``deploy --lab`` and ``validate`` to ``main``. If ``main`` already has a
    ``deploy`` (the rollout engine), ``--lab`` is added to it instead of replacing it."""
    main.add_command(lab_group)
    existing = main.commands.get("deploy")
    if existing is None:
        main.add_command(deploy_cmd)
    else:
        _add_lab_option(existing)
    main.add_command(validate_cmd)
