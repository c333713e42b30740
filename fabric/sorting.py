"""The one natural sort key of the project: ``leaf2`` before ``leaf10``, ``et-0/0/9``
before ``et-0/0/10``. Ledger keys, ports and device names all sort with it."""

from __future__ import annotations

import re

_NUM = re.compile(r"(\d+)")


def natural_key(s: str) -> tuple[object, ...]:
    """Digit runs compare as numbers, the text between them as text. The key alternates
    text and number from the start (``re.split`` with a group always begins with text),
    so two keys never compare a number with a string."""
    return tuple(int(p) if p.isdigit() else p for p in _NUM.split(s))


__all__ = ["natural_key"]
