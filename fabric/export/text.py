"""Escaping user text on its way into Markdown, XML/SVG, CSV and YAML.

Inventory descriptions are free text; a ``|`` breaks a Markdown table, a ``<`` breaks the
SVG, a comma breaks a CSV row and a ``:`` or ``#`` changes a YAML value. Every export sends
user text through one of these functions and nothing else.
"""

from __future__ import annotations

import json
import re
from typing import cast

from fabric.speed import ADDRESS_TYPES, IPAddressValue, address_text

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def text_of(value: object) -> str:
    """``str(value)``; addresses through :func:`fabric.speed.address_text` (the same text,
    faster: the exports print thousands of them)."""
    if type(value) in ADDRESS_TYPES:
        return address_text(cast(IPAddressValue, value))
    return str(value)


def clean(text: str) -> str:
    """Drop control characters (they have no business in any of our outputs) and fold
    newlines and tabs into single spaces."""
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        # printable text has no control character and no whitespace but the space (the
        # usual case: names, addresses): nothing to drop or fold
        return text
    return " ".join(_CONTROL.sub("", text).split())


def md(text: object) -> str:
    """Text for a Markdown paragraph or table cell: Markdown punctuation is backslash-escaped,
    so a description cannot open a link, a heading or a new table column."""
    return _MD_SPECIAL.sub(r"\\\1", clean(text_of(text)))


def md_code(text: object) -> str:
    """Text shown as inline code (names, addresses); backticks and pipes cannot occur in
    validated names, but are replaced anyway so a cell never breaks."""
    s = clean(text_of(text)).replace("`", "'").replace("|", "/")
    return f"`{s}`" if s else ""


def xml(text: object) -> str:
    """Text for XML character data or a double-quoted attribute."""
    s = clean(text_of(text))
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def yaml_str(text: object) -> str:
    """A YAML double-quoted scalar. JSON strings (ASCII-escaped) are valid YAML 1.2 and
    1.1 double-quoted scalars, so ``json.dumps`` is the escaper."""
    return json.dumps(clean(text_of(text)), ensure_ascii=True)


def yaml_comment(text: object) -> str:
    """Text safe after ``#`` on one line."""
    return clean(text_of(text))
