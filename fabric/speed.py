"""The speed tricks of the project, each in one place, named and measured.

Every trick here exists because ``tests/bench/test_speed.py`` shows it pays on the
benchmark fabric (``gen_fabric.py --spines 4 --leaves 256 --svis 500 --vrfs 4
--tenants 2``); that benchmark times each one against the plain way in the same run.
Nothing else in ``fabric/`` pauses the garbage collector, keys a cache on ``id()`` or
splices text into sentinels.

- :func:`gc_paused`: the cyclic garbage collector off while the design stage builds
  millions of small acyclic objects (1.3x on the design; around the Junos parse trees it
  no longer paid once shared blocks are parsed once, and was removed there).
- :class:`IdentityCache`: rendered text of objects the intent shares between devices,
  keyed by the object's identity (the intent shares one ``Network`` object among every
  leaf that carries it, so identity says "same text").
- :func:`splice` and :func:`fill_slots`: text rendered once with placeholders, the
  per-device values put in afterwards (NX-OS ``evpn`` RDs, Junos shared blocks).

The hand-written intent JSON encoder is the fourth; it lives with the intent model
(:func:`fabric.design.intent.encode_json`) because it must follow its types exactly.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import chain
from typing import Generic, TypeVar

T = TypeVar("T")


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block; it resumes as it was.

    Reference counting still frees everything; only the cycle collector's passes stop,
    each of which would walk every object already alive (the whole intent of a large
    fabric) again. Process-global: a thread running at the same time allocates without
    cycle collection for that long, which is harmless (its garbage is collected when
    the block ends) but is why the blocks are kept short (one stage, one device)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class IdentityCache(Generic[T]):
    """Values computed from objects, keyed by the objects' identity plus a small hashable
    ``extra`` (a parameter the value also depends on).

    Holds the objects it keys on, so an ``id`` is never reused while its entry lives;
    emptied when it grows past ``limit`` entries, so a long-lived process that renders
    fabric after fabric does not keep every old one alive."""

    def __init__(self, limit: int = 200_000) -> None:
        self._items: dict[tuple[tuple[int, ...], Hashable], tuple[tuple[object, ...], T]] = {}
        self._one: dict[tuple[int, Hashable], tuple[object, T]] = {}
        self._limit = limit

    def get_one(self, obj: object, extra: Hashable, make: Callable[[], T]) -> T:
        """:meth:`get` for a single object (the hot path: no key tuple to build)."""
        key = (id(obj), extra)
        hit = self._one.get(key)
        if hit is not None and hit[0] is obj:
            return hit[1]
        value = make()
        if len(self._one) >= self._limit:
            self._one.clear()
        self._one[key] = (obj, value)
        return value

    def get(self, objs: tuple[object, ...], extra: Hashable, make: Callable[[], T]) -> T:
        """The value for ``objs`` and ``extra``: cached, or ``make()``."""
        key = (tuple(map(id, objs)), extra)
        hit = self._items.get(key)
        if hit is not None and all(a is b for a, b in zip(hit[0], objs, strict=True)):
            return hit[1]
        value = make()
        if len(self._items) >= self._limit:
            self._items.clear()
        self._items[key] = (objs, value)
        return value

    def __len__(self) -> int:
        return len(self._items) + len(self._one)


SLOT = "\x00slot\x00"
"""A placeholder no rendered config contains (configs have no NUL characters)."""


def split_slots(text: str, count: int) -> tuple[str, ...]:
    """``text`` cut at each :data:`SLOT`; it must hold exactly ``count`` of them."""
    parts = tuple(text.split(SLOT))
    if len(parts) != count + 1:
        raise ValueError(f"expected {count} placeholders, found {len(parts) - 1}")
    return parts


def fill_slots(parts: Sequence[str], values: Sequence[str]) -> str:
    """The text :func:`split_slots` cut, with ``values`` put in its placeholders in order."""
    if len(values) != len(parts) - 1:
        raise ValueError(f"{len(parts) - 1} placeholders, {len(values)} values")
    return "".join(chain.from_iterable(zip(parts, values, strict=False))) + parts[-1]


def splice(text: str, replacements: Mapping[str, str]) -> str:
    """``text`` with each key of ``replacements`` (each must occur exactly once)
    replaced by its value."""
    for mark, value in replacements.items():
        if text.count(mark) != 1:
            raise ValueError(f"placeholder {mark!r} occurs {text.count(mark)} times, expected once")
        text = text.replace(mark, value)
    return text


__all__ = ["SLOT", "IdentityCache", "fill_slots", "gc_paused", "splice", "split_slots"]
