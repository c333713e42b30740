"""NX-OS renderer (Nexus 93180YC-FX leaves, 9332C spines and leaves): ``<device>.cfg``."""

from fabric.render.base import register
from fabric.render.nxos.renderer import NxosRenderer

__all__ = ["NxosRenderer"]

register(NxosRenderer())
