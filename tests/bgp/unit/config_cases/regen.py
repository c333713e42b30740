"""Rewrite the expected lines of the agent config golden cases from what the loader prints
now: ``.venv/bin/python tests/bgp/unit/config_cases/regen.py [CASE...]``. Review the diff before
committing (the cases are meant to be written by hand)."""

from __future__ import annotations

import sys
from pathlib import Path

from bgp.config import load_config
from bgp.configfile import ConfigError

ROOT = Path(__file__).resolve().parent


def outcome(path: Path) -> str:
    """``OK`` or every problem line, as ``bgp-agent check-config`` prints them (file shown as agent.yaml)."""
    try:
        load_config(path, "agent.yaml")
    except ConfigError as e:
        return "\n".join(e.lines())
    return "OK"


def main(argv: list[str]) -> None:
    for name in argv or sorted(p.stem for p in ROOT.glob("*.yaml")):
        text = outcome(ROOT / f"{name}.yaml")
        (ROOT / f"{name}.errors").write_text(text + "\n")
        sys.stdout.write(f"== {name}\n{text}\n")


if __name__ == "__main__":
    main(sys.argv[1:])
