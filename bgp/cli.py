"""``bgp-agent``: run, check-config, drain, undrain, status. With :mod:`bgp.entry`, the only
module that prints or exits (``status``/``drain``/``undrain`` against a running agent
normally take bgp.entry's fast path and reach this module only for ``--config`` or ``--help``).

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
from bgp.control import DEFAULT_STATE_DIR, UNDRAIN_TEXT, drain_text, request, status_json, status_text

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
    click.echo(drain_text(answer))


@main.command()
@state_dir_option
@config_option
def undrain(state_dir: str | None, config: str | None) -> None:
    """End a drain: announce normally again."""
    _call(_state_dir(state_dir, config), {"command": "undrain"})
    click.echo(UNDRAIN_TEXT)


@main.command()
@state_dir_option
@config_option
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
def status(state_dir: str | None, config: str | None, as_json: bool) -> None:
    """Print peers, prefixes and checks of the running agent."""
    answer = _call(_state_dir(state_dir, config), {"command": "status"})
    click.echo(status_json(answer) if as_json else status_text(answer, time.time()))


if __name__ == "__main__":
    main()
