"""Run the validation golden cases; ``python -m tests.errors.regen [CASE...]`` rewrites
their ``expected.txt`` from what the loader prints now. Review the diff before committing."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from fabric.errors import InventoryError
from fabric.inventory import load_inventory

ROOT = Path(__file__).resolve().parent


def cases() -> list[str]:
    """Names of every case folder."""
    return sorted(p.name for p in ROOT.iterdir() if p.is_dir() and p.name != "base" and any(p.glob("*.yaml")))


def run_case(name: str, workdir: Path) -> str:
    """Copy base + the case's files to ``workdir/inv``, load it there, return the messages."""
    inv = workdir / "inv"
    shutil.copytree(ROOT / "base", inv)
    for f in (ROOT / name).glob("*.yaml"):
        shutil.copy(f, inv / f.name)
    old = Path.cwd()
    os.chdir(workdir)
    try:
        load_inventory("inv")
        return "NO ERROR\n"
    except InventoryError as e:
        return "".join(f"{p}\n" for p in e.problems)
    finally:
        os.chdir(old)


def main(argv: list[str]) -> None:
    for name in argv or cases():
        with tempfile.TemporaryDirectory() as tmp:
            text = run_case(name, Path(tmp))
        (ROOT / name / "expected.txt").write_text(text)
        sys.stdout.write(f"== {name}\n{text}")


if __name__ == "__main__":
    main(sys.argv[1:])
