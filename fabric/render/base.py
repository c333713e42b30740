"""The renderer contract and the one registry of renderers.

A renderer turns one :class:`~fabric.design.intent.DeviceIntent` into config text for one
platform. It never sees the inventory. Each built-in renderer registers itself in
``fabric/render/<platform>/__init__.py``::

    from fabric.render.base import register

    class JunosRenderer:
        platform = "junos"
        formats = ("conf", "set", "xml")      # the first is the main text
        def render(self, intent): return {"conf": ..., "set": ..., "xml": ...}
        def render_main(self, intent): return ...   # only the "conf" text, as fast as it can

    register(JunosRenderer())

The registry imports those modules lazily (only when a platform is asked for), then
looks at the entry-point group ``leafspine.renderers``, where third parties add theirs:
the entry point's object is a renderer, or a class / factory that returns one.

Before rendering, :func:`render_device` checks the features the intent uses against the
platform's capabilities (:data:`fabric.platforms.CAPABILITIES`, or a third-party
renderer's own ``capabilities``) and raises ``RenderError("nxos does not support
dci_stitching (device leaf3)")`` without rendering anything.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from fabric.errors import RenderError
from fabric.platforms import CAPABILITIES

if TYPE_CHECKING:
    from fabric.design.intent import DeviceIntent

ENTRY_POINT_GROUP = "leafspine.renderers"

#: platform -> module that registers its renderer when imported
BUILTIN: dict[str, str] = {
    "junos": "fabric.render.junos",
    "nxos": "fabric.render.nxos",
    "frr": "fabric.render.frr",
}


@runtime_checkable
class Renderer(Protocol):
    """Renders the intent of devices of one platform.

    ``formats`` are the file extensions ``render`` returns, main format first
    (``("conf", "set", "xml")`` for junos, ``("cfg",)`` for nxos, ``("frr.conf",)`` for
    frr). Both methods are pure: same intent, same text; no I/O. They do not check
    capabilities: :func:`render_device`, :func:`render_main` and :func:`select_renderers`
    do, once per device, before calling them."""

    # read-only members, so a plain class attribute (formats = ("conf", "set", "xml")) fits
    @property
    def platform(self) -> str:
        """The platform name, a key of :data:`fabric.platforms.CAPABILITIES` for built-ins."""
        ...

    @property
    def formats(self) -> tuple[str, ...]:
        """File extensions ``render`` returns, main format first."""
        ...

    def render(self, intent: DeviceIntent) -> dict[str, str]:
        """Every format: file extension -> text (one key per entry of ``formats``)."""
        ...

    def render_main(self, intent: DeviceIntent) -> str:
        """Only the main format's text (``formats[0]``); what the benchmark times."""
        ...


@dataclass(frozen=True, slots=True)
class RenderedDevice:
    """One device's rendered config: file extension -> text; ``main`` names the main one."""

    device: str
    platform: str
    main: str
    files: dict[str, str]

    @property
    def text(self) -> str:
        """The main config text (Junos curly-brace, NX-OS CLI, frr.conf)."""
        return self.files[self.main]

    def only(self, formats: Iterable[str]) -> RenderedDevice:
        """The same device with only the files of ``formats`` it has (the main one kept)."""
        keep = {*formats, self.main}
        return RenderedDevice(self.device, self.platform, self.main, {e: t for e, t in self.files.items() if e in keep})


class RendererRegistry:
    """Platform -> renderer. Built-ins and entry points load on first use; an explicit
    :meth:`register` wins over both."""

    def __init__(self, builtin: dict[str, str] | None = None, group: str | None = ENTRY_POINT_GROUP) -> None:
        self._renderers: dict[str, Renderer] = {}
        self._builtin = dict(BUILTIN if builtin is None else builtin)
        self._group = group
        self._entry_points_loaded = group is None
        self._missing: dict[str, str] = {}

    def register(self, renderer: Renderer, *, replace: bool = False) -> None:
        """Add ``renderer`` for its platform. Registering a second renderer for a
        platform is an error unless ``replace``."""
        if not isinstance(renderer, Renderer):
            raise RenderError(f"{renderer!r} is not a renderer (needs platform, formats, render, render_main)")
        if not renderer.formats:
            raise RenderError(f"renderer for {renderer.platform} declares no formats")
        old = self._renderers.get(renderer.platform)
        if old is not None and old is not renderer and not replace:
            raise RenderError(f"a renderer for {renderer.platform} is already registered ({type(old).__name__})")
        self._renderers[renderer.platform] = renderer

    def _load_builtin(self, platform: str) -> None:
        module = self._builtin.get(platform)
        if module is None or platform in self._renderers or platform in self._missing:
            return
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as e:
            # only "this renderer is not written yet" is quiet; a broken import inside it is not
            if e.name is not None and (module == e.name or module.startswith(e.name + ".")):
                self._missing[platform] = f"module {module} does not exist yet"
                return
            raise

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded or self._group is None:
            return
        self._entry_points_loaded = True
        for ep in sorted(entry_points(group=self._group), key=lambda e: e.name):
            try:
                obj = ep.load()
                renderer = obj if isinstance(obj, Renderer) else obj()
            except Exception as e:
                raise RenderError(f"renderer entry point {ep.name} ({ep.value}) failed to load: {e}") from e
            if renderer.platform not in self._renderers:
                self.register(renderer)

    def get(self, platform: str) -> Renderer:
        """The renderer of ``platform``; :class:`RenderError` if there is none."""
        if platform not in self._renderers:
            self._load_builtin(platform)
        if platform not in self._renderers:
            self._load_entry_points()
        try:
            return self._renderers[platform]
        except KeyError:
            why = self._missing.get(platform, "none registered")
            raise RenderError(f"no renderer for platform {platform} ({why})") from None

    def has(self, platform: str) -> bool:
        """Whether a renderer for ``platform`` exists (loading it if needed)."""
        try:
            self.get(platform)
        except RenderError:
            return False
        return True

    def builtin_in_use(self, platform: str) -> bool:
        """Whether :meth:`get` gives (or, once loaded, will give) the renderer of the
        built-in module of :data:`BUILTIN` for ``platform``: what the build cache's code
        fingerprint covers (:mod:`fabric.buildcache`). Loads nothing."""
        module = BUILTIN.get(platform)
        if module is None or self._builtin.get(platform) != module or platform in self._missing:
            return False
        r = self._renderers.get(platform)
        return r is None or type(r).__module__ == module or type(r).__module__.startswith(module + ".")

    def platforms(self) -> list[str]:
        """Every platform that has a renderer (built-ins that exist, entry points)."""
        for p in self._builtin:
            self._load_builtin(p)
        self._load_entry_points()
        return sorted(self._renderers)


