"""bgp-agent configs of the Kubernetes nodes, written by ``fabric build`` from the intent.

Per node ``agents/<cluster>/<node>.yaml`` and per cluster ``agents/<cluster>/configmap.yaml``
(one entry ``<node>.yaml`` per node, the same text as the node file, mounted as is by the
DaemonSet in ``deploy/daemonset.yaml``).

Each file has two parts, split by the line :data:`USER_MARKER`:

- above it, what the fabric decides, taken from the *leaf's* intent (:class:`K8sPeering`),
  so the two ends of every session agree by construction: the node's ASN and router id
  (its IPv4 address), one peer per session the leaf renders (the leaf's own peering
  address in the cluster network's VRF as ``address`` (ledger ``k8s_peering``, never the
  anycast gateway), ``multihop`` (a loopback behind the node's gateway), the leaf's ASN,
  the node's address as ``local_address``, the family of that session, the cluster's hold
  time), and the guard rails (the cluster's
  service ranges as ``guard.allowed_ranges``, host routes only, its ``max_prefixes``);
- below it, the user's part (checks, services, sources, attributes, drain, metrics,
  state_dir ...): ``fabric build`` takes it from the files it wrote last time and never
  changes it: from the node file or from the node's ConfigMap entry, whichever was edited
  since (the ConfigMap records a digest of what the build wrote; both edited differently is
  an error, so neither edit is lost). A new node starts with :func:`default_user_section`.

The keys of the fabric's part (:data:`FABRIC_KEYS`) may not appear in the user's part. Every
file is validated with :func:`bgp.config.validate_config` before anything is written, so a
config the agent would refuse fails the build with ``FILE:LINE: path: message``.
``fabric`` imports ``bgp.config``; ``bgp`` never imports ``fabric``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bgp.config import AgentConfig, GuardConfig, PeerConfig, validate_config
from bgp.configfile import ConfigError, Loc, parse_yaml
from bgp.configfile import Problem as AgentProblem
from fabric.design.intent import DeviceIntent, FabricSummary, K8sNodePeer, K8sPeering
from fabric.errors import DesignError, InventoryError, Problem
from fabric.export.text import yaml_comment, yaml_str

AGENT_SPEAKER = "bgp-agent"
"""Agent configs are written for the clusters whose nodes run this speaker."""
AGENT_DIR = "agents"
CONFIGMAP = "configmap.yaml"
CONFIGMAP_NAME = "bgp-agent"
"""The ConfigMap the DaemonSet in ``deploy/daemonset.yaml`` mounts."""
CONFIGMAP_NAMESPACE = "kube-system"

USER_MARKER = "# ---- user section: everything below this line is yours; `fabric build` keeps it ----"
"""The line between the fabric's part and the user's part of a node's config."""

FABRIC_KEYS: frozenset[str] = frozenset({"asn", "router_id", "peers", "guard"})
"""Top-level keys the fabric writes; the user's part may not set them."""

DIGESTS = "leafspine.io/user-sections"
"""ConfigMap annotation: node -> digest of the user section the build wrote (JSON)."""

METRICS = "0.0.0.0:9179"
"""Metrics address of a new node's user section: the DaemonSet's liveness probe and the
Prometheus annotations reach the pod on the node's address (hostNetwork), port 9179."""


@dataclass(frozen=True, slots=True)
class NodeAgent:
    """The fabric's part of one node's agent config, and where it comes from."""

    node: str
    cluster: str
    fabric: str
    leaf: str
    """The leaf the node is cabled to (the peer of every session)."""
    config: AgentConfig
    """The fabric's part alone, validated (no services, checks or sources)."""


def _peers(leaf: str, p: K8sPeering, n: K8sNodePeer) -> tuple[PeerConfig, ...]:
    peers = [PeerConfig(
        name=leaf, address=p.local_address, asn=p.local_asn, local_address=n.address,
        hold_time=p.hold_time, families=("ipv4",), multihop=p.multihop_ttl,
    )]
    if n.address6 is not None and p.local_address6 is not None:
        peers.append(PeerConfig(
            name=f"{leaf}-v6", address=p.local_address6, asn=p.local_asn, local_address=n.address6,
            hold_time=p.hold_time, families=("ipv6",), multihop=p.multihop_ttl,
        ))
    return tuple(peers)


def _lengths(p: K8sPeering, version: int) -> tuple[int, ...]:
    """Prefix lengths the leaf's import filter accepts for one family."""
    return tuple(sorted({n for f in p.accept if f.prefix.version == version for n in range(f.min_length, f.max_length + 1)}))


