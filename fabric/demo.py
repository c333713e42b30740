"""``python -m fabric.demo`` (what ``make demo`` runs): the main job on the example fabrics.

For each example inventory: check it, confirm its ledger is up to date (a dry plan: the
ledger is reviewed and committed, the demo never rewrites it), build it into
``build/<name>``, and print a short summary. Exit status 0 when every step passed, 1
otherwise (the failing step is printed), 2 for a broken inventory or ledger.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

import fabric
from fabric.errors import FabricError, InventoryError, LedgerError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ("shownet2024", "shownet2024-dci", "lab")


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
    return status


if __name__ == "__main__":
    sys.exit(main())
