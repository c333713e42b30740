"""Small pieces every renderer uses the same way: the strict Jinja2 environment of its
templates, and the BGP neighbor list without repeats."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import jinja2

from fabric.design.intent import BgpNeighbor
from fabric.speed import address_text, environment_class, template_bytecode_cache


def template_environment(loader: jinja2.BaseLoader, finalize: Callable[[Any], Any] | None = None) -> jinja2.Environment:
    """Jinja2 for config text: an unknown name is an error (``StrictUndefined``), block
    tags leave no blank lines, nothing is HTML-escaped, templates are read once and their
    compiled code is kept between processes (:func:`fabric.speed.template_bytecode_cache`).
    The filter ``ip`` prints an address, interface or network as ``str()`` does, faster
    (:func:`fabric.speed.address_text`: where a template prints thousands of them). Set
    the environment's globals before loading a template (:func:`fabric.speed.environment_class`)."""
    options: dict[str, Any] = {
        "trim_blocks": True, "lstrip_blocks": True, "keep_trailing_newline": True, "autoescape": False,
    }
    env = environment_class()(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,
        bytecode_cache=template_bytecode_cache(tuple(sorted(options.items()))),
        **options,
    )
    env.filters["ip"] = address_text
    if finalize is not None:
        env.finalize = finalize
    return env


def dedupe_neighbors(*groups: Iterable[BgpNeighbor]) -> tuple[BgpNeighbor, ...]:
    """The neighbors of ``groups`` in order, each address once (a border leaf's fabric and
    DCI sessions may name the same peer)."""
    seen: set[object] = set()
    out: list[BgpNeighbor] = []
    for group in groups:
        for n in group:
            if n.address not in seen:
                seen.add(n.address)
                out.append(n)
    return tuple(out)


__all__ = ["dedupe_neighbors", "template_environment"]