def _node_path(summary: FabricSummary, cluster: str, node: str) -> tuple[str | int, ...]:
    """The inventory data path of ``node`` (clusters and nodes are in inventory order)."""
    for ci, c in enumerate(summary.clusters):
        if c.name == cluster:
            return ("kubernetes", "clusters", ci, "nodes", c.nodes.index(node)) if node in c.nodes else (
                "kubernetes", "clusters", ci)
    return ("kubernetes",)


def node_agents(intents: Mapping[str, DeviceIntent], summary: FabricSummary) -> tuple[NodeAgent, ...]:
    """The fabric's part of every node's config, clusters and nodes in inventory order
    (clusters whose speaker is bgp-agent; other speakers have their own configs).

    Built from each leaf's :class:`K8sPeering` (the sessions the leaf renders), so a peer
    here is exactly a neighbor there. Raises :class:`DesignError` if a value is one the
    agent would refuse."""
    found: dict[str, NodeAgent] = {}
    for leaf, intent in intents.items():
        for p in intent.kubernetes:
            ranges: tuple[IPv4Network | IPv6Network, ...] = tuple(f.prefix for f in p.accept)
            for n in p.nodes:
                try:
                    config = AgentConfig(
                        asn=n.asn,
                        router_id=n.address,
                        peers=_peers(leaf, p, n),
                        guard=GuardConfig(
                            allowed_ranges=ranges,
                            ipv4_lengths=_lengths(p, 4) or (32,),
                            ipv6_lengths=_lengths(p, 6) or (128,),
                            max_prefixes=p.max_prefixes,
                        ),
                    )
                except ValidationError as e:
                    what = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
                    raise DesignError(f"cluster {p.cluster}: node {n.name}: bgp-agent would refuse its config: {what}",
                                      _node_path(summary, p.cluster, n.name)) from None
                found[n.name] = NodeAgent(n.name, p.cluster, summary.fabric.name, leaf, config)
    return tuple(
        found[name] for c in summary.clusters if c.speaker == AGENT_SPEAKER for name in c.nodes if name in found
    )


def _addr(value: IPv4Address | IPv6Address | IPv4Network | IPv6Network) -> str:
    return yaml_str(value)


def fabric_part(agent: NodeAgent) -> str:
    """YAML text of the fabric's part (keys :data:`FABRIC_KEYS`), fixed order."""
    c = agent.config
    lines = [f"asn: {c.asn}", f"router_id: {_addr(c.router_id)}", "peers:"]
    for p in c.peers:
        assert p.local_address is not None
        lines += [
            f"  - name: {yaml_str(p.label)}",
            f"    address: {_addr(p.address)}",
            f"    asn: {p.asn}",
            f"    local_address: {_addr(p.local_address)}",
            f"    families: [{', '.join(p.families)}]",
            f"    hold_time: {p.hold_time}",
        ]
        if p.multihop is not None:
            lines.append(f"    multihop: {p.multihop}")
    lines += [
        "guard:",
        f"  allowed_ranges: [{', '.join(_addr(r) for r in c.guard.allowed_ranges)}]",
        f"  ipv4_lengths: [{', '.join(str(n) for n in c.guard.ipv4_lengths)}]",
        f"  ipv6_lengths: [{', '.join(str(n) for n in c.guard.ipv6_lengths)}]",
        f"  max_prefixes: {c.guard.max_prefixes}",
    ]
    return "\n".join(lines) + "\n"


def default_user_section(agent: NodeAgent) -> str:
    """The user's part of a node seen for the first time: commented examples and the
    metrics address the DaemonSet probes."""
    ranges = ", ".join(str(r) for r in agent.config.guard.allowed_ranges)
    return (
        f"# Services may announce host routes inside {yaml_comment(ranges)} only (guard, above).\n"
        "# Examples (docs/bgp-agent.md):\n"
        "# checks:\n"
        "#   resolver: {kind: dns, server: ADDRESS, qname: example.org., interval: 1, timeout: 0.5, rise: 2, fall: 2}\n"
        "# services:\n"
        "#   - {name: anycast-dns, prefixes: [ADDRESS/32], check: resolver}\n"
        "# sources:\n"
        "#   kubernetes: {}\n"
        f"metrics: {yaml_str(METRICS)}\n"
    )


