"""FRR renderer (FRR 8.4, the lab and SONiC-style boxes): ``<device>.frr.conf``."""

from fabric.render.base import register
from fabric.render.frr.renderer import FrrRenderer, svi_name

__all__ = ["FrrRenderer", "svi_name"]

register(FrrRenderer())
