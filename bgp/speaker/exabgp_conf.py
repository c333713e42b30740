"""The ExaBGP configuration file and environment the agent starts ExaBGP with. Pure.

Choices, and why:

- Neighbours get ``manual-eor true``: the agent sends end-of-RIB itself after it has
  re-announced, which is what makes an agent restart hitless with graceful restart.
- ``outgoing-ttl 1`` unless ``multihop`` is set: leaves are directly connected, and a
  session that comes up over several hops is a wiring mistake, not a feature.
- ``adj-rib-out true`` so that ExaBGP re-sends the announced set itself after a session
  flap, without the agent's help.
- The API process gets neighbour changes and the updates ExaBGP *sends* (parsed JSON): the
  sent withdrawals are how the agent knows, on SIGTERM, that the leaves have been told.
- ``reactor.speed`` 0.1 instead of 1.0: ExaBGP's loop handles at most 50 queued route
  changes per turn and, when no descriptor is ready, waits speed/100 s between turns. With
  the default that is 10 ms per 50 routes (10,000 routes take 2 s of waiting alone); 0.1
  makes it 1 ms: 10,000 prefixes reach the leaf's FIB in about half the time, for about
  2.5 % of one core while idle (measured). Below 0.1 the wait rounds down to 0 ms and
  ExaBGP spins a full core.
- ``log.reactor`` on: at ``log_level`` WARNING that is the reason a command raised, which
  the agent records with the refused command (:mod:`bgp.speaker.process`).
- Environment: no daemonising, no privilege drop (the relay must reach the agent's socket
  and ExaBGP must read nothing else), no CLI named pipe, no listening socket unless a peer
  is passive, ``api.terminate`` so ExaBGP exits when the relay (hence the agent) is gone.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path

from bgp.config import AgentConfig, PeerConfig
from bgp.configfile import problem
from bgp.fileio import write_atomic

PROCESS_NAME = "bgp-agent"

_PASSWORD = re.compile(r"[A-Za-z0-9!#$%&()*+,./:<=>?@\[\]^_`|~-]{1,80}")
_PATH = re.compile(r"[A-Za-z0-9_./@+-]+")


def read_password(peer: PeerConfig, index: int = 0) -> str | None:
    """The TCP MD5 password of ``peer`` (first line of its file), or None.

    Only printable characters that need no quoting in ExaBGP's config are accepted, so the
    password cannot end a statement or open a block."""
    if peer.password_file is None:
        return None
    where = f"peers[{index}].password_file"
    try:
        lines = peer.password_file.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise problem(where, f"cannot read {peer.password_file}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise problem(where, f"{peer.password_file} is not UTF-8 text") from None
    password = lines[0].strip() if lines else ""
    if not _PASSWORD.fullmatch(password):
        raise problem(
            where, "the password must be 1..80 printable characters without spaces, quotes, ';', '{', '}' or '\\'"
        )
    return password


CONF_FILE = "exabgp.conf"
API_SOCKET = "exabgp-api.sock"


def write(config: AgentConfig, state_dir: Path) -> tuple[Path, Path]:
    """Render exabgp.conf into ``state_dir`` (mode 0600: it may hold MD5 passwords, read
    here); returns its path and the API socket path the relay connects to."""
    passwords = {str(p.address): read_password(p, i) for i, p in enumerate(config.peers)}
    conf, api = state_dir / CONF_FILE, state_dir / API_SOCKET
    write_atomic(conf, render(config, relay_argv(api), passwords), 0o600)
    return conf, api


def relay_argv(socket_path: Path, python: str | None = None) -> list[str]:
    """The command ExaBGP runs as its API process: the relay to the agent's socket."""
    return [python or sys.executable, "-m", "bgp.speaker.relay", str(socket_path)]


def _argv_text(argv: Sequence[str]) -> str:
    for part in argv:
        if not _PATH.fullmatch(part):
            raise problem("state_dir", f"path {part!r} must consist of letters, digits and _ . / @ + - only")
    return " ".join(argv)


def render(config: AgentConfig, api_argv: Sequence[str], passwords: dict[str, str | None] | None = None) -> str:
    """The text of exabgp.conf for ``config``; ``passwords`` maps peer address to password
    (from :func:`read_password`; read by the caller so this stays pure)."""
    passwords = passwords or {}
    lines = [
        f"process {PROCESS_NAME} {{",
        f"  run {_argv_text(api_argv)};",
        "  encoder json;",
        "}",
        "",
    ]
    for peer in config.peers:
        lines.append(f"neighbor {peer.address} {{")
        if peer.name:
            lines.append(f"  description {peer.name};")
        lines.append(f"  router-id {config.router_id};")
        lines.append(f"  local-as {config.asn};")
        lines.append(f"  peer-as {peer.asn};")
        lines.append(f"  local-address {peer.local_address if peer.local_address is not None else 'auto'};")
        lines.append(f"  hold-time {peer.hold_time};")
        lines.append(f"  passive {'true' if peer.passive else 'false'};")
        lines.append(f"  outgoing-ttl {peer.multihop if peer.multihop is not None else 1};")
        lines.append("  manual-eor true;")
        lines.append("  adj-rib-out true;")
        lines.append("  group-updates true;")
        password = passwords.get(str(peer.address))
        if password is not None:
            lines.append(f'  md5-password "{password}";')
        lines.append("  family {")
        lines.extend(f"    {fam} unicast;" for fam in peer.families)
        lines.append("  }")
        lines.append("  capability {")
        if config.graceful_restart.enabled:
            lines.append(f"    graceful-restart {config.graceful_restart.restart_time};")
        lines.append("    route-refresh;")
        lines.append("  }")
        lines.append("  api {")
        lines.append(f"    processes [ {PROCESS_NAME} ];")
        lines.append("    neighbor-changes;")
        if config.exabgp.track_sent:
            lines.append("    send { parsed; update; }")
        lines.append("  }")
        lines.append("}")
        lines.append("")
    return "\n".join(lines)


def environment(config: AgentConfig) -> dict[str, str]:
    """``exabgp.*`` environment settings (see the module docstring); config ``exabgp.env``
    entries override them."""
    passive = [str(p.local_address) for p in config.peers if p.passive and p.local_address is not None]
    env = {
        "exabgp.daemon.daemonize": "false",
        "exabgp.daemon.drop": "false",
        "exabgp.daemon.user": "root",
        "exabgp.daemon.pid": "",
        "exabgp.log.destination": "stderr",
        "exabgp.log.level": config.exabgp.log_level,
        "exabgp.log.routes": "false",
        "exabgp.log.packets": "false",
        "exabgp.log.rib": "false",
        "exabgp.log.message": "false",
        "exabgp.log.network": "false",
        "exabgp.log.processes": "false",
        # the reactor logs why a command raised (e.g. an unresolvable "next-hop self"), at
        # ERROR: the only reason ExaBGP 5.0.15 gives for an `error` ack (its other refusals
        # are logged at level "ERR", which it never prints)
        "exabgp.log.reactor": "true",
        "exabgp.log.parser": "false",
        "exabgp.api.ack": "true",
        "exabgp.api.cli": "false",
        "exabgp.api.respawn": "false",
        "exabgp.api.terminate": "true",
        "exabgp.api.encoder": "json",
        "exabgp.api.compact": "true",
        "exabgp.tcp.bind": " ".join(passive),
        "exabgp.bgp.passive": "false",
        "exabgp.reactor.speed": "0.1",
    }
    env.update(config.exabgp.env)
    return env
