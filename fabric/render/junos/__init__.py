"""Junos (QFX5120, ERB EVPN/VXLAN) renderer: ``.conf``, ``.set`` and ``.xml``.

Importing this package registers :class:`JunosRenderer` in the renderer registry
(:mod:`fabric.render.base`), which imports it the first time platform ``junos`` is asked for.
"""

from fabric.render.base import register
from fabric.render.junos.renderer import JunosRenderer

__all__ = ["JunosRenderer"]

register(JunosRenderer())