def node_file(agent: NodeAgent, user: str) -> str:
    """The whole text of ``agents/<cluster>/<node>.yaml``: header, fabric's part, marker,
    the user's part as given."""
    head = (
        f"# bgp-agent config of node {agent.node} (cluster {agent.cluster}, fabric {agent.fabric}),\n"
        "# written by `fabric build`. Above the user-section line: the sessions its leaf\n"
        f"# {agent.leaf} renders and the cluster's guard rails; change the inventory, not this part.\n"
    )
    user = user if not user or user.endswith("\n") else user + "\n"
    return f"{head}{fabric_part(agent)}{USER_MARKER}\n{user}"


def split_user(text: str) -> str | None:
    """The user's part of a node file (the text after :data:`USER_MARKER`), or None
    when the marker line is not there exactly once."""
    parts = re.split(rf"^{re.escape(USER_MARKER)}[ \t]*\r?\n?", text, flags=re.MULTILINE)
    return parts[1] if len(parts) == 2 else None


def configmap_file(cluster: str, fabric: str, files: Mapping[str, str], source: str = "`fabric build`") -> str:
    """``agents/<cluster>/configmap.yaml``: one ``<node>.yaml`` entry per node file. The
    annotation :data:`DIGESTS` records a digest of each entry's user section, so the next
    build can tell whether the node file or the ConfigMap entry was edited."""
    digests = {node: _digest(split_user(text) or "") for node, text in files.items()}
    out = [
        f"# bgp-agent ConfigMap of cluster {yaml_comment(cluster)} (fabric {yaml_comment(fabric)}), written by {source}.",
        "# One entry per node (the text `fabric build` writes to agents/<cluster>/<node>.yaml); the",
        "# DaemonSet in deploy/daemonset.yaml mounts it as is and each pod reads /etc/bgp-agent/<node>.yaml.",
        f"# Edit an entry only below its user-section line: {source} keeps that part.",
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata:",
        f"  name: {CONFIGMAP_NAME}",
        f"  namespace: {CONFIGMAP_NAMESPACE}",
        "  labels:",
        "    app.kubernetes.io/name: bgp-agent",
        f"    leafspine.io/cluster: {yaml_str(cluster)}",
        "  annotations:",
        # names are letters, digits and "._-", digests hex: nothing to escape in single quotes
        f"    {DIGESTS}: '{json.dumps(digests, separators=(',', ':'))}'",
        "data:",
    ]
    for node, text in files.items():
        out.append(f"  {node}.yaml: |")
        out.extend(f"    {line}" if line.strip() else "" for line in text.rstrip("\n").split("\n"))
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- reading back


@dataclass(frozen=True, slots=True)
class _UserPart:
    text: str
    file: str
    line: int
    """1-based line of the first line of the user's part in ``file``."""


def _problem(file: str, line: int, path: str, message: str) -> Problem:
    return Problem(file, line, path, message)


@dataclass(frozen=True, slots=True)
class _ConfigMapParts:
    parts: dict[str, _UserPart]
    """node -> the user's part of its entry."""
    unmarked: dict[str, int]
    """node -> line of an entry without (or with a repeated) user-section line."""
    written: dict[str, str]
    """node -> digest of the user's part as the last build wrote it (:data:`DIGESTS`)."""


def _digest(user: str) -> str:
    return hashlib.sha256(user.encode("utf-8")).hexdigest()[:16]


def _read_configmap(path: Path, display: str, problems: list[Problem]) -> _ConfigMapParts:
    """The user's part of every entry of a ConfigMap written by an earlier build."""
    none = _ConfigMapParts(parts={}, unmarked={}, written={})
    text = _read_text(path, display, problems)
    if text is None:
        return none
    try:
        doc, lines = parse_yaml(text, display)
    except ConfigError as e:
        problems.extend(_problems(e))
        return none
    data = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(data, dict):
        problems.append(_problem(display, 0, "data", "not a ConfigMap with data entries; fix or delete the file"))
        return none
    written: dict[str, str] = {}
    try:
        recorded = json.loads(doc["metadata"]["annotations"][DIGESTS])
        if isinstance(recorded, dict):
            written = {str(k): str(v) for k, v in recorded.items()}
    except (KeyError, TypeError, ValueError):
        pass  # no record: an entry that differs from its node file is then a conflict
    out: dict[str, _UserPart] = {}
    unmarked: dict[str, int] = {}
    for key, value in data.items():
        if not (isinstance(key, str) and key.endswith(".yaml") and isinstance(value, str)):
            continue
        node = key.removesuffix(".yaml")
        where = lines.get(("data", key), 0)
        user = split_user(value)
        if user is None:
            unmarked[node] = where
            continue
        before = value[: len(value) - len(user)].count("\n")
        out[node] = _UserPart(user, display, where + 1 + before if where else 0)
    return _ConfigMapParts(parts=out, unmarked=unmarked, written=written)


