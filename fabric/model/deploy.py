"""The ``deploy`` section: how ``fabric deploy`` reaches the devices (never credentials).

Credentials come from the environment (``FABRIC_USERNAME`` / ``FABRIC_PASSWORD``) or from
the file named by ``credentials`` (YAML: ``username``, ``password``, optional per-device
``devices: {NAME: {username, password}}``), never from the inventory: a ``password`` key
anywhere in this section is an error.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from fabric.model.base import Name, StrictModel

_SECRET_KEYS = frozenset({"password", "secret", "passwd", "token", "key_passphrase"})


def _secret_paths(data: Any, path: str = "") -> list[str]:
    found: list[str] = []
    if isinstance(data, dict):
        for k, v in data.items():
            here = f"{path}.{k}" if path else str(k)
            if str(k).lower() in _SECRET_KEYS:
                found.append(here)
            found.extend(_secret_paths(v, here))
    return found


class DeviceAccess(StrictModel):
    """Where one device answers (default: its ``mgmt`` address and the driver's port)."""

    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    driver: str | None = None
    options: dict[str, str] = Field(default_factory=dict, description="driver options (transport: http ...)")


class PostChecks(StrictModel):
    """What a device must show after a commit before it is confirmed."""

    timeout: float = Field(default=60.0, gt=0, description="seconds for sessions to (re)establish")
    interval: float = Field(default=2.0, gt=0)
    new_sessions: bool = Field(default=True, description="expect the sessions the intent adds to come up")


class DeploySettings(StrictModel):
    """How to reach devices and how careful a rollout is."""

    credentials: str | None = Field(default=None, description="file with username/password (relative to the inventory)")
    known_hosts: str = Field(default="~/.ssh/known_hosts", description="SSH host keys are checked against this file")
    timeout: float = Field(default=30.0, gt=0, description="seconds for every network call")
    revert_in: int | None = Field(default=None, ge=1, description="commit-confirmed timer, seconds (platform default)")
    drivers: dict[Literal["junos", "nxos", "frr"], str] = Field(default_factory=dict, description="driver per platform")
    options: dict[str, str] = Field(default_factory=dict, description="driver options for every device")
    postchecks: PostChecks = Field(default_factory=PostChecks)
    devices: dict[Name, DeviceAccess] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _no_secrets(cls, data: Any) -> Any:
        bad = _secret_paths(data)
        if bad:
            raise ValueError(
                f"{', '.join(bad)}: credentials never go in the inventory; set FABRIC_USERNAME/FABRIC_PASSWORD "
                "or name a credentials file in deploy.credentials"
            )
        return data
