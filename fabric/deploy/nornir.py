"""A Nornir inventory plugin: the fabric's switches as Nornir hosts.

Registered under the entry point group ``nornir.plugins.inventory`` as
``LeafspineInventory``::

    from nornir import InitNornir
    nr = InitNornir(inventory={"plugin": "LeafspineInventory",
                               "options": {"inventory": "inventories/shownet2024"}})
    nr.filter(role="leaf", pod="pod1").run(task=...)

Each host has ``hostname``/``port``/``platform`` (``junos``, ``nxos``, ``frr``) and the
credentials from the environment or the credentials file (never from the inventory);
``data`` holds ``role``, ``pod``, ``rack``, ``pair``, ``site``, ``model``, ``driver`` and
``fabric``; it belongs to the groups ``role:<role>``, ``platform:<platform>`` and
``pod:<pod>``; ``connection_options`` has ``napalm`` (``optional_args`` as the ``napalm``
deploy driver passes them) and ``netconf`` (ncclient's ``device_params`` and port).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nornir.core.inventory import ConnectionOptions, Defaults, Group, Groups, Host, Hosts, Inventory, ParentGroups

from fabric.deploy.targets import Target, resolve_targets


def _napalm_args(t: Target) -> dict[str, Any]:
    c = t.connection
    args: dict[str, Any] = {}
    if t.platform == "nxos":
        args["transport"] = c.options.get("transport", "https")
    if c.port:
        args["port"] = c.port
    return args


class LeafspineInventory:
    """``inventory``: the inventory folder; ``host_key_check``: as ``fabric deploy``."""

    def __init__(self, inventory: str, host_key_check: bool = True, **_: Any) -> None:
        self.inventory = Path(inventory)
        self.host_key_check = host_key_check

    def load(self) -> Inventory:
        import fabric

        fab = fabric.load(self.inventory)
        targets = resolve_targets(fab.inventory, fab.path, host_key_check=self.host_key_check)
        models = {sw.name: sw.model for sw in fab.inventory.switches()}
        groups = Groups()
        hosts = Hosts()
        for t in targets.values():
            names = [f"role:{t.role}", f"platform:{t.platform}"] + ([f"pod:{t.pod}"] if t.pod else [])
            for g in names:
                groups.setdefault(g, Group(name=g))
            c = t.connection
            hosts[t.device] = Host(
                name=t.device, hostname=c.host, port=c.port, username=c.username, password=c.password,
                platform=t.platform, groups=ParentGroups(groups[g] for g in names),
                data={"role": t.role, "pod": t.pod, "rack": t.rack, "pair": t.pair, "site": t.site,
                      "model": models.get(t.device), "driver": t.driver, "fabric": fab.name},
                connection_options={
                    "napalm": ConnectionOptions(extras={"optional_args": _napalm_args(t), "timeout": c.timeout}),
                    "netconf": ConnectionOptions(port=c.port or 830, extras={
                        "device_params": {"name": t.platform}, "hostkey_verify": c.known_hosts is not None,
                        "timeout": c.timeout}),
                },
            )
        return Inventory(hosts=hosts, groups=groups, defaults=Defaults())
