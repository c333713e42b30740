"""The deploy/ manifests: example configs validate, RBAC stays read-only and minimal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bgp.config import validate_config

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


def docs(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((DEPLOY / name).read_text()) if d]


@pytest.mark.parametrize("key", sorted(docs("configmap.yaml")[0]["data"]))
def test_example_configs_validate(key: str) -> None:
    data = yaml.safe_load(docs("configmap.yaml")[0]["data"][key])
    cfg = validate_config(data, key)
    assert cfg.guard.allowed_ranges
    assert any(s.name == "anycast-dns" for s in cfg.services)


def test_rbac_is_read_only_services_and_endpointslices() -> None:
    (role,) = [d for d in docs("rbac.yaml") if d["kind"] == "ClusterRole"]
    granted = {(g, r, v) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    assert granted == {
        (g, r, v) for g, r in (("", "services"), ("discovery.k8s.io", "endpointslices")) for v in ("get", "list", "watch")
    }


def test_daemonset_host_network_and_prestop_drain() -> None:
    (ds,) = docs("daemonset.yaml")
    spec = ds["spec"]["template"]["spec"]
    assert spec["hostNetwork"] is True
    (container,) = spec["containers"]
    assert "bgp-agent drain" in " ".join(container["lifecycle"]["preStop"]["exec"]["command"])
    assert spec["serviceAccountName"] == "bgp-agent"
