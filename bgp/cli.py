"""``bgp-agent``: run, check-config, drain, undrain, status. The only module that prints or exits.

Exit codes: 0 success, 1 runtime failure (no agent to talk to, ExaBGP did not start),
2 invalid configuration or usage (the problems are printed, never a traceback).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import click

from bgp.config import AgentConfig, load_config
from bgp.configfile import ConfigError
from bgp.control import request

DEFAULT_STATE_DIR = Path("/run/bgp-agent")

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg and every ``extra`` field."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                out[key] = value if isinstance(value, str | int | float | bool | type(None)) else str(value)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message key=value ...`` for humans; same fields as JSON."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(
            f"{k}={v}" for k, v in record.__dict__.items() if k not in _RESERVED and not k.startswith("_")
        )
        text = super().format(record)
        return f"{text} {extras}" if extras else text


def setup_logging(level: str, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def _load_or_exit(path: str) -> AgentConfig:
    try:
        return load_config(path)
    except ConfigError as e:
        for line in e.lines():
            click.echo(line, err=True)
        sys.exit(2)


def _state_dir(state_dir: str | None, config: str | None) -> Path:
    if state_dir:
        return Path(state_dir)
    if config:
        return _load_or_exit(config).state_dir
    return DEFAULT_STATE_DIR


def _call(state_dir: Path, payload: dict[str, Any]) -> dict[str, Any]:
    try:
        return request(state_dir, payload)
    except (OSError, ValueError) as e:
        click.echo(f"bgp-agent: no running agent at {state_dir}: {e}", err=True)
        sys.exit(1)


state_dir_option = click.option("--state-dir", type=click.Path(file_okay=False), help="state dir of the running agent")
config_option = click.option("--config", "-c", "config", help="agent.yaml (for its state_dir)")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="leafspine", prog_name="bgp-agent", message="%(prog)s %(version)s")
def main() -> None:
    """Announce healthy service addresses to the leaves through ExaBGP.

    \b
    Exit codes:
      0  success (run: a clean stop after withdrawing everything)
      1  runtime failure (no running agent to talk to, ExaBGP did not start,
         another agent holds the state dir)
      2  invalid configuration or usage: every problem printed as
         FILE:LINE: path: message, no traceback
    """


@main.command()
@click.option("--config", "-c", "config", required=True, help="agent.yaml")
def run(config: str) -> None:
    """Run the agent in the foreground until SIGTERM."""
    cfg = _load_or_exit(config)
    setup_logging(cfg.log.level, cfg.log.format)
    from bgp.agent import Agent
    from bgp.metrics import AgentMetrics, serve

    metrics = AgentMetrics()
    try:
        if cfg.metrics:
            serve(metrics, cfg.metrics)
        agent = Agent(cfg, metrics)
    except ConfigError as e:
        for line in e.in_file(config).lines():
            click.echo(line, err=True)
        sys.exit(2)
    except OSError as e:
        click.echo(f"bgp-agent: {e}", err=True)
        sys.exit(1)
    try:
        code = asyncio.run(agent.run())
    except ConfigError as e:
        for line in e.in_file(config).lines():
            click.echo(line, err=True)
        sys.exit(2)
    sys.exit(code)


@main.command("check-config")
@click.option("--config", "-c", "config", required=True, help="agent.yaml")
def check_config(config: str) -> None:
    """Validate a config file; print every problem."""
    cfg = _load_or_exit(config)
    click.echo(
        f"{config}: ok ({len(cfg.peers)} peers, {len(cfg.services)} static services, {len(cfg.checks)} checks)"
    )


@main.command()
@state_dir_option
@config_option
@click.option("--delay", type=float, default=None, help="seconds before withdrawing (default: drain.delay)")
def drain(state_dir: str | None, config: str | None, delay: float | None) -> None:
    """Announce with GRACEFUL_SHUTDOWN (65535:0), then withdraw after the delay."""
    answer = _call(_state_dir(state_dir, config), {"command": "drain", "delay": delay})
    click.echo(f"draining {answer.get('prefixes', 0)} prefixes; withdrawal in {answer.get('delay')} s")


@main.command()
@state_dir_option
@config_option
def undrain(state_dir: str | None, config: str | None) -> None:
    """End a drain: announce normally again."""
    _call(_state_dir(state_dir, config), {"command": "undrain"})
    click.echo("undrained")


@main.command()
@state_dir_option
@config_option
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
def status(state_dir: str | None, config: str | None, as_json: bool) -> None:
    """Print peers, prefixes and checks of the running agent."""
    answer = _call(_state_dir(state_dir, config), {"command": "status"})
    if as_json:
        click.echo(json.dumps(answer, indent=2, sort_keys=True))
        return
    now = time.time()
    flags = []
    if answer.get("draining"):
        flags.append("DRAINING" + (" (withdrawn)" if answer.get("drain_withdrawn") else ""))
    if not answer.get("eor_sent"):
        flags.append("end-of-RIB not sent yet")
    click.echo(f"bgp-agent: {answer.get('announced', 0)} announced, exabgp pid {answer.get('exabgp_pid')}"
               + (f" [{', '.join(flags)}]" if flags else ""))
    click.echo("\nPEER                 ADDRESS                                  STATE        SINCE")
    for p in answer.get("peers", []):
        since = f"{now - p['since']:.0f}s" if p.get("since") else "-"
        click.echo(f"{p['name']:<20} {p['address']:<40} {p['state']:<12} {since}")
    click.echo("\nPREFIX                                     STATE                SERVICE / REASON")
    for x in answer.get("prefixes", []):
        why = x["service"] + (f" ({x['reason']})" if x.get("reason") else "")
        click.echo(f"{x['prefix']:<42} {x['state']:<20} {why}")
    checks = answer.get("checks", {})
    if checks:
        click.echo("\nCHECK                STATUS")
        for name, st in sorted(checks.items()):
            click.echo(f"{name:<20} {st['status']}")
    for s in answer.get("sources", []):
        if s.get("stale") or s.get("last_error"):
            click.echo(f"\nsource {s['name']}: stale={s['stale']} errors={s['sync_errors']} last error: {s['last_error']}")
        rejected = s.get("detail", {}).get("rejected")
        if rejected:
            click.echo(f"\nsource {s['name']} refused: {rejected}")
    for key, reason in sorted(answer.get("refused_services", {}).items()):
        click.echo(f"refused service {key!r}: {reason}")


if __name__ == "__main__":
    main()
