"""Host many Junos test devices in one process, apart from the controller being measured.

    python -m tests.bench.device_host < spec.json

``spec.json``: ``{"devices": [{"name", "config"}], "username", "password", "minute",
"latency"}``. Prints one JSON line ``{"name": {"host", "port", "known_hosts"}}`` once every
device listens, then serves until stdin closes. Running the devices in their own process
keeps their SSH/NETCONF work from competing with the controller for one interpreter lock,
as real switches would not.
"""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack

from tests.devices.junos import JunosDevice


def main() -> int:
    spec = json.loads(sys.stdin.readline())
    with ExitStack() as stack:
        out = {}
        for d in spec["devices"]:
            dev = stack.enter_context(JunosDevice(d["config"], hostname=d["name"], username=spec["username"],
                                                  password=spec["password"], minute=spec.get("minute", 60.0)))
            dev.faults.latency = float(spec.get("latency", 0.0))
            out[d["name"]] = {"host": dev.host, "port": dev.port, "known_hosts": dev.known_hosts_line()}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()
        for _ in sys.stdin:  # serve until the parent closes our stdin
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
