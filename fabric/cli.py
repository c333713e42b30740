"""The ``fabric`` command line: the only place that prints or exits.

Exit status: 0 success; 1 ``plan --frozen`` found changes (or a check failed at run
time, or a device cannot be rendered); 2 bad input (inventory, ledger, or an inventory
the design cannot build) - with every problem listed, nothing written.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from fabric.api import Fabric, load
from fabric.cli_lab import register as register_live_commands
from fabric.errors import DesignError, FabricError, InventoryError, LedgerError, Problem

F = TypeVar("F", bound=Callable[..., Any])

out = Console(highlight=False, soft_wrap=True, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


EXIT_CODES = """\b
Exit status:
  0  success (check: valid; plan: planned or up to date; build: built)
  1  a run-time failure: plan --frozen found allocations.yaml not up to
     date, a device cannot be rendered, a deploy or validation failed
  2  bad input: the inventory, allocations.yaml or the design; every
     problem is listed as FILE:LINE: path: message, nothing is written"""


def _fail(as_json: bool, code: int, kind: str, problems: list[Problem], text: str) -> None:
    if as_json:
        click.echo(json.dumps({"ok": False, "error": kind, "problems": [asdict(p) for p in problems],
                               "message": text}, indent=2))
    sys.exit(code)


def _fail_on_input(fn: F) -> F:
    """Turn the library's input errors into exit status 2 with no traceback; with
    ``--json`` the problems are also a JSON document on stdout."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        as_json = bool(kwargs.get("as_json"))
        try:
            return fn(*args, **kwargs)
        except InventoryError as e:
            for p in e.problems:
                err.print(str(p), markup=False)
            summary = f"{len(e.problems)} problem(s); nothing was written"
            err.print(summary, markup=False)
            _fail(as_json, 2, "input", e.problems, summary)
        except (LedgerError, DesignError) as e:
            # not located by the library (it locates what it can): at the inventory folder
            kind = "ledger" if isinstance(e, LedgerError) else "design"
            problem = Problem(str(kwargs.get("inventory") or "<inventory>"), 0, "", f"{kind}: {e}")
            err.print(str(problem), markup=False)
            _fail(as_json, 2, kind, [problem], str(e))
        except FabricError as e:
            err.print(f"error: {e}", markup=False)
            _fail(as_json, 1, "error", [], str(e))

    return wrapper  # type: ignore[return-value]


def _warn(fab: Fabric) -> None:
    for p in fab.advisories():
        err.print(f"warning: {p}", markup=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES)
@click.version_option(package_name="leafspine")
def main() -> None:
    """Build, deploy and check EVPN/VXLAN leaf/spine fabrics from a YAML inventory.

    INVENTORY is always a folder: every *.yaml file in it is read (allocations.yaml,
    the ledger `fabric plan` writes, is read as the ledger). docs/inventory.md lists
    every key; `fabric schema` prints a JSON Schema for editors."""


inventory_arg = click.argument("inventory", type=click.Path(path_type=Path))


json_opt = click.option("--json", "as_json", is_flag=True,
                        help="machine-readable output on stdout (problems too, as {ok: false, problems: [...]})")


@main.command(epilog=EXIT_CODES)
@inventory_arg
@json_opt
@_fail_on_input
def check(inventory: Path, as_json: bool) -> None:
    """Validate INVENTORY and its ledger, every problem at once; writes nothing.

    Checks the YAML files (schema and cross-checks) and allocations.yaml against them:
    its shape, every value in its pool, no value held twice, no pinned value held by
    another object. A ledger that merely lacks entries is valid (`fabric plan` adds
    them; `fabric plan --frozen` fails on it in CI)."""
    fab = load(inventory)
    p = fab.plan()
    inv = fab.inventory
    _warn(fab)
    pending = sum(1 for c in p.changes if c.action in ("added", "changed", "freed"))
    ledger = "up to date" if not p.changed else f"{pending} change(s) pending, run `fabric plan`"
    if not fab.ledger_path.exists():
        ledger = "none yet, run `fabric plan`"
    if as_json:
        doc = {
            "ok": True, "fabric": inv.fabric.name, "spines": len(inv.spines), "leaves": len(inv.leaves),
            "networks": len(inv.networks()), "vrfs": len(inv.vrfs()), "clusters": len(inv.kubernetes.clusters),
            "ledger": str(fab.ledger_path), "ledger_up_to_date": not p.changed, "problems": [],
        }
        click.echo(json.dumps(doc, indent=2))
        return
    out.print(
        f"{inventory}: ok - fabric {inv.fabric.name}: {len(inv.spines)} spines, {len(inv.leaves)} leaves, "
        f"{len(inv.networks())} networks, {len(inv.vrfs())} VRFs, {len(inv.kubernetes.clusters)} clusters; "
        f"ledger {ledger}",
        markup=False,
    )


