"""Design stage: inventory + allocations -> one vendor-neutral intent per device.

The intent model (the contract with renderers and exports) is :mod:`fabric.design.intent`.
"""

from fabric.design.intent import DeviceIntent, FabricSummary

__all__ = ["DeviceIntent", "FabricSummary"]
