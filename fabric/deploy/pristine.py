"""What the fabric does not own: a device's pristine config, kept and pushed back unchanged.

``fabric onboard`` reads each device's running config once and keeps the parts listed in
:data:`fabric.platforms.DEPLOY` ``[platform].unmanaged`` (management interface and VRF,
AAA, users, SNMP, licences) in ``INVENTORY/pristine/<device>.<ext>``. That file is
reviewed and committed like the ledger. Every replace pushes :func:`combine` of the
pristine text and the rendered config, so a fabric object removed from the inventory is
removed from the device and nothing the fabric does not own is ever lost.

Two text shapes:

- ``junos``: curly-brace text, parsed with the renderer's strict parser; an unmanaged
  entry is a hierarchy path (``system login``, ``interfaces em0``) whose statements are
  kept whole. Combining merges the two trees (blocks with the same words merge; a leaf the
  rendered config sets wins over the pristine one of the same keyword path).
- ``nxos`` / ``frr``: indented CLI text; an unmanaged entry is a prefix of a top-level
  line (``username``, ``interface mgmt0``), which is kept with its indented children.
  Combining puts the pristine blocks first and adds the child lines of a block both
  have (``interface mgmt0``) to the rendered one.
"""

from __future__ import annotations

from pathlib import Path

from fabric.platforms import DEPLOY, Platform
from fabric.render.junos.tree import Stmt, parse, to_curly

PRISTINE_DIR = "pristine"


def pristine_path(inventory: Path, device: str, platform: Platform) -> Path:
    """Where ``fabric onboard`` keeps ``device``'s pristine config."""
    return inventory / PRISTINE_DIR / f"{device}.{DEPLOY[platform].config_format}"


def read_pristine(inventory: Path, device: str, platform: Platform) -> str | None:
    """The device's pristine text, or ``None`` when it was never onboarded."""
    path = pristine_path(inventory, device, platform)
    return path.read_text(encoding="utf-8") if path.exists() else None


def extract(platform: Platform, running: str) -> str:
    """The unmanaged parts of ``running`` (the device's running config), as text."""
    if platform == "junos":
        return _junos_extract(running, DEPLOY[platform].unmanaged)
    return _cli_extract(running, DEPLOY[platform].unmanaged)


def combine(platform: Platform, pristine: str | None, rendered: str) -> str:
    """The full config a replace pushes: ``pristine`` + ``rendered``."""
    if not pristine or not pristine.strip():
        return rendered
    if platform == "junos":
        return to_curly(_junos_merge(parse(rendered), parse(pristine)))
    return _cli_combine(pristine, rendered)


def blocks(platform: Platform, text: str) -> list[str]:
    """``text`` as its sorted top-level blocks (statement with everything under it), so two
    configs can be compared part by part whatever order a device prints them in."""
    if platform == "junos":
        return sorted(to_curly([s]) for s in parse(text))
    return sorted(_cli_text([b]) for b in cli_blocks(text))


# --- junos ---------------------------------------------------------------------------------


def _matches(stmt: Stmt, want: tuple[str, ...]) -> bool:
    return stmt.words[: len(want)] == want


def _junos_keep(stmts: list[Stmt], paths: list[tuple[str, ...]]) -> list[Stmt]:
    """The statements of ``stmts`` on one of ``paths`` (each a tuple of words per level)."""
    kept: list[Stmt] = []
    for s in stmts:
        whole = any(len(p) == 1 and _matches(s, (p[0],)) for p in paths)
        if whole:
            kept.append(s)
            continue
        deeper = [p[1:] for p in paths if len(p) > 1 and _matches(s, (p[0],))]
        if deeper and s.children:
            inner = _junos_keep(s.children, deeper)
            if inner:
                kept.append(Stmt(s.words, inner))
    return kept


def _junos_paths(unmanaged: tuple[str, ...]) -> list[tuple[str, ...]]:
    return [tuple(entry.split()) for entry in unmanaged]


def _junos_extract(running: str, unmanaged: tuple[str, ...]) -> str:
    kept = _junos_keep(parse(running), _junos_paths(unmanaged))
    return to_curly(kept) if kept else ""


def _key(s: Stmt) -> tuple[str, ...]:
    return s.words


def _junos_merge(rendered: list[Stmt], pristine: list[Stmt]) -> list[Stmt]:
    """Rendered statements, then pristine ones the rendered config does not have; blocks
    with the same words merge recursively; a pristine leaf whose keyword the rendered block
    already sets as a leaf (``host-name``) is dropped, so the rendered value wins."""
    out = [Stmt(s.words, list(s.children) if s.children is not None else None, s.values) for s in rendered]
    by_words = {_key(s): s for s in out}
    leaf_keywords = {s.keyword for s in out if s.children is None and len(s.words) <= 2}
    for p in pristine:
        same = by_words.get(_key(p))
        if same is not None:
            if same.children is not None and p.children is not None:
                same.children[:] = _junos_merge(same.children, p.children)
            continue
        if p.children is None and len(p.words) <= 2 and p.keyword in leaf_keywords:
            continue
        out.append(p)
        by_words[_key(p)] = p
    return out


# --- indented CLI (nxos, frr) ---------------------------------------------------------------


Block = tuple[str, list[str]]


def cli_blocks(text: str) -> list[Block]:
    """Top-level lines with their indented children; ``!`` comments and blank lines dropped."""
    blocks: list[Block] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("!"):
            continue
        if line[0] in " \t" and blocks:
            blocks[-1][1].append(line)
        else:
            blocks.append((line, []))
    return blocks


def _cli_text(blocks: list[Block]) -> str:
    out: list[str] = []
    for head, children in blocks:
        out.append(head)
        out.extend(children)
    return "\n".join(out) + "\n" if out else ""


def _prefix_match(line: str, prefix: str) -> bool:
    return line == prefix or line.startswith(prefix + " ")


def _cli_extract(running: str, unmanaged: tuple[str, ...]) -> str:
    kept = [b for b in cli_blocks(running) if any(_prefix_match(b[0], u) for u in unmanaged)]
    return _cli_text(kept)


def _cli_combine(pristine: str, rendered: str) -> str:
    rendered_blocks = cli_blocks(rendered)
    heads = {head: children for head, children in rendered_blocks}
    first: list[Block] = []
    for head, children in cli_blocks(pristine):
        if head in heads:
            mine = heads[head]
            mine.extend(c for c in children if c not in mine)
        else:
            first.append((head, children))
    return _cli_text(first + rendered_blocks)
