"""Making user text safe on its way into line-oriented CLI configs (NX-OS, FRR).

Identifiers (VRF, route-map, prefix-list names) come from the inventory's name pattern
and are checked again here, because a space would split a command. Free text
(descriptions) runs to the end of its line: a control character (newline, CR, tab,
NUL, DEL, ...) would end the statement and start an injected one, so it is refused,
never stripped. NX-OS also reads ``"`` as the start of a quoted string and ``?`` as a
help request on a pasted line, so those are refused on NX-OS too; FRR takes both
literally. Overlong text is cut at the platform's limit (a description is a label:
losing its tail is harmless, refusing the whole fabric over it is not).
"""

from __future__ import annotations

import re

from netaddr import EUI, AddrFormatError, mac_cisco

from fabric.errors import RenderError

__all__ = ["cli_text", "cli_word", "nxos_mac"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NXOS_BAD = re.compile(r'[\x00-\x1f\x7f"?]|[^\x00-\x7f]')
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]*")


def cli_word(value: object, what: str, limit: int = 63) -> str:
    """``value`` as one CLI token (a name); anything else is a :class:`RenderError`."""
    text = str(value)
    if not _WORD.fullmatch(text):
        raise RenderError(f"{what} {text!r} is not a valid name (letters, digits and ._:/- only)")
    if len(text) > limit:
        raise RenderError(f"{what} {text!r} is longer than {limit} characters")
    return text


def cli_text(value: object, what: str, limit: int, *, nxos: bool) -> str:
    """``value`` as free text running to the end of a CLI line, cut at ``limit``
    characters. Control characters are refused (and on NX-OS ``"``, ``?`` and
    non-ASCII characters too); the message names ``what`` the text belongs to."""
    text = str(value)
    bad = (_NXOS_BAD if nxos else _CONTROL).search(text)
    if bad:
        raise RenderError(
            f"{what}: text {text!r} contains {bad.group()!r}, which cannot go into a "
            f"{'NX-OS' if nxos else 'FRR'} config line; refusing to render it"
        )
    return text.strip()[:limit].rstrip()


def nxos_mac(mac: str) -> str:
    """``00:00:5e:00:01:01`` -> ``0000.5e00.0101`` (the dotted form NX-OS prints: netaddr's
    ``mac_cisco`` dialect)."""
    try:
        return str(EUI(mac, dialect=mac_cisco))
    except (AddrFormatError, TypeError, ValueError):
        raise RenderError(f"{mac!r} is not a MAC address") from None
