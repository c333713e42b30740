"""Commands ExaBGP refused, per prefix: why, how often, and whether to try again. Pure (the
caller passes the clock).

A refused announcement or withdrawal leaves ExaBGP's state as it was, so the agent must not
carry on as if it had changed. Each refused prefix is recorded with ExaBGP's reason; it is
retried (the same change) after :data:`RETRY_DELAYS` and, once those are spent, marked
failed: no more attempts until what is wanted of that prefix changes (a new attribute set,
a withdrawal instead of an announcement, or the other way round). A success, or a change of
what is wanted, forgets the record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network

from bgp.speaker.commands import RouteAttributes

IPNet = IPv4Network | IPv6Network

RETRY_DELAYS = (1.0, 5.0)
"""Seconds before the 2nd and 3rd attempt; after the 3rd refusal the prefix is failed."""


@dataclass(frozen=True)
class Refusal:
    """The last refused change of one prefix: ``wanted`` the attributes it was to be
    announced with (None: it was to be withdrawn), ExaBGP's ``reason``, the ``attempts`` so
    far and when the next may be made (``retry_at`` None: failed, no more attempts)."""

    wanted: RouteAttributes | None
    reason: str
    attempts: int
    retry_at: float | None

    @property
    def failed(self) -> bool:
        return self.retry_at is None

    @property
    def action(self) -> str:
        return "withdraw" if self.wanted is None else "announce"


class Refusals:
    """The records, keyed by prefix."""

    def __init__(self) -> None:
        self._by_prefix: dict[IPNet, Refusal] = {}

    def __len__(self) -> int:
        return len(self._by_prefix)

    def get(self, prefix: IPNet) -> Refusal | None:
        return self._by_prefix.get(prefix)

    def items(self) -> Iterable[tuple[IPNet, Refusal]]:
        return self._by_prefix.items()

    def failed(self) -> list[IPNet]:
        """Prefixes that are failed (no more attempts)."""
        return [p for p, r in self._by_prefix.items() if r.failed]

    def refused(self, prefixes: Iterable[IPNet], wanted: RouteAttributes | None, reason: str, now: float) -> None:
        """ExaBGP refused to make ``prefixes`` ``wanted`` (None: withdrawn)."""
        for p in prefixes:
            old = self._by_prefix.get(p)
            attempts = old.attempts + 1 if old is not None and old.wanted == wanted else 1
            delay = RETRY_DELAYS[attempts - 1] if attempts <= len(RETRY_DELAYS) else None
            self._by_prefix[p] = Refusal(wanted, reason, attempts, None if delay is None else now + delay)

    def done(self, prefixes: Iterable[IPNet]) -> None:
        """ExaBGP took a change of these prefixes: forget them."""
        if not self._by_prefix:
            return
        for p in prefixes:
            self._by_prefix.pop(p, None)

    def hold(
        self,
        current: Mapping[IPNet, RouteAttributes],
        target: Mapping[IPNet, RouteAttributes],
        now: float,
    ) -> dict[IPNet, RouteAttributes]:
        """``target`` with every refused change that is not due again kept as ExaBGP has it
        (so it is not sent); records whose wanted change is no longer wanted are dropped."""
        out = dict(target)
        for p, r in list(self._by_prefix.items()):
            if target.get(p) != r.wanted:  # something else is wanted now: try that at once
                del self._by_prefix[p]
                continue
            if r.retry_at is not None and now >= r.retry_at:
                continue  # due: send it again
            if p in current:
                out[p] = current[p]
            else:
                out.pop(p, None)
        return out

    def next_retry(self) -> float | None:
        """When the earliest retry is due (None: nothing to retry)."""
        due = [r.retry_at for r in self._by_prefix.values() if r.retry_at is not None]
        return min(due) if due else None