def _pick(
    from_file: _UserPart | None, from_map: _UserPart | None, written: str | None, node: str, problems: list[Problem]
) -> _UserPart | None:
    """The user's part to keep: the node file's or the ConfigMap entry's, whichever the user
    edited since the last build (the other still has the digest recorded then). Both
    edited differently: a problem, so that neither edit is lost."""
    if from_file is None or from_map is None or from_file.text == from_map.text:
        return from_file or from_map
    if written is not None and _digest(from_map.text) == written:
        return from_file
    if written is not None and _digest(from_file.text) == written:
        return from_map
    problems.append(_problem(
        from_map.file, from_map.line, f"data.{node}.yaml",
        f"the user section differs from the one in {from_file.file} and both changed since the last build; "
        "make them the same (or delete one of the two) so that `fabric build` keeps the right one",
    ))
    return None


def _read_text(path: Path, display: str, problems: list[Problem]) -> str | None:
    """The text of an earlier build's file; None when there is none or it cannot be read
    (that is then one of ``problems``)."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        problems.append(_problem(display, 0, "", f"cannot read: {e}"))
        return None


def _read_node(path: Path, display: str, problems: list[Problem]) -> _UserPart | None:
    text = _read_text(path, display, problems)
    if text is None:
        return None
    user = split_user(text)
    if user is None:
        problems.append(_problem(display, 0, "", "the user-section line is missing or repeated; restore it "
                                                 f"({USER_MARKER!r}) so that `fabric build` can tell your part from its own"))
        return None
    return _UserPart(user, display, text[: len(text) - len(user)].count("\n") + 1)


def _check_user(part: _UserPart, problems: list[Problem]) -> None:
    """The user's part alone: a mapping (or nothing) that sets none of :data:`FABRIC_KEYS`."""
    try:
        data, lines = parse_yaml(part.text, part.file)
    except ConfigError:
        return  # reported with its line when the whole file is validated
    if data is None:
        return
    if not isinstance(data, dict):
        problems.append(_problem(part.file, part.line, "", "the user section must be a mapping (checks, services, ...)"))
        return
    for key in data:
        if key in FABRIC_KEYS:
            line = lines.get((str(key),), 1) + part.line - 1
            problems.append(_problem(part.file, line, str(key),
                                     "set by `fabric build` from the inventory (above the user-section line); "
                                     "remove it from the user section"))


def _problems(e: ConfigError, offset: int = 0) -> list[Problem]:
    """bgp.config's problems as the fabric's; ``offset`` moves their lines (a text that
    sits further down in its file)."""
    return [_problem(p.file, p.line + offset if p.line else 0, p.path, p.message) for p in e.problems]


def validate_node_file(text: str, display: str) -> AgentConfig:
    """Validate a node file's text with the agent's own loader and models
    (:func:`bgp.configfile.parse_yaml`, :func:`bgp.config.validate_config`); raises
    :class:`bgp.configfile.ConfigError`.

    The two parts are parsed apart and merged, the fabric's keys winning: a fabric key
    repeated in the user's part (reported on its own by the build) hides none of the user's
    other mistakes."""
    user = split_user(text)
    if user is None:
        whole, whole_lines = parse_yaml(text, display)
        return validate_config(whole, display, whole_lines)
    head = text[: len(text) - len(user)]
    offset = head.count("\n")
    ours, our_lines = parse_yaml(head, display)
    try:
        theirs, their_lines = parse_yaml(user, display)
    except ConfigError as e:
        raise ConfigError([AgentProblem(p.file, p.line + offset if p.line else 0, p.path, p.message)
                           for p in e.problems]) from None
    if theirs is not None and not isinstance(theirs, dict):
        raise ConfigError([AgentProblem(display, offset + 1, "", "the user section must be a mapping")])
    data: dict[Any, Any] = {k: v for k, v in (theirs or {}).items() if k not in FABRIC_KEYS}
    data.update(ours if isinstance(ours, dict) else {})
    lines: dict[Loc, int] = {k: v + offset for k, v in their_lines.items() if k and k[0] not in FABRIC_KEYS}
    lines.update(our_lines)
    return validate_config(data, display, lines)


