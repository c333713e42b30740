"""The renderer registry: lazy built-ins, entry points, one renderer per platform."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import fabric.render.base as base
from fabric.design.intent import DeviceIntent
from fabric.errors import RenderError
from fabric.render.base import RENDERERS, Renderer, RendererRegistry, render_device


class Fake:
    formats = ("txt", "json")

    def __init__(self, platform: str = "fake") -> None:
        self.platform = platform

    def render(self, intent: DeviceIntent) -> dict[str, str]:
        return {"txt": intent.device.name, "json": "{}"}

    def render_main(self, intent: DeviceIntent) -> str:
        return intent.device.name


def test_builtin_platforms_are_registered_lazily() -> None:
    for platform in ("junos", "nxos", "frr"):
        r = RENDERERS.get(platform)
        assert isinstance(r, Renderer) and r.platform == platform and r.formats
    assert RENDERERS.get("junos").formats[0] == "conf"
    assert RENDERERS.platforms() >= ["frr", "junos", "nxos"]


def test_missing_builtin_module_is_a_clear_error() -> None:
    reg = RendererRegistry(builtin={"ghost": "fabric.render.ghost"}, group=None)
    with pytest.raises(RenderError, match=r"no renderer for platform ghost \(module fabric.render.ghost does not exist yet\)"):
        reg.get("ghost")
    assert not reg.has("ghost")


def test_a_broken_builtin_module_is_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    # the renderer package exists but imports a dependency that is not installed
    def boom(name: str) -> Any:
        raise ModuleNotFoundError("No module named 'not_installed_dep'", name="not_installed_dep")

    monkeypatch.setattr(base.importlib, "import_module", boom)
    reg = RendererRegistry(builtin={"broken": "fabric.render.broken"}, group=None)
    with pytest.raises(ModuleNotFoundError, match="not_installed_dep"):
        reg.get("broken")


def test_entry_points_add_third_party_renderers(monkeypatch: pytest.MonkeyPatch) -> None:
    class EP:
        def __init__(self, name: str, obj: Any) -> None:
            self.name, self.value, self._obj = name, f"pkg:{name}", obj

        def load(self) -> Any:
            return self._obj

    eps = [EP("eos", lambda: Fake("eos")), EP("sonic", Fake("sonic"))]
    monkeypatch.setattr(base, "entry_points", lambda group: eps if group == "leafspine.renderers" else [])
    reg = RendererRegistry(builtin={})
    assert reg.get("eos").platform == "eos" and reg.get("sonic").platform == "sonic"
    assert reg.platforms() == ["eos", "sonic"]


def test_a_failing_entry_point_names_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    class Bad:
        name, value = "bad", "pkg:Bad"

        def load(self) -> Any:
            raise ImportError("nope")

    monkeypatch.setattr(base, "entry_points", lambda group: [Bad()])
    with pytest.raises(RenderError, match=r"renderer entry point bad \(pkg:Bad\) failed to load: nope"):
        RendererRegistry(builtin={}).get("anything")


def test_register_rules() -> None:
    reg = RendererRegistry(builtin={}, group=None)
    reg.register(Fake())
    with pytest.raises(RenderError, match="already registered"):
        reg.register(Fake())
    reg.register(Fake(), replace=True)
    with pytest.raises(RenderError, match="is not a renderer"):
        reg.register(object())  # type: ignore[arg-type]


def test_render_device_checks_formats_and_capabilities() -> None:
    import fabric

    lab = Path(__file__).resolve().parents[2] / "inventories" / "lab"
    intent = next(iter(fabric.load(lab).design().values()))

    class Liar(Fake):
        def render(self, intent: DeviceIntent) -> dict[str, str]:
            return {"txt": ""}

    reg = RendererRegistry(builtin={}, group=None)
    reg.register(Liar("frr"))
    with pytest.raises(RenderError, match=r"returned \['txt'\] for spine1, declared \['txt', 'json'\]"):
        render_device(intent, reg)
    reg.register(Fake("frr"), replace=True)
    r = render_device(intent, reg)
    assert r.text == "spine1" and r.main == "txt" and set(r.files) == {"txt", "json"}
