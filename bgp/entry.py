"""The ``bgp-agent`` command. ``status``, ``drain`` and ``undrain`` against a running agent
take a fast path that imports only the standard library and :mod:`bgp.control` (the
operator's command returns in tens of milliseconds; click, pydantic and asyncio together
cost several hundred). Anything else (``run``, ``check-config``, ``--config``, ``--help``,
a mistyped option) goes to the full CLI, :mod:`bgp.cli`, which prints the usual usage and
errors. Both paths print the same texts (:mod:`bgp.control`) and exit with the same codes:
0 done, 1 no agent to talk to, 2 usage (the full CLI's).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bgp import control


@dataclass(frozen=True)
class FastCommand:
    """A control command the fast path can run: its name and options."""

    name: str
    state_dir: Path = control.DEFAULT_STATE_DIR
    as_json: bool = False
    delay: float | None = None


_FLAGS = {"status": {"--json"}, "drain": set(), "undrain": set()}
_VALUES = {"status": {"--state-dir"}, "drain": {"--state-dir", "--delay"}, "undrain": {"--state-dir"}}


def parse_fast(args: list[str]) -> FastCommand | None:
    """The command if ``args`` is one the fast path runs exactly like the full CLI would,
    else None (the full CLI then parses it)."""
    if not args or args[0] not in _FLAGS:
        return None
    name, rest = args[0], args[1:]
    values: dict[str, str] = {}
    flags: set[str] = set()
    i = 0
    while i < len(rest):
        arg = rest[i]
        key, eq, value = arg.partition("=")
        if key in _VALUES[name] and key not in values:
            if not eq:
                if i + 1 >= len(rest):
                    return None
                i += 1
                value = rest[i]
            values[key] = value
        elif arg in _FLAGS[name]:
            flags.add(arg)
        else:
            return None  # --config, --help, an unknown option: the full CLI decides
        i += 1
    delay: float | None = None
    if "--delay" in values:
        try:
            delay = float(values["--delay"])
        except ValueError:
            return None
    state_dir = Path(values["--state-dir"]) if values.get("--state-dir") else control.DEFAULT_STATE_DIR
    return FastCommand(name, state_dir, "--json" in flags, delay)


def run_fast(cmd: FastCommand) -> int:
    """Run ``cmd`` against the agent, print what the full CLI prints; the exit code."""
    payload: dict[str, object] = {"command": cmd.name}
    if cmd.name == "drain":
        payload["delay"] = cmd.delay
    try:
        answer = control.request(cmd.state_dir, payload)
    except (OSError, ValueError) as e:
        print(f"bgp-agent: no running agent at {cmd.state_dir}: {e}", file=sys.stderr)
        return 1
    if cmd.name == "status":
        print(control.status_json(answer) if cmd.as_json else control.status_text(answer, time.time()))
    elif cmd.name == "drain":
        print(control.drain_text(answer))
    else:
        print(control.UNDRAIN_TEXT)
    return 0


def main() -> None:
    """Console entry point of ``bgp-agent``."""
    cmd = parse_fast(sys.argv[1:])
    if cmd is not None:
        sys.exit(run_fast(cmd))
    from bgp.cli import main as full_cli

    full_cli()
