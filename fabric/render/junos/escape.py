"""Making user text safe on its way into Junos configuration lines.

Two kinds of values reach the templates: identifiers (names of VLANs, VRFs, policies,
interfaces) which must be one bare Junos word, and free text (descriptions) which is
quoted. A control character (newline, tab, NUL, DEL...) would end a statement or inject a
new one, so it is refused, never stripped; quotes and backslashes inside free text are
escaped the way Junos prints them.
"""

from __future__ import annotations

import re

from fabric.errors import RenderError

__all__ = ["junos_string", "junos_word"]

# A bare word Junos prints without quotes (and our parser reads back as one token).
_BARE = re.compile(r"[A-Za-z0-9_.:/+-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Longest description Junos accepts (the schema's length limit).
MAX_TEXT = 900


def junos_word(value: object) -> str:
    """``value`` as one bare word; anything that would need quoting is refused."""
    text = str(value)
    if not _BARE.fullmatch(text):
        raise RenderError(f"{text!r} is not a valid Junos name (letters, digits and ._:/+- only)")
    return text


def junos_string(value: object) -> str:
    """``value`` as a Junos string: bare when it is one safe word, else double-quoted with
    ``"`` and ``\\`` escaped. Control characters (newlines included) are refused."""
    text = str(value)
    bad = _CONTROL.search(text)
    if bad:
        raise RenderError(f"text {text!r} contains a control character ({bad.group()!r}); refusing to put it in a config line")
    if len(text) > MAX_TEXT:
        raise RenderError(f"text of {len(text)} characters is longer than Junos accepts ({MAX_TEXT})")
    if _BARE.fullmatch(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
