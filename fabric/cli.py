"""The ``fabric`` command line: the only place that prints or exits.

Exit status: 0 success; 1 ``plan --frozen`` found changes (or a check failed at run
time, or a device cannot be rendered); 2 bad input (inventory, ledger, or an inventory
the design cannot build) - with every problem listed, nothing written.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from fabric.api import Fabric, load
from fabric.cli_lab import register as register_live_commands
from fabric.errors import DesignError, FabricError, InventoryError, LedgerError

F = TypeVar("F", bound=Callable[..., Any])

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _fail_on_input(fn: F) -> F:
    """Turn the library's input errors into exit status 2 with no traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InventoryError as e:
            for p in e.problems:
                err.print(str(p), markup=False)
            err.print(f"{len(e.problems)} problem(s); nothing was written", markup=False)
            sys.exit(2)
        except LedgerError as e:
            err.print(f"ledger: {e}", markup=False)
            sys.exit(2)
        except DesignError as e:
            err.print(f"design: {e}", markup=False)
            sys.exit(2)
        except FabricError as e:
            err.print(f"error: {e}", markup=False)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="leafspine")
def main() -> None:
    """Build, deploy and check EVPN/VXLAN leaf/spine fabrics from a YAML inventory."""


inventory_arg = click.argument("inventory", type=click.Path(path_type=Path))


@main.command()
@inventory_arg
@_fail_on_input
def check(inventory: Path) -> None:
    """Validate INVENTORY: schema and cross-checks, every problem at once."""
    fab = load(inventory)
    inv = fab.inventory
    out.print(
        f"{inventory}: ok - fabric {inv.fabric.name}: {len(inv.spines)} spines, {len(inv.leaves)} leaves, "
        f"{len(inv.networks())} networks, {len(inv.vrfs())} VRFs, {len(inv.kubernetes.clusters)} clusters",
        markup=False,
    )


@main.command()
@inventory_arg
@click.option("--prune", is_flag=True, help="free the values of objects no longer in the inventory")
@click.option("--frozen", is_flag=True, help="write nothing; exit 1 if anything would change (for CI)")
@click.option("--dry-run", is_flag=True, help="show the plan, write nothing")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
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


@main.command()
@inventory_arg
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="build directory (configs/, intent/, docs/, cabling.csv, topology.svg, <fabric>.clab.yml)")
@_fail_on_input
def build(inventory: Path, out_dir: Path) -> None:
    """Check INVENTORY, design and render every device, write the build directory.

    The ledger must be up to date (run `fabric plan` first); nothing is written when
    the inventory is invalid or a device cannot be rendered. Only changed files are
    rewritten; files of devices no longer in the fabric are removed."""
    fab = load(inventory)
    result = fab.build(out_dir)
    for device, why in result.skipped.items():
        err.print(f"warning: {device}: not rendered ({why})", markup=False)
    if result.exports != "written":
        err.print(f"warning: exports {result.exports}", markup=False)
    per_platform = ", ".join(f"{n} {p}" for p, n in sorted(result.platforms.items())) or "none rendered"
    secs = sum(result.seconds.values())
    out.print(
        f"{fab.name}: {result.devices} devices ({per_platform}), {result.files} config files, "
        f"{result.lines} lines -> {out_dir}: {len(result.written)} written, {result.unchanged} unchanged, "
        f"{len(result.removed)} removed ({secs:.2f} s)",
        markup=False,
    )


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
