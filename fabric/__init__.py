"""leafspine fabric: inventory -> allocations -> intent -> configs -> devices.

Public API (everything else is internal)::

    import fabric
    fab = fabric.load("inventories/shownet2024")
    plan = fab.plan()
"""

from fabric.api import Fabric, load
from fabric.errors import DeployError, FabricError, InventoryError, LedgerError, Problem, RenderError

__all__ = ["DeployError", "Fabric", "FabricError", "InventoryError", "LedgerError", "Problem", "RenderError", "load"]