def agent_files(
    intents: Mapping[str, DeviceIntent],
    summary: FabricSummary,
    out_dir: Path,
    *,
    configmaps: Mapping[str, str] | None = None,
    node_files: bool = True,
    source: str = "`fabric build`",
) -> dict[str, str]:
    """``{path relative to out_dir: text}`` of every node file and ConfigMap, keeping the
    user's parts found under ``out_dir/agents``. Raises :class:`InventoryError` listing
    every problem (a user section that sets a fabric key, a config the agent would
    refuse, a node file and ConfigMap entry whose user sections both changed); nothing is
    written here.

    ``configmaps`` maps a cluster to its ConfigMap's path relative to ``out_dir`` (default
    ``agents/<cluster>/configmap.yaml``); ``node_files=False`` writes (and reads) only the
    ConfigMaps, as for ``deploy/configmap.yaml``."""
    agents = node_agents(intents, summary)
    problems: list[Problem] = []
    files: dict[str, str] = {}
    by_cluster: dict[str, dict[str, str]] = {}
    maps: dict[str, _ConfigMapParts] = {}
    for a in agents:
        rel_dir = f"{AGENT_DIR}/{a.cluster}"
        map_rel = (configmaps or {}).get(a.cluster, f"{rel_dir}/{CONFIGMAP}")
        if a.cluster not in maps:
            maps[a.cluster] = _read_configmap(out_dir / map_rel, map_rel, problems)
        rel = f"{rel_dir}/{a.node}.yaml"
        from_file = _read_node(out_dir / rel, rel, problems) if node_files else None
        from_map = maps[a.cluster].parts.get(a.node)
        if a.node in maps[a.cluster].unmarked:
            problems.append(_problem(map_rel, maps[a.cluster].unmarked[a.node], f"data.{a.node}.yaml",
                                     "the user-section line is missing or repeated; restore it so that "
                                     f"{source} can tell your part from its own"))
        part = _pick(from_file, from_map, maps[a.cluster].written.get(a.node), a.node, problems)
        user = part.text if part is not None else default_user_section(a)
        if part is not None:
            _check_user(part, problems)
        text = node_file(a, user)
        try:
            validate_node_file(text, rel)
        except ConfigError as e:
            # a problem in the user's part is reported where the user wrote it
            head = len(text) - len(user)
            user_line0 = text[:head].count("\n") + 1
            for p in _problems(e):
                if part is not None and p.line >= user_line0:
                    problems.append(_problem(part.file, p.line - user_line0 + part.line, p.path, p.message))
                else:
                    problems.append(p)
        if node_files:
            files[rel] = text
        by_cluster.setdefault(a.cluster, {})[a.node] = text
    if problems:
        raise InventoryError(problems)
    for cluster, texts in by_cluster.items():
        map_rel = (configmaps or {}).get(cluster, f"{AGENT_DIR}/{cluster}/{CONFIGMAP}")
        files[map_rel] = configmap_file(cluster, summary.fabric.name, texts, source)
    return files


def stale_agent_files(out_dir: Path, keep: set[Path]) -> tuple[list[Path], list[Path]]:
    """Files under ``out_dir/agents`` that this build no longer writes: (those to remove,
    those kept because their user section is not a fresh one). Pure apart from reading."""
    remove: list[Path] = []
    kept: list[Path] = []
    root = out_dir / AGENT_DIR
    if not root.is_dir():
        return remove, kept
    for p in sorted(root.glob("*/*")):
        if not p.is_file() or p in keep:
            continue
        if p.name.startswith(".") and p.name.endswith(".tmp"):
            remove.append(p)
            continue
        try:
            user = split_user(p.read_text(encoding="utf-8")) if p.name != CONFIGMAP else None
        except (OSError, UnicodeDecodeError):
            user = "?"
        if p.name == CONFIGMAP or user is None or _fresh(user):
            remove.append(p)
        else:
            kept.append(p)
    return remove, kept


def _fresh(user: str) -> bool:
    """A user section with nothing but comments and the default metrics line."""
    body = [ln for ln in user.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    return body in ([], [f"metrics: {yaml_str(METRICS)}"])

__all__ = [
    "AGENT_DIR", "CONFIGMAP", "FABRIC_KEYS", "USER_MARKER", "NodeAgent", "agent_files", "configmap_file",
    "default_user_section", "fabric_part", "node_agents", "node_file", "split_user", "stale_agent_files",
    "validate_node_file",
]