@main.command(epilog=EXIT_CODES)
@inventory_arg
@click.option("--prune", is_flag=True, help="free the values of objects no longer in the inventory")
@click.option("--frozen", is_flag=True, help="write nothing; exit 1 if anything would change (for CI)")
@click.option("--dry-run", is_flag=True, help="show the plan, write nothing")
@json_opt
@click.option("--all", "show_all", is_flag=True, help="list kept entries too")
@_fail_on_input
def plan(inventory: Path, prune: bool, frozen: bool, dry_run: bool, as_json: bool, show_all: bool) -> None:
    """Allocate resources and update allocations.yaml (added / kept / changed / stale / freed)."""
    fab = load(inventory)
    p = fab.plan(prune=prune)
    wrote = False
    if not frozen and not dry_run:
        wrote = fab.write_plan(p)
    if as_json:
        doc = {
            "fabric": fab.name,
            "ledger": str(fab.ledger_path),
            "changed": p.changed,
            "written": wrote,
            "counts": p.counts(),
            "changes": [c.as_dict() for c in p.changes if show_all or c.action != "kept"],
        }
        click.echo(json.dumps(doc, indent=2, sort_keys=False))
    else:
        _print_plan(fab, p, show_all, wrote)
    if frozen and p.changed:
        err.print("allocations.yaml is not up to date: run `fabric plan` and commit it", markup=False)
        sys.exit(1)


@main.command(epilog=EXIT_CODES)
@inventory_arg
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="build directory (configs/, intent/, agents/, docs/, cabling.csv, topology.svg, <fabric>.clab.yml)")
@click.option("--no-cache", "no_cache", is_flag=True,
              help="render and compare every device and run the exports, whatever the last build recorded")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, metavar="N",
              help="render the devices in up to N processes (this one and forked workers; default: one per "
                   "CPU this process may use, at most 8), at most one per 8 devices to render; one process on "
                   "anything but Linux or when other threads run. --jobs 1: one process. The files written "
                   "are the same.")
@json_opt
@_fail_on_input
def build(inventory: Path, out_dir: Path, no_cache: bool, jobs: int | None, as_json: bool) -> None:
    """Check INVENTORY, design and render every device, write the build directory.

    The ledger must be up to date (run `fabric plan` first); nothing is written when
    the inventory is invalid or a device cannot be rendered. Only changed files are
    rewritten; files of devices no longer in the fabric are removed. A device whose
    render input and files are what the last build recorded (.fabric-build.json in the
    build directory) is not rendered again, nor are the exports when nothing they read
    changed; when neither the code, the inventory, the ledger nor the files changed,
    nothing is done."""
    fab = load(inventory)
    _warn(fab)
    result = fab.build(out_dir, cache=not no_cache, jobs=jobs)
    if as_json:
        doc = {
            "ok": True, "fabric": fab.name, "out_dir": str(out_dir), "devices": result.devices,
            "platforms": result.platforms, "files": result.files, "lines": result.lines,
            "written": [str(w) for w in result.written], "unchanged": result.unchanged,
            "cached": result.cached, "removed": [str(r) for r in result.removed], "skipped": result.skipped,
            "exports": result.exports, "workers": result.workers,
            "seconds": {k: round(v, 3) for k, v in result.seconds.items()},
        }
        click.echo(json.dumps(doc, indent=2))
        return
    for device, why in result.skipped.items():
        err.print(f"warning: {device}: not rendered ({why})", markup=False)
    if result.exports not in ("written", "unchanged"):
        err.print(f"warning: exports {result.exports}", markup=False)
    for path in result.kept:
        err.print(f"warning: {path}: node no longer in the fabric; kept for its user section (delete it when done)",
                  markup=False)
    per_platform = ", ".join(f"{n} {p}" for p, n in sorted(result.platforms.items())) or "none rendered"
    secs = sum(result.seconds.values())
    out.print(
        f"{fab.name}: {result.devices} devices ({per_platform}), {result.files} config files, "
        f"{result.lines} lines -> {out_dir}: {len(result.written)} written, {result.unchanged} unchanged, "
        f"{len(result.removed)} removed, {result.cached} devices not rendered again ({secs:.2f} s)",
        markup=False,
    )


