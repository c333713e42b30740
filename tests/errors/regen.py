"""Run the validation golden cases; ``python -m tests.errors.regen [CASE...]`` rewrites
their ``expected.txt`` from what the command prints now. Review the diff before committing.

A case folder holds files that replace the base files of the same name, the expected
lines, and optionally:

- ``command.txt``: the ``fabric`` command to run (default ``check``); ``inv`` (the
  inventory's folder) is appended unless the command names it;
- ``setup.txt``: one action a line for files git cannot hold or that must be made at run
  time: ``remove NAME``, ``mkdir NAME``, ``fifo NAME``, ``symlink NAME TARGET``,
  ``unreadable NAME`` (opening it raises PermissionError: as root, ``chmod 000`` does
  not stop a read, so the test makes ``open`` fail for that path instead), and
  ``ledger`` (run ``fabric plan`` on the base first, so the case edits a real ledger:
  ``ledger-edit.txt`` then holds ``OLD => NEW`` replacements, one a line).
"""

from __future__ import annotations

import builtins
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from fabric.cli import main as fabric_main

ROOT = Path(__file__).resolve().parent
SUMMARY = " problem(s); nothing was written"


def cases() -> list[str]:
    """Names of every case folder."""
    return sorted(p.name for p in ROOT.iterdir() if p.is_dir() and p.name not in ("base", "__pycache__"))


def snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every entry of ``folder``: file bytes, or what kind of thing it is."""
    out: dict[str, bytes | str] = {}
    for p in sorted(folder.iterdir()):
        if p.is_symlink():
            out[p.name] = f"symlink {os.readlink(p)}"
        elif p.is_dir():
            out[p.name] = "dir"
        elif p.is_file():
            out[p.name] = p.read_bytes()
        else:
            out[p.name] = "special"
    return out


@contextmanager
def _unreadable(paths: set[str]) -> Iterator[None]:
    real = builtins.open

    def fake(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, str | os.PathLike) and os.path.abspath(file) in paths:
            raise PermissionError(13, "Permission denied", str(file))
        return real(file, *args, **kwargs)

    builtins.open = fake
    try:
        yield
    finally:
        builtins.open = real


def prepare(name: str, workdir: Path) -> tuple[Path, list[str], set[str]]:
    """Lay out ``workdir/inv`` for the case; return it, the command, and unreadable paths."""
    inv = workdir / "inv"
    shutil.copytree(ROOT / "base", inv)
    case = ROOT / name
    setup = (case / "setup.txt").read_text().splitlines() if (case / "setup.txt").exists() else []
    if "ledger" in setup:
        r = CliRunner().invoke(fabric_main, ["plan", str(inv)])
        assert r.exit_code == 0, r.output
        ledger = inv / "allocations.yaml"
        text = ledger.read_text()
        edits = case / "ledger-edit.txt"
        for edit in edits.read_text().splitlines() if edits.exists() else []:
            if " => " in edit:
                old, new = edit.split(" => ", 1)
                assert old.replace("\\n", "\n") in text, f"{name}: {old!r} not in the ledger"
                text = text.replace(old.replace("\\n", "\n"), new.replace("\\n", "\n"), 1)
        ledger.write_text(text)
    for f in case.iterdir():
        if f.suffix in (".yaml", ".yml") and f.is_file():
            shutil.copy(f, inv / f.name)
    unreadable: set[str] = set()
    for line in setup:
        parts = line.split()
        if not parts or parts[0] == "ledger":
            continue
        target = inv / parts[1]
        if parts[0] == "remove":
            target.unlink()
        elif parts[0] == "mkdir":
            target.mkdir()
        elif parts[0] == "fifo":
            os.mkfifo(target)
        elif parts[0] == "symlink":
            target.symlink_to(parts[2])
        elif parts[0] == "unreadable":
            target.write_text("fabric: {name: x}\n")
            unreadable.add(os.path.abspath(target))
        else:
            raise ValueError(f"{name}/setup.txt: unknown action {line!r}")
    cmd = (case / "command.txt").read_text().split() if (case / "command.txt").exists() else ["check"]
    if not any(arg == "inv" or arg.startswith("inv/") for arg in cmd):
        cmd.append("inv")
    return inv, cmd, unreadable


def run_case(name: str, workdir: Path) -> str:
    """Copy base + the case's files to ``workdir/inv``, run the command there, return the
    problem lines it printed. Checks on the way: exit status 2, the summary line last,
    nothing written."""
    inv, cmd, unreadable = prepare(name, workdir)
    before = snapshot(inv)
    old = Path.cwd()
    os.chdir(workdir)
    try:
        with _unreadable(unreadable):
            r = CliRunner().invoke(fabric_main, cmd)
    finally:
        os.chdir(old)
    if r.exit_code == 0:
        return "NO ERROR\n"
    assert r.exception is None or isinstance(r.exception, SystemExit), f"{name}: {r.exception!r}"
    assert r.exit_code == 2, f"{name}: exit {r.exit_code}: {r.output}"
    assert snapshot(inv) == before, f"{name}: the failing command changed the inventory folder"
    lines = r.stderr.splitlines()
    if lines and lines[-1].endswith(SUMMARY):
        assert int(lines[-1].split()[0]) == len(lines) - 1, f"{name}: summary count"
        lines = lines[:-1]
    return "".join(f"{line}\n" for line in lines)


def main(argv: list[str]) -> None:
    for name in argv or cases():
        with tempfile.TemporaryDirectory() as tmp:
            text = run_case(name, Path(tmp))
        (ROOT / name / "expected.txt").write_text(text)
        sys.stdout.write(f"== {name}\n{text}")


if __name__ == "__main__":
    main(sys.argv[1:])