#: The registry. Tests may build their own :class:`RendererRegistry`.
RENDERERS = RendererRegistry()


def register(renderer: Renderer, *, replace: bool = False) -> None:
    """Register ``renderer`` in :data:`RENDERERS` (what ``fabric/render/<platform>/__init__.py`` calls)."""
    RENDERERS.register(renderer, replace=replace)


def get_renderer(platform: str) -> Renderer:
    """The registered renderer of ``platform`` (:class:`RenderError` if none)."""
    return RENDERERS.get(platform)


def capabilities(renderer: Renderer) -> frozenset[str]:
    """What ``renderer``'s platform can render: the platform table, or a third-party
    renderer's own ``capabilities`` attribute."""
    table = CAPABILITIES.get(renderer.platform)  # type: ignore[call-overload]
    if table is not None:
        return frozenset(table)
    return frozenset(getattr(renderer, "capabilities", frozenset()))


def check_capabilities(renderer: Renderer, intent: DeviceIntent) -> None:
    """Raise :class:`RenderError` naming the device if the intent needs a feature the
    platform lacks (every missing feature, in one message)."""
    missing = sorted(intent.features() - capabilities(renderer))
    if missing:
        raise RenderError(f"{renderer.platform} does not support {', '.join(missing)} (device {intent.device.name})")


def render_with(renderer: Renderer, intent: DeviceIntent) -> RenderedDevice:
    """Render every format of one device with ``renderer``, whose capabilities were
    already checked (:func:`select_renderers`, :func:`render_device`)."""
    files = renderer.render(intent)
    if set(files) != set(renderer.formats):
        raise RenderError(
            f"renderer {renderer.platform} returned {sorted(files)} for {intent.device.name}, "
            f"declared {list(renderer.formats)}"
        )
    return RenderedDevice(intent.device.name, renderer.platform, renderer.formats[0], files)


def render_device(intent: DeviceIntent, registry: RendererRegistry | None = None) -> RenderedDevice:
    """Check capabilities, then render every format of one device."""
    renderer = (registry or RENDERERS).get(intent.device.platform)
    check_capabilities(renderer, intent)
    return render_with(renderer, intent)


def render_main(intent: DeviceIntent, registry: RendererRegistry | None = None) -> str:
    """Check capabilities, then render only the main text of one device."""
    renderer = (registry or RENDERERS).get(intent.device.platform)
    check_capabilities(renderer, intent)
    return renderer.render_main(intent)


def select_renderers(
    intents: Mapping[str, DeviceIntent], registry: RendererRegistry | None = None
) -> tuple[dict[str, Renderer], dict[str, str]]:
    """Each device's renderer, and the devices skipped because their platform has none
    (device -> reason). Checks every device's capabilities, once: one
    :class:`RenderError` names every device that needs a feature its platform lacks."""
    reg = registry or RENDERERS
    renderers: dict[str, Renderer] = {}
    skipped: dict[str, str] = {}
    problems: list[str] = []
    for name, intent in intents.items():
        platform = intent.device.platform
        if not reg.has(platform):
            skipped[name] = f"no renderer for platform {platform}"
            continue
        renderers[name] = reg.get(platform)
        try:
            check_capabilities(renderers[name], intent)
        except RenderError as e:
            problems.append(str(e))
    if problems:
        raise RenderError("\n".join(problems))
    return renderers, skipped


def render_each(intents: Mapping[str, DeviceIntent], renderers: Mapping[str, Renderer]) -> Iterator[RenderedDevice]:
    """Render the devices of ``renderers`` (from :func:`select_renderers`) one at a time,
    in intent order, so a caller that writes each one holds one device's text at a time."""
    for name, intent in intents.items():
        renderer = renderers.get(name)
        if renderer is not None:
            yield render_with(renderer, intent)


def render_all(
    intents: Mapping[str, DeviceIntent], registry: RendererRegistry | None = None
) -> tuple[dict[str, RenderedDevice], dict[str, str]]:
    """Render every device whose platform has a renderer, in memory: (rendered, skipped
    device -> reason). Capability problems as in :func:`select_renderers`."""
    renderers, skipped = select_renderers(intents, registry)
    return {r.device: r for r in render_each(intents, renderers)}, skipped