@main.command()
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="write the schema to this file instead of stdout")
def schema(output: Path | None) -> None:
    """Print the JSON Schema of an inventory file (for editors: completion and checking).

    Put `# yaml-language-server: $schema=PATH` as the first line of each inventory file
    and the YAML language server (VS Code's YAML extension, yamlls) completes keys and
    flags unknown ones as you type. docs/inventory.schema.json is the same schema and
    docs/inventory.md the reference of every key."""
    from fabric.reference import schema_text

    if output is None:
        click.echo(schema_text(), nl=False)
    else:
        output.write_text(schema_text())
        err.print(f"wrote {output}", markup=False)


scope_options = [
    click.option("--device", "devices", multiple=True, metavar="NAME", help="only this device (repeatable)"),
    click.option("--role", "roles", multiple=True, type=click.Choice(["spine", "leaf", "border"]),
                 help="only devices of this role (repeatable)"),
]
connect_options = [
    click.option("--parallel", default=10, show_default=True, type=click.IntRange(min=1),
                 help="devices worked on at once (and the size of a rollout wave)"),
    click.option("--no-host-key-check", "no_host_key_check", is_flag=True,
                 help="do NOT check SSH host keys against the known_hosts file (deploy.known_hosts)"),
]


def _options(opts: list[Callable[[F], F]]) -> Callable[[F], F]:
    def deco(fn: F) -> F:
        for o in reversed(opts):
            fn = o(fn)
        return fn

    return deco


class _LiveProgress:
    """A live per-device table while a run works (stderr; plain lines when not a terminal)."""

    def __init__(self, devices: list[str], enabled: bool) -> None:
        import threading

        self.state: dict[str, tuple[str, str]] = {d: ("waiting", "") for d in devices}
        self.lock = threading.Lock()
        self.enabled = enabled
        self.live: Any = None

    def _table(self) -> Table:
        t = Table(title="deploy", title_justify="left")
        for col in ("device", "step", "detail"):
            t.add_column(col)
        with self.lock:
            for d, (step, detail) in self.state.items():
                t.add_row(d, step, detail[:100])
        return t

    def __call__(self, device: str, step: str, detail: str) -> None:
        with self.lock:
            self.state[device] = (step, detail)
        if not self.enabled:
            return
        if self.live is not None:
            self.live.update(self._table())
        else:
            err.print(f"{device}: {step}" + (f" ({detail})" if detail else ""), markup=False)

    def __enter__(self) -> _LiveProgress:
        if self.enabled and err.is_terminal:
            from rich.live import Live

            self.live = Live(self._table(), console=err, refresh_per_second=4, transient=True)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)


def _print_report(report: Any) -> None:
    table = Table(title=f"{report.action} {report.fabric}: {report.status} ({report.seconds:.1f} s)", title_justify="left")
    for col in ("device", "driver", "wave", "status", "why"):
        table.add_column(col)
    for r in report.devices.values():
        table.add_row(r.device, r.driver, str(r.wave or "-"), r.status, r.cause or "")
    out.print(table)
    if report.cause:
        out.print(f"cause: {report.cause}", markup=False)


def _exit_for(report: Any) -> None:
    if not report.ok:
        sys.exit(1)


@main.command()
@inventory_arg
@_options(scope_options)
@_options(connect_options)
@click.option("--force", is_flag=True, help="read devices already onboarded again (overwrites their pristine file)")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@_fail_on_input
def onboard(inventory: Path, devices: tuple[str, ...], roles: tuple[str, ...], parallel: int, no_host_key_check: bool,
            force: bool, as_json: bool) -> None:
    """Read each device's running config once and keep what the fabric does not own
    (management interface and VRF, AAA, users, SNMP, licences) as INVENTORY/pristine/<device>.<ext>.

    Review and commit those files like the ledger: every deploy pushes pristine + rendered."""
    fab = load(inventory)
    rep = fab.onboard(devices=devices, roles=roles, force=force, parallel=parallel, host_key_check=not no_host_key_check)
    if as_json:
        click.echo(json.dumps({"fabric": rep.fabric, "devices": {n: vars(r) for n, r in rep.devices.items()}}, indent=2))
    else:
        for r in rep.devices.values():
            detail = f"{r.lines} lines -> {r.path}" if r.status == "written" else (r.cause or r.path)
            out.print(f"{r.device}: {r.status} ({detail})", markup=False)
    if not rep.ok:
        sys.exit(1)


@main.command()
@inventory_arg
@_options(scope_options)
@_options(connect_options)
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@_fail_on_input
def diff(inventory: Path, devices: tuple[str, ...], roles: tuple[str, ...], parallel: int, no_host_key_check: bool,
         as_json: bool) -> None:
    """Show each device's diff against pristine + rendered config; changes nothing."""
    fab = load(inventory)
    report = fab.diff(devices=devices, roles=roles, parallel=parallel, host_key_check=not no_host_key_check)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        for r in report.devices.values():
            if r.status == "failed":
                out.print(f"--- {r.device}: failed: {r.cause}", markup=False)
            elif r.diff.strip():
                out.print(f"--- {r.device} ({r.platform}, {r.driver})", markup=False)
                out.print(r.diff.rstrip("\n"), markup=False)
            else:
                out.print(f"--- {r.device}: no changes", markup=False)
    _exit_for(report)


