"""The Python API: ``fabric.load(path)`` and the :class:`Fabric` it returns.

The CLI is a thin shell over these calls; scripts use them directly::

    import fabric
    fab = fabric.load("inventories/shownet2024")   # raises InventoryError listing every problem
    plan = fab.plan()                               # what the ledger would add / keep / free
    plan.changed                                    # False when allocations.yaml is up to date
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from fabric.inventory import LEDGER_FILE, LoadedInventory, load_inventory
from fabric.model import Inventory
from fabric.resources.ledger import Allocations, Ledger, Plan, plan_allocations
from fabric.yamlsrc import SourceMap


class Fabric:
    """A loaded, validated fabric and its allocation ledger."""

    def __init__(self, loaded: LoadedInventory) -> None:
        self._loaded = loaded

    @property
    def inventory(self) -> Inventory:
        """The validated inventory model."""
        return self._loaded.inventory

    @property
    def path(self) -> Path:
        """The inventory folder."""
        return self._loaded.path

    @property
    def source(self) -> SourceMap:
        """Where each value of the inventory was written (file, line)."""
        return self._loaded.source

    @property
    def name(self) -> str:
        return self.inventory.fabric.name

    @property
    def ledger_path(self) -> Path:
        """``allocations.yaml`` beside the inventory."""
        return self.path / LEDGER_FILE

    @cached_property
    def ledger(self) -> Ledger:
        """The ledger as it is on disk (empty when there is none yet)."""
        return Ledger.read(self.ledger_path)

    def plan(self, prune: bool = False) -> Plan:
        """Plan allocations against the ledger on disk. Writes nothing."""
        return plan_allocations(self.inventory, self.ledger, prune=prune)

    def write_plan(self, plan: Plan) -> bool:
        """Write ``plan``'s ledger if it differs from the file; return whether it wrote."""
        text = plan.ledger.dump()
        if self.ledger_path.exists() and self.ledger_path.read_text(encoding="utf-8") == text:
            return False
        plan.ledger.write(self.ledger_path)
        self.__dict__.pop("ledger", None)
        return True

    def allocations(self) -> Allocations:
        """Every value the fabric uses: the ledger plus what a plan would add (in memory)."""
        return self.plan().allocations()


def load(path: str | Path) -> Fabric:
    """Load and validate the inventory folder ``path``.

    Raises :class:`fabric.errors.InventoryError` with every problem found."""
    return Fabric(load_inventory(path))
