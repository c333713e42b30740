"""The deploy/ manifests: example configs validate, RBAC stays read-only and minimal."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from bgp.config import AgentConfig, validate_config

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


# Docker is not available here: the manifests and the Dockerfile are checked by parsing them
# (and by running the Dockerfile's own dependency-list command), not by building or applying.

ROOT = DEPLOY.parent


def container() -> dict[str, Any]:
    (ds,) = docs("daemonset.yaml")
    (c,) = ds["spec"]["template"]["spec"]["containers"]
    return dict(c)


def test_probes_have_explicit_timeouts_and_thresholds() -> None:
    c = container()
    for probe in ("readinessProbe", "livenessProbe"):
        for key in ("periodSeconds", "timeoutSeconds", "failureThreshold"):
            assert isinstance(c[probe][key], int), f"{probe}.{key}"
    # the readiness command starts a Python process: more than the 1 s default
    assert c["readinessProbe"]["timeoutSeconds"] >= 3


def _listen_covers(listen: str | None, host: str, port: int) -> bool:
    """Does an agent with ``metrics: listen`` accept a TCP connect to host:port?"""
    if listen is None:
        return False
    addr, _, p = listen.rpartition(":")
    return int(p) == port and addr.strip("[]") in (host, "0.0.0.0", "::")


def test_liveness_probe_reaches_the_default_and_every_example_metrics_listener() -> None:
    """The probe must hit what the agent listens on, or the kubelet kills (and so drains)
    the node every ~40 s: with hostNetwork the default host would be the node address."""
    probe = container()["livenessProbe"]["tcpSocket"]
    ports = {p["name"]: p["containerPort"] for p in container()["ports"]}
    port = ports.get(probe["port"], probe["port"])
    host = probe.get("host")
    assert host == "127.0.0.1"
    assert _listen_covers(AgentConfig.model_fields["metrics"].default, host, port)
    for key, text in docs("configmap.yaml")[0]["data"].items():
        cfg = validate_config(yaml.safe_load(text), key)
        assert _listen_covers(cfg.metrics, host, port), f"{key}: metrics {cfg.metrics} is not reachable at {host}:{port}"


def test_pod_runs_with_a_seccomp_profile_and_without_privileges() -> None:
    (ds,) = docs("daemonset.yaml")
    pod = ds["spec"]["template"]["spec"]
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = container()["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"] == {"drop": ["ALL"]} and sc["runAsNonRoot"]


def _pyproject() -> dict[str, Any]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return dict(tomllib.load(f))


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_image_installs_the_agent_extra_and_nothing_copied() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    (command,) = re.findall(r'RUN python -c "(.*?)" \\', text)
    r = subprocess.run([sys.executable, "-c", command], cwd=ROOT, capture_output=True, text=True, check=True)
    extra = _pyproject()["project"]["optional-dependencies"]["agent"]
    assert r.stdout.split() == extra
    for req in extra:
        assert req not in text, f"{req} is copied into the Dockerfile"


def test_agent_extra_agrees_with_the_dependencies() -> None:
    project = _pyproject()["project"]
    base = {_name(r): r for r in project["dependencies"]}
    for req in project["optional-dependencies"]["agent"]:
        assert base.get(_name(req)) == req, f"{req} differs from the full install's {base.get(_name(req))}"


def test_bgp_imports_only_what_the_agent_extra_provides() -> None:
    """Every third-party module bgp/ imports (also inside functions) comes from the extra."""
    provided = {_name(r) for r in _pyproject()["project"]["optional-dependencies"]["agent"]}
    dists = importlib.metadata.packages_distributions()
    missing: set[str] = set()
    for path in (ROOT / "bgp").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else [])
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "bgp":
                    continue
                if not {_name(d) for d in dists.get(top, [top])} & provided:
                    missing.add(f"{path.relative_to(ROOT)}: {name}")
    assert not missing, sorted(missing)
