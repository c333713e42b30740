"""Renderers: per-device intent -> config text, one package per platform.

The contract and the registry live in :mod:`fabric.render.base`; platform packages
(``fabric.render.junos``, ``.nxos``, ``.frr``) register themselves there and are imported
only when their platform is asked for.
"""

from fabric.render.base import (
    RENDERERS,
    RenderedDevice,
    Renderer,
    RendererRegistry,
    check_capabilities,
    get_renderer,
    register,
    render_all,
    render_device,
    render_each,
    render_main,
    render_with,
    select_renderers,
)

__all__ = [
    "RENDERERS", "RenderedDevice", "Renderer", "RendererRegistry", "check_capabilities", "get_renderer",
    "register", "render_all", "render_device", "render_each", "render_main", "render_with", "select_renderers",
]
