"""Design stage: inventory + allocations -> one vendor-neutral intent per device.

The intent model (the contract with renderers and exports) is :mod:`fabric.design.intent`;
the pipeline that builds it is :mod:`fabric.design.pipeline`.
"""

from fabric.design.intent import DeviceIntent, FabricSummary
from fabric.design.pipeline import Design, design, design_fabric

__all__ = ["Design", "DeviceIntent", "FabricSummary", "design", "design_fabric"]
