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
- :func:`fill_slots` and :func:`fill_numbered`: text rendered once with placeholders,
  the per-device values put in afterwards (NX-OS ``evpn`` RDs and intent JSON RDs; the
  Junos shared texts).
- :func:`direct_init`: a frozen dataclass whose instances the design makes by the hundred
  thousand (a leaf's L2 VNIs) sets its slots directly in ``__init__`` instead of through
  ``object.__setattr__`` (1.5x on making them, about 0.08 s of the benchmark's design).
- :func:`template_bytecode_cache`: the compiled Jinja2 templates kept on disk between
  processes, so a fresh ``fabric build`` does not compile some 60 templates again
  (``tests/bench/test_build.py``: about 0.4 s of a fresh full build's CPU time).

The hand-written intent JSON encoder is the fourth; it lives with the intent model
(:func:`fabric.design.intent.encode_json`) because it must follow its types exactly.
"""

from __future__ import annotations

import gc
import hashlib
import os
import re
import sys
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager, suppress
from functools import cache
from itertools import chain
from operator import is_
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    import jinja2

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
        if hit is not None and len(hit[0]) == len(objs) and all(map(is_, hit[0], objs)):
            return hit[1]
        value = make()
        if len(self._items) >= self._limit:
            self._items.clear()
        self._items[key] = (objs, value)
        return value

    def __len__(self) -> int:
        return len(self._items) + len(self._one)


C = TypeVar("C", bound=type)


def direct_init(cls: C) -> C:
    """Give the frozen, slotted dataclass ``cls`` an ``__init__`` that stores each field
    through its slot's descriptor. Same signature (defaults and keyword-only fields
    included) and result as the dataclass's own, which goes through
    ``object.__setattr__`` for each field to get past the frozen check; everything else
    (equality, hash, repr, the frozen ``__setattr__``, ``replace``) stays the
    dataclass's. Refused for a field with a default factory or ``init=False`` and for a
    class with ``__post_init__``."""
    import dataclasses

    if not dataclasses.is_dataclass(cls) or not cls.__dataclass_params__.frozen or "__slots__" not in cls.__dict__:  # type: ignore[attr-defined]
        raise TypeError(f"{cls.__name__}: direct_init is for frozen dataclasses with slots")
    params = dataclasses.fields(cls)
    if hasattr(cls, "__post_init__") or any(f.default_factory is not dataclasses.MISSING or not f.init for f in params):
        raise TypeError(f"{cls.__name__}: direct_init takes no default factory, init=False or __post_init__")
    names = [f.name for f in params]
    scope: dict[str, Any] = {f"_set_{n}": getattr(cls, n).__set__ for n in names}
    positional, keyword = [], []
    for f in params:
        text = f.name
        if f.default is not dataclasses.MISSING:
            scope[f"_default_{f.name}"] = f.default
            text += f"=_default_{f.name}"
        (keyword if f.kw_only else positional).append(text)
    signature = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    body = "; ".join(f"_set_{n}(self, {n})" for n in names) or "pass"
    namespace: dict[str, Any] = {}
    exec(f"def __init__({signature}):\n    {body}\n", scope, namespace)  # made of the field names only
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    init.__annotations__ = {**{f.name: f.type for f in params}, "return": None}
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


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


def fill_numbered(text: str, mark: re.Pattern[str], values: Sequence[str]) -> str:
    """``text`` with each match of ``mark`` (one group: a number N) replaced by
    ``values[N]``; each value must be placed exactly once. One pass over ``text``, however
    many marks (the Junos renderer's shared texts: ``tests/bench/test_speed.py``)."""
    parts = mark.split(text)
    seen = sorted(int(n) for n in parts[1::2])
    if seen != list(range(len(values))):
        raise ValueError(f"placeholders {seen} do not match the {len(values)} values")
    for i in range(1, len(parts), 2):
        parts[i] = values[int(parts[i])]
    return "".join(parts)


CACHE_ENV = "LEAFSPINE_CACHE_DIR"
"""Environment variable naming the folder of :func:`template_bytecode_cache` (default
``$XDG_CACHE_HOME/leafspine``, else ``~/.cache/leafspine``); set it to an empty string to
keep nothing on disk."""


def cache_dir() -> Path | None:
    """The folder where the project keeps what it can always compute again (None: none)."""
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return Path(configured) if configured else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "leafspine"


def template_bytecode_cache(settings: Hashable) -> jinja2.BytecodeCache | None:
    """A Jinja2 bytecode cache for templates compiled with ``settings`` (the environment's
    options, which change the compiled code without changing the source).

    Jinja2 checks each cached template against a checksum of its source (an edited
    template is compiled again) and against its own and Python's version; the folder name
    adds ``settings`` and the Jinja2 version, so nothing compiled differently is ever
    loaded. A folder that cannot be created or written means no cache, never an error."""
    import jinja2

    root = cache_dir()
    if root is None:
        return None
    key = hashlib.sha256(repr((settings, jinja2.__version__, sys.version)).encode()).hexdigest()[:16]
    folder = root / f"templates-{key}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return _quiet_cache_class()(str(folder))


@cache
def _quiet_cache_class() -> type[jinja2.FileSystemBytecodeCache]:
    """The cache class, made on first use (importing Jinja2 is left to the renderers)."""
    import jinja2
    from jinja2.bccache import Bucket

    class QuietBytecodeCache(jinja2.FileSystemBytecodeCache):
        """A cache that cannot be read or written is no cache (a read-only home, a full
        disk, a file where its folder was)."""

        def load_bytecode(self, bucket: Bucket) -> None:
            with suppress(OSError):
                super().load_bytecode(bucket)

        def dump_bytecode(self, bucket: Bucket) -> None:
            with suppress(OSError):
                super().dump_bytecode(bucket)

    return QuietBytecodeCache


__all__ = [
    "CACHE_ENV", "SLOT", "IdentityCache", "cache_dir", "direct_init", "fill_numbered", "fill_slots", "gc_paused", "split_slots",
    "template_bytecode_cache",
]
