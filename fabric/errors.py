"""One exception tree for the fabric library.

Every error raised on purpose derives from :class:`FabricError`. Validation never stops
at the first problem: it collects :class:`Problem` records (file, line, data path,
message) and raises one :class:`InventoryError` carrying all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class FabricError(Exception):
    """Root of every error the fabric library raises on purpose."""


@dataclass(frozen=True, order=True)
class Problem:
    """One problem found in the input, pointing at where it is."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path or '<root>'}: {self.message}"


@dataclass
class InventoryError(FabricError):
    """The inventory is broken; ``problems`` lists everything wrong with it, sorted."""

    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.problems = sorted(set(self.problems))
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class LedgerError(FabricError):
    """The allocation ledger cannot be read, or a pool ran out."""


class PoolExhausted(LedgerError):
    """A pool has no value left for a new object; ``pool`` names it (``loopback``,
    ``asn.leaf``, ``kubernetes.<cluster>.asn`` ...)."""

    def __init__(self, message: str, pool: str) -> None:
        super().__init__(message)
        self.pool = pool


class LedgerInputError(InventoryError, LedgerError):
    """``allocations.yaml`` is damaged (not YAML, a duplicate key, a malformed value, two
    objects holding one value) or disagrees with the inventory; ``problems`` lists every
    problem at its ledger line. A ledger that raised this is never rewritten."""


class DesignError(FabricError):
    """The design stage cannot turn a valid inventory into intent (a port a default
    cabling needs does not exist, a derived value collides with an allocated one).
    ``path`` is the inventory data path the problem is about (``()``: the whole fabric);
    :class:`fabric.api.Fabric` turns it into a :class:`DesignInputError` located there."""

    def __init__(self, message: str, path: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.path = path


class DesignInputError(InventoryError, DesignError):
    """A :class:`DesignError` located in the inventory: ``problems`` holds one
    ``FILE:LINE: path: message`` record, as for any other input problem."""


class LedgerStaleError(InventoryError, LedgerError):
    """``allocations.yaml`` does not hold what ``fabric plan`` would allocate: the build
    refuses (the ledger is the reviewed source of truth). One problem, at the ledger."""


class RenderError(FabricError):
    """A device cannot be rendered (unsupported feature, template problem)."""


class DeployError(FabricError):
    """A deploy step failed on a device."""
