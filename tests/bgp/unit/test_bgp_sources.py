"""The static and directory sources."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from ipaddress import ip_network
from pathlib import Path

from bgp.config import DirectorySourceConfig, ServiceConfig
from bgp.sources.base import DesiredService
from bgp.sources.directory import DirectorySource
from bgp.sources.static import StaticSource


def test_static_source_publishes_once_and_is_synced() -> None:
    got: list[tuple[str, Mapping[str, DesiredService]]] = []
    src = StaticSource([ServiceConfig(name="dns", prefixes=("192.0.2.53/32",), check="dns", communities=("65101:1",))])

    async def go() -> None:
        task = asyncio.create_task(src.run(lambda n, s: got.append((n, s))))
        await asyncio.sleep(0.01)
        task.cancel()

    asyncio.run(go())
    assert len(got) == 1
    name, snap = got[0]
    assert name == "static"
    assert snap["static/dns"] == DesiredService(
        "static/dns", frozenset({ip_network("192.0.2.53/32")}), "dns", ("65101:1",), (), "static"
    )
    assert src.status().synced


def test_directory_source_reloads_and_keeps_last_good_content(tmp_path: Path) -> None:
    (tmp_path / "web.yaml").write_text("- {name: web, prefixes: [192.0.2.80/32]}\n")
    src = DirectorySource(DirectorySourceConfig(path=tmp_path, poll_interval=0.01))
    snaps: list[Mapping[str, DesiredService]] = []

    async def go() -> None:
        task = asyncio.create_task(src.run(lambda n, s: snaps.append(s)))
        await asyncio.sleep(0.05)
        (tmp_path / "dns.yaml").write_text("- {name: dns, prefixes: ['2001:db8::53/128']}\n")
        await asyncio.sleep(0.05)
        (tmp_path / "web.yaml").write_text("- {name: web, prefixes: [not-an-ip]}\n")  # a typo
        await asyncio.sleep(0.05)
        (tmp_path / "dns.yaml").unlink()
        await asyncio.sleep(0.05)
        task.cancel()

    asyncio.run(go())
    keys = [sorted(s) for s in snaps]
    assert keys[0] == ["dir/web/web"]
    assert ["dir/dns/dns", "dir/web/web"] in keys
    # the typo did not withdraw web; removing dns.yaml did withdraw dns
    assert keys[-1] == ["dir/web/web"]
    assert snaps[-1]["dir/web/web"].prefixes == frozenset({ip_network("192.0.2.80/32")})
    st = src.status()
    assert st.synced and st.sync_errors >= 1
    assert st.last_error is not None and "web.yaml" in st.last_error
