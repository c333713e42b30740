"""Configuration models of the health checks, one per kind, discriminated by ``kind``."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

import dns.rcode
import dns.rdatatype
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m)?")


def _duration(value: object) -> object:
    # The agent config writes durations as numbers of seconds or "500ms", "2s", "1m"
    # (docs/bgp-agent.md); anything else is left for the float validation to refuse.
    if isinstance(value, bool):  # pydantic would take True as 1 s
        raise ValueError("must be a duration, not a boolean")
    if isinstance(value, str) and (m := _DURATION.fullmatch(value.strip())):
        return float(m.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}[m.group(2)]
    return value


Duration = Annotated[float, BeforeValidator(_duration)]


class CheckBase(BaseModel):
    """Timing shared by every check kind (durations: seconds, or ``"500ms"``, ``"2s"``, ``"1m"``).

    ``interval`` is the time between the starts of two probes, ``timeout`` bounds one probe
    (never longer than ``interval``), ``rise``/``fall`` are the consecutive successes/failures
    that make the check UP/DOWN."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    interval: Duration = Field(default=2.0, gt=0, le=3600)
    timeout: Duration = Field(default=1.0, gt=0, le=3600)
    rise: int = Field(default=2, ge=1, le=100)
    fall: int = Field(default=3, ge=1, le=100)

    @model_validator(mode="after")
    def _timeout_fits_interval(self) -> CheckBase:
        if self.timeout > self.interval:
            raise ValueError(f"timeout ({self.timeout}) must not exceed interval ({self.interval})")
        return self


class TcpCheck(CheckBase):
    """Healthy when a TCP connection to ``host``:``port`` is established within the timeout."""

    kind: Literal["tcp"] = "tcp"
    host: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)


class HttpCheck(CheckBase):
    """Healthy when a GET of ``url`` answers with a status in ``expected_status``.

    https URLs verify the server certificate unless ``verify_tls`` is false; ``host_header``
    overrides the Host header (a check against 127.0.0.1 of a virtual host)."""

    kind: Literal["http"] = "http"
    url: str
    expected_status: list[int] = Field(default_factory=lambda: [200], min_length=1)
    host_header: str | None = None
    verify_tls: bool = True

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        if any(ord(c) < 0x21 or ord(c) == 0x7F for c in v):
            raise ValueError("must not contain spaces or control characters")
        return v

    @field_validator("host_header")
    @classmethod
    def _clean_header(cls, v: str | None) -> str | None:
        if v is not None and any(ord(c) < 0x21 or ord(c) == 0x7F for c in v):
            raise ValueError("must not contain spaces or control characters")
        return v

    @field_validator("expected_status")
    @classmethod
    def _status_codes(cls, v: list[int]) -> list[int]:
        bad = [c for c in v if not 100 <= c <= 599]
        if bad:
            raise ValueError(f"not HTTP status codes: {bad}")
        return v


class DnsCheck(CheckBase):
    """Healthy when ``server`` answers a query for ``qname``/``qtype`` with ``expected_rcode``
    (and, if ``require_answer``, at least one record of that type in the answer section)."""

    kind: Literal["dns"] = "dns"
    server: str = Field(min_length=1)
    port: int = Field(default=53, ge=1, le=65535)
    qname: str = Field(min_length=1)
    qtype: str = "A"
    expected_rcode: str = "NOERROR"
    require_answer: bool = True
    transport: Literal["udp", "tcp"] = "udp"

    @field_validator("qtype")
    @classmethod
    def _qtype(cls, v: str) -> str:
        try:
            dns.rdatatype.from_text(v)
        except dns.rdatatype.UnknownRdatatype as e:
            raise ValueError(f"unknown DNS type {v!r}") from e
        return v.upper()

    @field_validator("expected_rcode")
    @classmethod
    def _rcode(cls, v: str) -> str:
        try:
            dns.rcode.from_text(v)
        except dns.rcode.UnknownRcode as e:
            raise ValueError(f"unknown DNS rcode {v!r}") from e
        return v.upper()


class ExecCheck(CheckBase):
    """Healthy when ``command`` (argv, run without a shell) exits 0 within the timeout.

    A command still running at the timeout is killed with its whole process group."""

    kind: Literal["exec"] = "exec"
    command: list[str] = Field(min_length=1)


HealthCheck = Annotated[TcpCheck | HttpCheck | DnsCheck | ExecCheck, Field(discriminator="kind")]
"""Any check config; validate with ``pydantic.TypeAdapter(HealthCheck)`` or as a model field."""
