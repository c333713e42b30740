"""What a driver raises. Every message names the device and the cause, never a credential."""

from __future__ import annotations

from fabric.errors import DeployError


class ConnectError(DeployError):
    """The device cannot be reached, refused the login, or its host key does not match."""


class LockError(DeployError):
    """The configuration database is locked by someone else."""


class LoadError(DeployError):
    """The device refused the candidate configuration (a line it rejects, a parse error)."""


class CommitError(DeployError):
    """The commit (or confirm, or rollback) failed or was cut off."""


class GetterUnsupported(DeployError):
    """The driver has no honest way to read this on this platform (the reply format is not
    verified); validate reports the checks that need it as skipped, with this text."""
