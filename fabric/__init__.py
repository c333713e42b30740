"""leafspine fabric: inventory -> allocations -> intent -> configs -> devices.

Public API (everything else is internal)::

    import fabric
    fab = fabric.load("inventories/shownet2024")
    plan = fab.plan()
    intents = fab.design()          # {device: DeviceIntent}
    configs = fab.render()          # {device: RenderedDevice}
    result = fab.build("build/x")   # configs/, intent/, exports
"""

from fabric.api import Fabric, load
from fabric.build import BuildResult
from fabric.design import DeviceIntent, FabricSummary
from fabric.errors import DeployError, DesignError, FabricError, InventoryError, LedgerError, Problem, RenderError
from fabric.render.base import RenderedDevice, Renderer

__all__ = [
    "BuildResult", "DeployError", "DesignError", "DeviceIntent", "Fabric", "FabricError", "FabricSummary",
    "InventoryError", "LedgerError", "Problem", "RenderError", "RenderedDevice", "Renderer", "load",
]
