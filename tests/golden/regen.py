"""Golden files of the design and render stages for the example inventories.

``python -m tests.golden.regen [INVENTORY...]`` (``make golden``) rewrites
``tests/golden/<inventory>/intent/<device>.json`` and ``configs/<device>.<ext>`` from what
the code produces now, removing files it no longer produces. Review the diff before
committing. Output is deterministic, so running it twice (or two people running it) gives
the same files. Only platforms with a registered renderer get configs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import fabric
from fabric.design.intent import JsonCache
from fabric.render.base import render_all

ROOT = Path(__file__).resolve().parent
INVENTORIES = ROOT.parent.parent / "inventories"
EXAMPLES = ("shownet2024", "shownet2024-dci", "lab")


def generate(name: str) -> dict[str, str]:
    """``{path relative to tests/golden/<name>: text}`` for one example inventory."""
    fab = fabric.load(INVENTORIES / name)
    intents = fab.design()
    rendered, _skipped = render_all(intents)
    cache = JsonCache()
    files = {f"intent/{d}.json": i.to_json(cache) for d, i in intents.items()}
    for d, r in rendered.items():
        for ext, text in r.files.items():
            files[f"configs/{d}.{ext}"] = text
    return dict(sorted(files.items()))


def golden_files(name: str) -> dict[str, Path]:
    """The checked-in golden files of one inventory: relative path -> file."""
    base = ROOT / name
    return {
        p.relative_to(base).as_posix(): p
        for sub in ("intent", "configs")
        if (base / sub).is_dir()
        for p in sorted((base / sub).iterdir())
        if p.is_file()
    }


def regen(name: str) -> tuple[int, int, int]:
    """Rewrite one inventory's golden files: (written, unchanged, removed)."""
    files = generate(name)
    base = ROOT / name
    written = unchanged = removed = 0
    for rel, text in files.items():
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.read_text(encoding="utf-8") == text:
            unchanged += 1
            continue
        path.write_text(text, encoding="utf-8", newline="\n")
        written += 1
    for rel, path in golden_files(name).items():
        if rel not in files:
            path.unlink()
            removed += 1
    return written, unchanged, removed


def main(argv: list[str]) -> int:
    for name in argv or EXAMPLES:
        w, u, r = regen(name)
        sys.stdout.write(f"{name}: {w} written, {u} unchanged, {r} removed\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
