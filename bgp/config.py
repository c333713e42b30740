"""The agent's configuration file (``agent.yaml``): typed models, loading and validation.

``load_config(path)`` returns an :class:`AgentConfig` or raises :class:`ConfigError`
listing *every* problem (field errors and the cross-checks of :func:`cross_problems`), one
line each, ``agent.yaml:6: peers[1].address: msg``; reading and locating is
:mod:`bgp.configfile`. Every string that can end up in text written to ExaBGP is checked
for control characters there, and again by the guard rails (:mod:`bgp.guard`) just before
it is written.
The format is documented in docs/bgp-agent.md.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bgp import configfile
from bgp.community import parse_community, parse_large_community
from bgp.configfile import ConfigError, LineMap, Loc, Problem
from bgp.health import HealthCheck
from bgp.sources.kubernetes import KubernetesSourceConfig

IPNet = IPv4Network | IPv6Network

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m)?")

def check_name(value: str) -> str:
    """A name used as an identifier (service, check, peer): letters, digits, ``_.-``."""
    if not _NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid name (letters, digits, '_', '.', '-'; at most 63)")
    return value


def parse_duration(value: object) -> float:
    """Seconds from a number or a string like ``500ms``, ``30s``, ``2m``."""
    if isinstance(value, bool):
        raise ValueError("must be a duration")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.fullmatch(value.strip())):
        seconds = float(m.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}[m.group(2)]
    else:
        raise ValueError(f"{value!r} is not a duration (a number of seconds, or e.g. 500ms, 30s, 2m)")
    if seconds < 0:
        raise ValueError("must not be negative")
    return seconds


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _parse_ip(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return ip_address(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an IPv4 or IPv6 address") from None
    return value


IPAddr = Annotated[IPv4Address | IPv6Address, BeforeValidator(_parse_ip)]


class PeerConfig(_Model):
    """One BGP neighbour (a leaf). ``families`` defaults to the family of ``address``;
    ``multihop`` is off (TTL 1, directly connected) unless a TTL is given."""

    address: IPAddr
    asn: int = Field(ge=1, le=4294967295)
    name: str | None = None
    local_address: IPAddr | None = None
    hold_time: int = Field(default=9, ge=3, le=65535)
    connect_retry: float = Field(default=1.0, gt=0, le=300)
    password_file: Path | None = None
    multihop: int | None = Field(default=None, ge=2, le=255)
    passive: bool = False
    families: tuple[Literal["ipv4", "ipv6"], ...] = ()

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        return None if v is None else check_name(v)

    @model_validator(mode="after")
    def _defaults(self) -> PeerConfig:
        if not self.families:
            object.__setattr__(self, "families", ("ipv4",) if self.address.version == 4 else ("ipv6",))
        if self.local_address is not None and self.local_address.version != self.address.version:
            raise ValueError("local_address must be of the same family as address")
        if self.passive and self.local_address is None:
            raise ValueError("a passive peer needs local_address (the address to listen on)")
        return self

    @property
    def label(self) -> str:
        """The name shown in status and metrics: ``name`` or the address."""
        return self.name or str(self.address)


class NextHop(_Model):
    """Next hop of announced routes: ``self`` (the session's local address) unless an explicit
    address per family is given."""

    ipv4: IPv4Address | Literal["self"] = "self"
    ipv6: IPv6Address | Literal["self"] = "self"


RESTART_TIME = 15
"""Default graceful-restart time (s): how long a leaf keeps a node's paths, unchecked, after
its session went down. It must cover an agent restart (session lost -> session back),
measured at 0.5-9 s (tests/bgp/e2e/test_bgp_e2e_restart.py, on a loaded 2-core machine),
and no more: when the node itself dies, its paths stay for hold time + this."""


class GracefulRestartConfig(_Model):
    """Graceful restart (RFC 4724) with a manual end-of-RIB: after a restart the agent
    re-announces what is healthy and only then sends end-of-RIB, so the leaves keep
    forwarding meanwhile. ``restart_time`` is the trade-off between a hitless restart and
    how long a dead node keeps its traffic (see :data:`RESTART_TIME`). ``eor_timeout``
    bounds the wait for checks and sources to settle."""

    enabled: bool = True
    restart_time: int = Field(default=RESTART_TIME, ge=1, le=4095)
    eor_timeout: float = Field(default=30.0, ge=0, le=3600)

    @field_validator("eor_timeout", mode="before")
    @classmethod
    def _dur(cls, v: object) -> float:
        return parse_duration(v)


Communities = Annotated[tuple[str, ...], AfterValidator(lambda v: tuple(parse_community(c) for c in v))]
"""Standard communities (``65000:100``), each checked by :func:`bgp.community.parse_community`."""
LargeCommunities = Annotated[tuple[str, ...], AfterValidator(lambda v: tuple(parse_large_community(c) for c in v))]
"""Large communities (``65000:1:2``), each checked by :func:`bgp.community.parse_large_community`."""


class Attributes(_Model):
    """Path attributes added to every announced route."""

    communities: Communities = ()
    large_communities: LargeCommunities = ()
    med: int | None = Field(default=None, ge=0, le=4294967295)


class GuardConfig(_Model):
    """What the agent may announce at all: prefixes inside ``allowed_ranges`` only, of the
    listed lengths (host routes by default), at most ``max_prefixes`` in total."""

    allowed_ranges: tuple[IPNet, ...] = Field(min_length=1)
    ipv4_lengths: tuple[int, ...] = (32,)
    ipv6_lengths: tuple[int, ...] = (128,)
    max_prefixes: int = Field(default=1000, ge=1, le=1_000_000)

    @field_validator("allowed_ranges", mode="before")
    @classmethod
    def _ranges(cls, v: Any) -> Any:
        if isinstance(v, list):
            out = []
            for item in v:
                try:
                    out.append(ip_network(item, strict=True) if isinstance(item, str) else item)
                except ValueError as e:
                    raise ValueError(f"{item!r}: {e}") from None
            return out
        return v

    def refusal(self, prefix: IPNet) -> str | None:
        """Why ``prefix`` may never be announced (length or range), or None."""
        lengths = self.ipv4_lengths if prefix.version == 4 else self.ipv6_lengths
        if prefix.prefixlen not in lengths:
            allowed = ", ".join(f"/{n}" for n in lengths)
            return f"prefix length /{prefix.prefixlen} not allowed (allowed: {allowed})"
        # integer arithmetic: ipaddress's subnet_of costs more than everything else in the
        # guard rails at 100,000 prefixes
        address = int(prefix.network_address)
        for allowed_range in self.allowed_ranges:
            if (
                allowed_range.version == prefix.version
                and prefix.prefixlen >= allowed_range.prefixlen
                and address & int(allowed_range.netmask) == int(allowed_range.network_address)
            ):
                return None
        return "outside the allowed ranges"

    @field_validator("ipv4_lengths")
    @classmethod
    def _v4(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or any(not 8 <= n <= 32 for n in v):
            raise ValueError("prefix lengths must be between 8 and 32")
        return v

    @field_validator("ipv6_lengths")
    @classmethod
    def _v6(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or any(not 16 <= n <= 128 for n in v):
            raise ValueError("prefix lengths must be between 16 and 128")
        return v


class DrainConfig(_Model):
    """Drain: re-announce with GRACEFUL_SHUTDOWN (65535:0), withdraw after ``delay``."""

    delay: float = 30.0

    @field_validator("delay", mode="before")
    @classmethod
    def _dur(cls, v: object) -> float:
        return parse_duration(v)


class ServiceConfig(_Model):
    """A static service: prefixes announced while ``check`` (if any) is healthy."""

    name: str
    prefixes: tuple[str, ...] = Field(min_length=1)
    check: str | None = None
    communities: Communities = ()
    large_communities: LargeCommunities = ()

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return check_name(v)

    @field_validator("prefixes")
    @classmethod
    def _prefixes(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        # Prefixes stay strings here so that "10.0.0.1" (a host) reads naturally; the
        # guard rails decide what is allowed. Only the syntax is checked.
        for p in v:
            try:
                parse_prefix(p)
            except ValueError as e:
                raise ValueError(f"{p!r}: {e}") from None
        return v

    def networks(self) -> frozenset[IPNet]:
        return frozenset(parse_prefix(p) for p in self.prefixes)


@functools.lru_cache(maxsize=1 << 18)
def parse_prefix(text: str) -> IPNet:
    """``ip_network(text, strict=True)``, remembered: a prefix is validated, then used, and
    a services file is read again whenever it changes; at 100,000 prefixes the parsing by
    ipaddress was the largest part of the agent's own work."""
    return ip_network(text, strict=True)


class DirectorySourceConfig(_Model):
    """A directory of ``*.yaml`` files, each a list of services (same form as ``services``),
    re-read when a file changes (polled every ``poll_interval``)."""

    path: Path
    poll_interval: float = Field(default=1.0, gt=0, le=3600)


class SourcesConfig(_Model):
    """Optional extra sources (the ``services`` list is always a source)."""

    directory: DirectorySourceConfig | None = None
    kubernetes: KubernetesSourceConfig | None = None


class ExaBGPConfig(_Model):
    """How ExaBGP runs. ``command`` empty means ``python -m exabgp`` from this interpreter;
    ``batch`` is the number of prefixes per ``announce attributes ... nlri`` command;
    ``track_sent`` has ExaBGP report the UPDATEs it sends, which is how a stop knows the
    withdrawals left (without it, stop waits a fixed second instead)."""

    command: tuple[str, ...] = ()
    batch: int = Field(default=500, ge=1, le=10000)
    log_level: Literal["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"] = "WARNING"
    env: dict[str, str] = Field(default_factory=dict)
    track_sent: bool = True


class LogConfig(_Model):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["json", "text"] = "json"


class AgentConfig(_Model):
    """The whole agent configuration; see docs/bgp-agent.md for every field."""

    asn: int = Field(ge=1, le=4294967295)
    router_id: IPv4Address
    peers: tuple[PeerConfig, ...] = Field(min_length=1)
    next_hop: NextHop = NextHop()
    graceful_restart: GracefulRestartConfig = GracefulRestartConfig()
    attributes: Attributes = Attributes()
    guard: GuardConfig
    drain: DrainConfig = DrainConfig()
    checks: dict[str, HealthCheck] = Field(default_factory=dict)
    services: tuple[ServiceConfig, ...] = ()
    sources: SourcesConfig = SourcesConfig()
    state_dir: Path = Path("/run/bgp-agent")
    metrics: str | None = "127.0.0.1:9179"
    exabgp: ExaBGPConfig = ExaBGPConfig()
    log: LogConfig = LogConfig()

    @field_validator("checks")
    @classmethod
    def _check_names(cls, v: dict[str, HealthCheck]) -> dict[str, HealthCheck]:
        for name in v:
            check_name(name)
        return v

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        host, sep, port = v.rpartition(":")
        if not sep or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{v!r} is not HOST:PORT")
        ip_address(host.strip("[]"))
        return v


@dataclass(frozen=True)
class _Parts:
    """What the cross-checks look at, each piece only if it validated on its own (so a
    broken piece is reported once, by its own field error, and causes no false cascade)."""

    peers: list[tuple[int, PeerConfig]]
    services: list[tuple[int, ServiceConfig]]
    check_names: frozenset[str] | None  # None: ``checks`` is not a mapping
    next_hop: NextHop | None
    guard: GuardConfig | None
    k8s_default_check: str | None

    @staticmethod
    def of_model(c: AgentConfig) -> _Parts:
        k8s = c.sources.kubernetes
        return _Parts(list(enumerate(c.peers)), list(enumerate(c.services)), frozenset(c.checks), c.next_hop, c.guard,
                      None if k8s is None else k8s.default_check)

    @staticmethod
    def of_data(data: Mapping[str, Any]) -> _Parts:
        def each(key: str, model: type[_M]) -> list[tuple[int, _M]]:
            items = data.get(key)
            checked = [(i, _valid(model, raw)) for i, raw in enumerate(items)] if isinstance(items, list) else []
            return [(i, v) for i, v in checked if v is not None]

        checks = data.get("checks", {})
        sources = data.get("sources")
        k8s = sources.get("kubernetes") if isinstance(sources, Mapping) else None
        default_check = k8s.get("default_check") if isinstance(k8s, Mapping) else None
        return _Parts(
            each("peers", PeerConfig),
            each("services", ServiceConfig),
            frozenset(str(k) for k in checks) if isinstance(checks, Mapping) else None,
            _valid(NextHop, data.get("next_hop", {})),
            _valid(GuardConfig, data.get("guard")),
            default_check if isinstance(default_check, str) else None,
        )


_M = TypeVar("_M", bound=BaseModel)


def _valid(model: type[_M], value: Any) -> _M | None:
    try:
        return model.model_validate(value)
    except ValidationError:
        return None


def cross_problems(parts: _Parts) -> list[tuple[Loc, str]]:
    """Problems that span fields: duplicate names and peers, references to checks that do
    not exist, families without a next hop, static prefixes the guard rails would refuse."""
    problems: list[tuple[Loc, str]] = []
    seen: set[str] = set()
    for i, s in parts.services:
        if s.name in seen:
            problems.append((("services", i, "name"), f"duplicate service {s.name!r}"))
        seen.add(s.name)
        if s.check is not None and parts.check_names is not None and s.check not in parts.check_names:
            problems.append((("services", i, "check"), f"no check named {s.check!r} in checks"))
        if parts.guard is not None:
            for j, p in enumerate(s.prefixes):
                why = parts.guard.refusal(ip_network(p, strict=True))
                if why is not None:
                    problems.append((("services", i, "prefixes", j), f"{p}: {why}: the guard rails would never announce it"))
    addrs: set[IPAddr] = set()
    for i, peer in parts.peers:
        if peer.address in addrs:
            problems.append((("peers", i, "address"), f"duplicate peer {peer.address}"))
        addrs.add(peer.address)
        session = "ipv4" if peer.address.version == 4 else "ipv6"
        for fam in peer.families:
            if parts.next_hop is not None and fam != session and getattr(parts.next_hop, fam) == "self":
                why = f"{fam} over an {session} session needs next_hop.{fam} set to an address"
                problems.append((("peers", i, "families"), why))
    default = parts.k8s_default_check
    if default is not None and parts.check_names is not None and default not in parts.check_names:
        problems.append((("sources", "kubernetes", "default_check"), f"no check named {default!r} in checks"))
    return problems


def _cross(data: Any, config: AgentConfig | None) -> list[tuple[Loc, str]]:
    return cross_problems(_Parts.of_model(config) if config is not None else _Parts.of_data(data))


def validate_config(data: Any, display: str = "agent.yaml", lines: LineMap | None = None) -> AgentConfig:
    """Validate already-parsed YAML data; raises :class:`ConfigError` with every problem,
    each ``file[:line]: data.path: message`` (the line when ``lines`` knows the path)."""
    if not isinstance(data, Mapping):
        raise ConfigError([Problem(display, 0, "", "the file must contain a mapping (asn, router_id, peers, ...)")])
    return configfile.validate(AgentConfig, data, display, lines, _cross)


def load_config(path: Path | str, display: str | None = None) -> AgentConfig:
    """Read and validate ``path``; raises :class:`ConfigError` (never a traceback-worthy error).
    ``display`` is the file name used in messages (default: ``path`` as given)."""
    display = str(path) if display is None else display
    data, lines = configfile.read_yaml(path, display)
    return validate_config(data, display, lines)