@main.command()
@inventory_arg
@_options(scope_options)
@_options(connect_options)
@click.option("--canary", default=1, show_default=True, type=click.IntRange(min=0), help="devices in the first wave")
@click.option("--resume", is_flag=True, help="finish the run the journal says was interrupted")
@click.option("--journal", type=click.Path(path_type=Path, dir_okay=False),
              help="journal file (default INVENTORY/.deploy/journal.jsonl)")
@click.option("--revert-in", type=click.IntRange(min=1), help="commit-confirmed timer in seconds (platform default)")
@click.option("--postcheck-timeout", type=click.FloatRange(min=0), help="seconds for BGP sessions to come up")
@click.option("--json", "as_json", is_flag=True, help="machine-readable report")
@_fail_on_input
def deploy(inventory: Path, devices: tuple[str, ...], roles: tuple[str, ...], parallel: int, no_host_key_check: bool,
           canary: int, resume: bool, journal: Path | None, revert_in: int | None, postcheck_timeout: float | None,
           as_json: bool) -> None:
    """Check, build and roll INVENTORY out: diff every device, then a canary wave and the rest
    in waves (never both members of a redundant pair at once); per device commit confirmed,
    post-checks, confirm. Any failure rolls back every device this run changed.

    Exit status: 0 deployed or nothing to do, 1 rolled back or failed, 2 bad input."""
    fab = load(inventory)
    names = [sw.name for sw in fab.inventory.switches()]
    with _LiveProgress(names, enabled=not as_json) as progress:
        report = fab.deploy(devices=devices, roles=roles, canary=canary, parallel=parallel, resume=resume,
                            journal=journal, host_key_check=not no_host_key_check, revert_in=revert_in,
                            postcheck_timeout=postcheck_timeout, progress=progress)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print_report(report)
    _exit_for(report)


@main.command()
@inventory_arg
@click.option("--journal", type=click.Path(path_type=Path, dir_okay=False),
              help="journal file (default INVENTORY/.deploy/journal.jsonl)")
@_options(connect_options)
@click.option("--json", "as_json", is_flag=True, help="machine-readable report")
@_fail_on_input
def rollback(inventory: Path, journal: Path | None, parallel: int, no_host_key_check: bool, as_json: bool) -> None:
    """Undo the last deploy run (finished or interrupted): every device it committed to gets
    back the running config the journal recorded before the run."""
    fab = load(inventory)
    names = [sw.name for sw in fab.inventory.switches()]
    with _LiveProgress(names, enabled=not as_json) as progress:
        report = fab.rollback(journal=journal, parallel=parallel, host_key_check=not no_host_key_check, progress=progress)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print_report(report)
    _exit_for(report)


def _print_plan(fab: Fabric, p: Any, show_all: bool, wrote: bool) -> None:
    counts = p.counts()
    table = Table(title=f"allocations of {fab.name}", title_justify="left")
    for col in ("section", "added", "kept", "changed", "stale", "freed"):
        table.add_column(col, justify="left" if col == "section" else "right")
    for section, row in counts.items():
        table.add_row(section, *(str(row[a]) if row[a] else "-" for a in ("added", "kept", "changed", "stale", "freed")))
    out.print(table)
    detail = [c for c in p.changes if show_all or c.action != "kept"]
    limit = 200
    for c in detail[:limit]:
        if c.action == "added":
            line = f"  + {c.section} {c.key} = {c.new}"
        elif c.action == "changed":
            line = f"  ~ {c.section} {c.key}: {c.old} -> {c.new} (pinned)"
        elif c.action == "freed":
            line = f"  - {c.section} {c.key} = {c.old} (freed)"
        elif c.action == "stale":
            line = f"  ! {c.section} {c.key} = {c.old} (object removed; kept until --prune)"
        else:
            line = f"    {c.section} {c.key} = {c.new}"
        out.print(line, markup=False)
    if len(detail) > limit:
        out.print(f"  ... and {len(detail) - limit} more (use --json)", markup=False)
    if not p.changed:
        out.print(f"{fab.ledger_path}: up to date", markup=False)
    elif wrote:
        out.print(f"{fab.ledger_path}: written", markup=False)
    else:
        out.print(f"{fab.ledger_path}: not written", markup=False)


register_live_commands(main)

if __name__ == "__main__":  # pragma: no cover
    main()
