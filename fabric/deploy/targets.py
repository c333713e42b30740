"""Which devices a deploy touches and how to reach each: :class:`Target` records.

A target joins the inventory (platform, role, pod, rack, pair), the ``deploy`` section
(host, port, driver, options) and the credentials (environment or the credentials file),
into the :class:`~fabric.deploy.driver.Connection` a driver opens. Credentials are never
read from the inventory and never printed: ``Connection.password`` has ``repr=False`` and
every error here names files and variables, not values.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from fabric.deploy.driver import Connection
from fabric.errors import DeployError
from fabric.model import Inventory
from fabric.platforms import DEPLOY, Platform

ENV_USERNAME = "FABRIC_USERNAME"
ENV_PASSWORD = "FABRIC_PASSWORD"
ENV_CREDENTIALS = "FABRIC_CREDENTIALS"


@dataclass(frozen=True)
class Target:
    """One device a deploy may touch."""

    device: str
    platform: Platform
    role: str  # spine | leaf | border
    driver: str
    connection: Connection
    pod: str | None = None
    rack: str | None = None
    pair: str | None = None
    site: str | None = None


@dataclass(frozen=True)
class Credentials:
    """A username/password per device (``default`` for the rest). ``repr`` shows no secret."""

    default: tuple[str, str] = field(default=("", ""), repr=False)
    devices: dict[str, tuple[str, str]] = field(default_factory=dict, repr=False)

    def for_device(self, name: str) -> tuple[str, str]:
        return self.devices.get(name, self.default)


def load_credentials(inventory: Inventory, folder: Path, env: dict[str, str] | None = None) -> Credentials:
    """Credentials from ``FABRIC_USERNAME``/``FABRIC_PASSWORD``, else the file named by
    ``FABRIC_CREDENTIALS`` or ``deploy.credentials`` (relative to the inventory folder)."""
    env = dict(os.environ) if env is None else env
    name = env.get(ENV_CREDENTIALS) or inventory.deploy.credentials
    creds = Credentials()
    if name:
        path = Path(os.path.expanduser(name))
        if not path.is_absolute():
            path = folder / path
        try:
            doc: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as e:
            raise DeployError(f"credentials file {path}: cannot read it ({e.strerror})") from None
        except yaml.YAMLError:
            raise DeployError(f"credentials file {path}: not valid YAML") from None
        if not isinstance(doc, dict):
            raise DeployError(f"credentials file {path}: expected a mapping with username and password")
        per: dict[str, tuple[str, str]] = {}
        for dev, d in (doc.get("devices") or {}).items():
            if isinstance(d, dict):
                per[str(dev)] = (str(d.get("username", doc.get("username", ""))), str(d.get("password", "")))
        creds = Credentials((str(doc.get("username", "")), str(doc.get("password", ""))), per)
    user, password = env.get(ENV_USERNAME), env.get(ENV_PASSWORD)
    if user is not None or password is not None:
        creds = Credentials(
            (user if user is not None else creds.default[0], password if password is not None else creds.default[1]),
            creds.devices,
        )
    return creds


def _role(sw: Any) -> str:
    role = getattr(sw, "role", None)
    if role is None:
        return "spine"
    return "border" if role == "border" else "leaf"


def resolve_targets(
    inventory: Inventory,
    folder: Path,
    *,
    credentials: Credentials | None = None,
    host_key_check: bool = True,
    timeout: float | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Target]:
    """Every switch of ``inventory`` as a :class:`Target`, in inventory order (spines, leaves)."""
    settings = inventory.deploy
    creds = credentials if credentials is not None else load_credentials(inventory, folder, env)
    known_hosts = os.path.expanduser(settings.known_hosts) if host_key_check else None
    out: dict[str, Target] = {}
    for sw in inventory.switches():
        access = settings.devices.get(sw.name)
        profile = DEPLOY[sw.platform]
        driver = (access.driver if access and access.driver else None) or settings.drivers.get(sw.platform) or profile.driver
        host = access.host if access and access.host else (str(sw.mgmt.ip) if sw.mgmt else "")
        if not host:
            raise DeployError(f"{sw.name}: no address to reach it (set mgmt or deploy.devices.{sw.name}.host)")
        user, password = creds.for_device(sw.name)
        options = {**settings.options, **(access.options if access else {})}
        conn = Connection(
            host=host, platform=sw.platform, username=user, password=password,
            port=access.port if access else None, timeout=timeout or settings.timeout,
            known_hosts=known_hosts, options=options,
        )
        out[sw.name] = Target(
            device=sw.name, platform=sw.platform, role=_role(sw), driver=driver, connection=conn,
            pod=sw.pod, rack=getattr(sw, "rack", None), pair=getattr(sw, "pair", None), site=sw.site,
        )
    return out


def select(targets: dict[str, Target], devices: Iterable[str] = (), roles: Iterable[str] = ()) -> dict[str, Target]:
    """The targets named in ``devices`` and/or of a role in ``roles`` (all when both empty).
    An unknown device or role is an error naming it."""
    devices, roles = list(devices), list(roles)
    unknown = [d for d in devices if d not in targets]
    if unknown:
        raise DeployError(f"unknown device(s): {', '.join(unknown)} (known: {', '.join(targets)})")
    bad_roles = [r for r in roles if r not in ("spine", "leaf", "border")]
    if bad_roles:
        raise DeployError(f"unknown role(s): {', '.join(bad_roles)} (spine, leaf, border)")
    if not devices and not roles:
        return dict(targets)
    return {n: t for n, t in targets.items() if n in devices or t.role in roles}


def with_connection(target: Target, **changes: Any) -> Target:
    """``target`` with its connection changed (``host=``, ``port=``, ``options=``...)."""
    return replace(target, connection=replace(target.connection, **changes))
