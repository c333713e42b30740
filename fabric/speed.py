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
- :func:`fill_slots`: text rendered once with placeholders, the per-device values put in
  afterwards (NX-OS ``evpn`` RDs and intent JSON RDs; the Junos renderer fills its
  shared texts by the blocks' serials, :func:`fabric.render.junos.tree.fill_marks`).
- :func:`direct_init`: frozen dataclasses whose instances planning and the design make by
  the thousand (a leaf's L2 VNIs: 128,000 on the benchmark fabric) set their slots
  directly in ``__init__`` instead of through ``object.__setattr__`` (1.5x on making
  them; plan + design of the benchmark fabric 0.50 -> 0.39 s CPU).
- :func:`template_bytecode_cache`: the compiled Jinja2 templates kept on disk between
  processes, so a fresh ``fabric build`` does not compile some 60 templates again
  (``tests/bench/test_build.py``: about 0.4 s of a fresh full build's CPU time).
- :func:`environment_class`: a Jinja2 environment whose templates keep their globals in a
  plain dict (not a ``ChainMap`` over the environment's), which every ``{% include %}``
  and ``render`` copies (NX-OS: 0.38 -> 0.28 s for the benchmark's 128 leaves).
- :func:`address_text`: the text of an ``ipaddress`` value, as ``str()`` gives it, from
  the C library's ``inet_ntop`` (an IPv6 address: 0.9 us instead of 11 us; a full build
  turns some 30,000 IPv6 and 50,000 IPv4 values into text).
- :func:`sync_filesystem`: one ``syncfs(2)`` makes a build's ~1,170 staged files durable
  at once, in place of one ``fsync`` per file from a pool of threads
  (:meth:`fabric.files.Staging.commit`; the file-by-file way stays as its fallback).

Rendering in forked worker processes (``fabric build --jobs N``) lives in
:mod:`fabric.parallel`, with its measurement.

The hand-written intent JSON encoder is the fourth; it lives with the intent model
(:func:`fabric.design.intent.encode_json`) because it must follow its types exactly.
"""

from __future__ import annotations

import gc
import hashlib
import os
import platform
import re
import sys
from collections.abc import Callable, Hashable, Iterator, MutableMapping, Sequence
from contextlib import contextmanager, suppress
from functools import cache
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Address, IPv6Interface, IPv6Network
from itertools import chain
from operator import is_
from pathlib import Path
from socket import AF_INET, AF_INET6, inet_ntop
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
    positional: list[str] = []
    keyword: list[str] = []
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
    init.__dataclass_init__ = cls.__init__  # the plain way, for tests/bench/test_speed.py
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
def environment_class() -> type[jinja2.Environment]:
    """``jinja2.Environment`` whose templates hold their globals as a plain dict: the
    environment's globals with the template's own over them, copied when the template is
    loaded (Jinja2's own ``make_globals`` chains the two in a ``ChainMap``).

    Why (issue 10): each render and each ``{% include %}`` makes a new context by copying
    the template's globals, and ``dict(ChainMap)`` walks both maps in Python: the NX-OS
    renderer, with its 11 constants among the globals and some 50 contexts per leaf, spends
    a quarter of its time there (``tests/bench/test_speed.py``). The lookups give the same
    values; the one difference, which Jinja2's documentation already asks to avoid, is that
    a change to the environment's globals after a template is loaded does not reach that
    template: set them before the first ``get_template``."""
    import jinja2

    class FlatGlobalsEnvironment(jinja2.Environment):
        def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
            return {**self.globals, **(d or {})}

    return FlatGlobalsEnvironment


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


IPAddressValue = IPv4Address | IPv6Address | IPv4Interface | IPv6Interface | IPv4Network | IPv6Network


def _v4(packed: bytes) -> str:
    return inet_ntop(AF_INET, packed)


def _v6(packed: bytes) -> str | None:
    """``inet_ntop``'s text of an IPv6 address, or None where it may differ from
    ``ipaddress`` (the first 80 bits zero: the C library may print the last 32 bits as
    IPv4, ``::1.2.3.4`` or ``::ffff:1.2.3.4``; or the self-check failed)."""
    if packed[:10] == _ZERO10 or not _INET_NTOP_AGREES:
        return None
    return inet_ntop(AF_INET6, packed)


_ZERO10 = bytes(10)


def _agrees() -> bool:
    """Whether this C library's ``inet_ntop`` prints IPv6 exactly as ``ipaddress`` does
    (RFC 5952: lower case, no leading zeros, the first longest run of two or more zero
    groups as ``::``), tried on every pattern of zero groups with varied digits."""
    digits = (0xABCD, 0x1, 0xF0, 0x1000, 0xFFFF, 0x20, 0xDB8, 0x7)
    for mask in range(256):
        groups = [0 if mask >> i & 1 else digits[i] for i in range(8)]
        if all(g == 0 for g in groups[:5]):
            continue
        packed = b"".join(g.to_bytes(2, "big") for g in groups)
        if inet_ntop(AF_INET6, packed) != str(IPv6Address(packed)):
            return False
    return True


_INET_NTOP_AGREES = _agrees()


def _address(a: Any) -> str:
    packed: bytes = a.packed
    if len(packed) == 4:
        return _v4(packed)
    if a.scope_id is None:
        text = _v6(packed)
        if text is not None:
            return text
    return str(a)


def _interface(a: Any) -> str:
    packed: bytes = a.packed
    if len(packed) == 4:
        return f"{_v4(packed)}/{a.network.prefixlen}"
    text = _v6(packed) if a.scope_id is None else None
    return f"{text}/{a.network.prefixlen}" if text is not None else str(a)


def _network(a: Any) -> str:
    return f"{_address(a.network_address)}/{a.prefixlen}"


_TEXT: dict[type, Callable[[Any], str]] = {
    IPv4Address: _address, IPv6Address: _address, IPv4Interface: _interface, IPv6Interface: _interface,
    IPv4Network: _network, IPv6Network: _network,
}
ADDRESS_TYPES = frozenset(_TEXT)
"""The types :func:`address_text` prints itself (exactly these, not subclasses)."""


def address_text(value: IPAddressValue) -> str:
    """``str(value)`` of an ``ipaddress`` address, interface or network, the same text made
    by the C library's ``inet_ntop`` (``tests/unit/test_speed_helpers.py`` compares them
    on random and edge-case values).

    Why (issue 10): ``ipaddress`` prints IPv6 in Python (``_string_from_ip_int`` and
    ``_compress_hextets``, about 11 us an address); a full build of the benchmark fabric
    turns some 30,000 IPv6 and 50,000 IPv4 values into text (intent JSON, docs, cabling,
    configs). ``inet_ntop`` does it in under 1 us (``tests/bench/test_speed.py``). Where
    the C library may print differently (addresses whose first 80 bits are zero, a scope
    id, a C library that fails the self-check at import) it is ``str()``."""
    f = _TEXT.get(type(value))
    return f(value) if f is not None else str(value)


SYNCFS_SINCE = (5, 8)
"""The first Linux release whose ``syncfs(2)`` reports write-back errors (before it, the
call returned 0 even when data could not be written, so it cannot stand in for ``fsync``)."""


def _kernel_release(release: str) -> tuple[int, int]:
    """``(major, minor)`` of a Linux release string such as ``6.1.0-18-amd64``."""
    m = re.match(r"(\d+)\.(\d+)", release)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


@cache
def _libc_syncfs() -> Callable[[int], int] | None:
    """The C library's ``syncfs``, where it can be trusted (Linux >= 5.8), else None."""
    if sys.platform != "linux" or _kernel_release(platform.release()) < SYNCFS_SINCE:
        return None
    import ctypes

    try:
        fn = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int]
    fn.restype = ctypes.c_int
    syncfs: Callable[[int], int] = fn
    return syncfs


def sync_filesystem(fd: int) -> bool:
    """Write every dirty page and inode of the file system holding the open file (or
    folder) ``fd`` to stable storage: ``syncfs(2)``. True when done; False when the call
    is not available (not Linux, Linux before :data:`SYNCFS_SINCE`, no such C function) or
    failed (an I/O error since ``fd`` was opened among them): the caller then syncs its
    files one by one, which reports the error of the file that has one.

    Why (issue 10): :class:`fabric.files.Staging` must have every temp file durable before
    it renames the first one. One ``fsync`` per file, even 16 at a time, spends about
    0.25 s of the build's CPU time and 0.9 s of wall time on ~1,170 files (290 MB); one
    ``syncfs`` gives the same guarantee for all of them in about 0.6 s of wall time, the
    write-back done by the kernel's flusher threads (``tests/bench/test_speed.py``). It
    also writes out other programs' dirty data on the same file system, which a busy
    disk pays for in wall time. Open ``fd`` before writing the files: Linux reports to
    ``syncfs`` the write-back errors since ``fd`` was opened (and older ones nobody was
    told of), not one already reported to someone else before.
    (Prior art: git's ``core.fsyncMethod=batch``, which starts write-back per file and
    issues one flush at the end.)"""
    fn = _libc_syncfs()
    return fn is not None and fn(fd) == 0


__all__ = [
    "ADDRESS_TYPES", "CACHE_ENV", "SLOT", "SYNCFS_SINCE", "IPAddressValue", "IdentityCache", "address_text", "cache_dir",
    "direct_init", "environment_class", "fill_slots", "gc_paused", "split_slots", "sync_filesystem",
    "template_bytecode_cache",
]
