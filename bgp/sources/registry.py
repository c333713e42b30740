"""The registry of source kinds: which sources an agent config asks for, and how each is made.

Each kind is a factory ``(AgentConfig) -> Source | None`` (None: the config does not ask
for it), registered under a name; :func:`make_sources` asks every kind in registration
order. The built-in kinds import their module only when the config uses them (the
Kubernetes client is heavy). A new kind registers itself with :meth:`SourceRegistry.register`
on :data:`BUILTIN` or on a registry of its own passed to the agent's caller.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bgp.configfile import problem
from bgp.sources.base import Source

if TYPE_CHECKING:
    from bgp.config import AgentConfig

SourceFactory = Callable[["AgentConfig"], "Source | None"]


class SourceRegistry:
    """Source kinds by name, in registration order."""

    def __init__(self) -> None:
        self._kinds: dict[str, SourceFactory] = {}

    def register(self, name: str, factory: SourceFactory) -> None:
        """Add a kind; a name registered twice is a programming error."""
        if name in self._kinds:
            raise ValueError(f"source kind {name!r} is already registered")
        self._kinds[name] = factory

    def names(self) -> list[str]:
        return list(self._kinds)

    def make_sources(self, config: AgentConfig) -> list[Source]:
        """Every source ``config`` asks for. Raises :class:`bgp.configfile.ConfigError`
        when one cannot be set up from the config."""
        made = (factory(config) for factory in self._kinds.values())
        return [s for s in made if s is not None]


def _static(config: AgentConfig) -> Source | None:
    if not config.services:
        return None
    from bgp.sources.static import StaticSource

    return StaticSource(config.services)


def _directory(config: AgentConfig) -> Source | None:
    if config.sources.directory is None:
        return None
    from bgp.sources.directory import DirectorySource

    return DirectorySource(config.sources.directory)


def _kubernetes(config: AgentConfig) -> Source | None:
    if config.sources.kubernetes is None:
        return None
    from bgp.sources.kubernetes import KubernetesSource, KubernetesSourceError

    try:
        return KubernetesSource(config.sources.kubernetes)
    except KubernetesSourceError as e:
        raise problem("sources.kubernetes", str(e)) from None


BUILTIN = SourceRegistry()
BUILTIN.register("static", _static)
BUILTIN.register("directory", _directory)
BUILTIN.register("kubernetes", _kubernetes)


def make_sources(config: AgentConfig) -> list[Source]:
    """The sources ``config`` asks for, from the built-in kinds: static (if any services),
    directory, kubernetes."""
    return BUILTIN.make_sources(config)
