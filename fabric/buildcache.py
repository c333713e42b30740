"""The build cache: a rebuild renders and writes only the devices whose render input changed.

``fabric build`` keeps a manifest, ``DIR/.fabric-build.json``, of what it wrote:

- per device, the **key** of its render input, ``sha256(render code fingerprint, intent
  JSON)`` (the intent JSON, ``intent/<device>.json``, is the whole input of a renderer:
  renderers are pure functions of the :class:`~fabric.design.intent.DeviceIntent`, and the
  JSON encodes every field of it), its platform, and the size, ``mtime_ns``, ``ctime_ns`` and
  inode of every file written for it (the intent JSON and each rendered format);
- for the exports (``docs/``, ``cabling.csv``, ``topology.svg``, ``<fabric>.clab.yml``,
  ``clab-configs/``, ``frr-daemons``), one key of everything they read: the export code
  fingerprint, the render code fingerprint, the design's summary JSON and every device's key
  (the lab copies of the startup configs are the rendered text of those keys), and the same
  stamps of every file they wrote.

A device whose key is the recorded one and whose files still carry the recorded stamps is
neither rendered nor compared nor written; the exports likewise. Anything else takes the
full path: render, compare with the disk, write what differs. So a file edited, replaced
or deleted by hand is put back (its stamps changed), and nothing is ever taken from the
manifest alone:

- a missing, unreadable, corrupt or foreign-format manifest, or one written by other code
  (either fingerprint differs), is no manifest: a full build;
- a stamp taken in the same clock tick as the manifest was written is not trusted (a change
  in that tick could keep the same mtime and ctime; git calls these entries "racy"): its
  device takes the full path. :func:`save` touches the manifest until its mtime is past
  every stamp's, so this is rare;
- a device not rendered by its platform's built-in renderer (a third-party renderer, one
  registered in its place, a platform without renderer) is always rendered: the code
  fingerprint covers only the built-in renderers. Then the exports run as well.

The **code fingerprint** is a hash of the Python and Jinja2 versions, the versions of the
third-party packages the code imports (and MarkupSafe, which Jinja2's escaping uses), and
the source of every module of the project reachable by imports (function-local and
type-checking ones included, and module names written as strings, such as the renderer
registry's) from the roots: every module of ``fabric/render/`` and ``fabric/platforms.py``
for the renderers (which reaches ``fabric/design/intent.py``, ``fabric/speed.py``,
``fabric/sorting.py``, ``fabric/errors.py``), every module of ``fabric/export/`` for the
exports; plus every other file below those folders (the templates). Importing a module
also runs its parent packages' ``__init__`` modules: they only re-export names and are not
followed.

The manifest also keeps the key of the **whole build's input** (:func:`input_key`: the
whole project's code and the inventory and ledger files' bytes). When it is unchanged and
every file the last build wrote carries its stamp, :meth:`fabric.api.Fabric.build` does
nothing but remove strays (:func:`unchanged_build`). Only files older than the moment the
fabric was loaded count, so the key always describes what the build used.

The manifest is written atomically (:func:`fabric.files.atomic_write`) after the build's
files, so a build that stops half-way leaves the last manifest, whose stamps no longer
match the files it changed. Copying the folder (new inodes and ctimes) makes the copy's
next build a full one; deleting the manifest or the folder is always safe.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from fabric.files import atomic_write, write_if_changed

if TYPE_CHECKING:
    from fabric.render.base import RenderedDevice, RendererRegistry

MANIFEST = ".fabric-build.json"
"""The manifest's file name in the build directory."""
FORMAT = 2
"""Bumped when the manifest's layout or the meaning of a key changes."""

FIRST_PARTY = ("fabric", "bgp")
"""Top-level packages of this project: followed by import, their source hashed."""
RENDER_ROOTS = ("fabric.render", "fabric.platforms")
EXPORT_ROOTS = ("fabric.export",)
ALSO_VERSIONED = {"jinja2": ("markupsafe",)}
"""Packages whose behaviour a versioned package's output depends on without being imported
by the project's code."""

ALL_ROOTS = FIRST_PARTY
"""The whole build's code: every module and file of the project's packages."""
RACY_TOUCH_SECONDS = 0.05
"""How long :func:`save` waits at most for the clock to pass the last stamp."""


# --------------------------------------------------------------------------- code fingerprint


def _source_root() -> Path:
    """The folder holding the ``fabric`` package (this file is ``fabric/buildcache.py``)."""
    return Path(__file__).resolve().parent.parent


@cache
def _modules(root: Path) -> dict[str, Path]:
    """Every first-party module under ``root``: dotted name -> source file."""
    out: dict[str, Path] = {}
    for top in FIRST_PARTY:
        for p in (root / top).rglob("*.py"):
            if "__pycache__" in p.parts:
                continue
            parts = p.relative_to(root).with_suffix("").parts
            out[".".join(parts[:-1] if p.name == "__init__.py" else parts)] = p
    return out


def _module_file(root: Path, name: str) -> Path | None:
    """The source file of first-party module ``name`` under ``root``, or None."""
    return _modules(root).get(name)


def _package_modules(root: Path, name: str) -> list[str]:
    """``name`` and, for a package, every module below it."""
    path = _module_file(root, name)
    if path is None:
        raise ValueError(f"no module {name} under {root}")
    if path.name != "__init__.py":
        return [name]
    return sorted(m for m in _modules(root) if m == name or m.startswith(name + "."))


_IMPORT = re.compile(
    r"^[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#]*)|import[ \t]+([^\n#]+))", re.M)
_MODULE_STRING = re.compile(r"[\"']((?:" + "|".join(FIRST_PARTY) + r")(?:\.\w+)+)[\"']")
_NAME = re.compile(r"[\w.]+")


def _imports(text: str, module: str, is_package: bool, root: Path) -> tuple[set[str], set[str]]:
    """(first-party modules, other top-level names) that the source ``text`` of ``module``
    may import. A scan of the text, not of the syntax tree (ten times faster), so an import
    written in a docstring counts too: that only makes the fingerprint cover more."""
    mine: set[str] = set()
    other: set[str] = set()

    def add(name: str) -> None:
        top = name.split(".")[0]
        if top in FIRST_PARTY:
            mine.add(name)
        elif top and top not in sys.stdlib_module_names:
            other.add(top)

    for m in _IMPORT.finditer(text):
        source, names, plain = m.groups()
        if plain is not None:
            for part in plain.split(","):
                words = part.split()
                if words and _NAME.fullmatch(words[0]):
                    add(words[0])
            continue
        if source.startswith("."):  # relative: resolve against this module's package
            level = len(source) - len(source.lstrip("."))
            base = module.split(".")
            base = base[: len(base) - level + (1 if is_package else 0)]
            source = ".".join([*base, *([source.lstrip(".")] if source.lstrip(".") else [])])
        package_itself = False
        for part in names.strip("()").replace("\n", ",").split(","):
            words = part.split()
            if not words or not _NAME.fullmatch(words[0]):
                continue
            sub = f"{source}.{words[0]}"
            if source.split(".")[0] in FIRST_PARTY and _module_file(root, sub) is not None:
                add(sub)  # a submodule: its parent package's __init__ is not followed
            else:
                package_itself = True
        if package_itself:
            add(source)
    for m in _MODULE_STRING.finditer(text):  # importlib.import_module("fabric.render.junos") and the like
        if _module_file(root, m.group(1)) is not None:
            mine.add(m.group(1))
    return mine, other


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "?"


@dataclass(frozen=True)
class CodeFiles:
    """What a fingerprint covers: source files (relative to the source root) and
    third-party packages."""

    files: tuple[str, ...]
    packages: tuple[str, ...]


@cache
def code_files(roots: tuple[str, ...]) -> CodeFiles:
    """Every project file reachable from ``roots`` (see the module docstring)."""
    root = _source_root()
    todo = [m for r in roots for m in _package_modules(root, r)]
    seen: set[str] = set()
    files: set[Path] = set()
    packages: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = _module_file(root, name)
        if path is None:
            continue  # a name imported from a module, not a module
        files.add(path)
        mine, other = _imports(path.read_text(encoding="utf-8"), name, path.name == "__init__.py", root)
        todo.extend(mine - seen)
        packages |= other
    for r in roots:
        path = _module_file(root, r)
        if path is not None and path.name == "__init__.py":  # templates and any other data files
            files.update(p for p in path.parent.rglob("*")
                         if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo"))
    for p in list(packages):
        packages.update(ALSO_VERSIONED.get(p, ()))
    return CodeFiles(tuple(sorted(p.relative_to(root).as_posix() for p in files)), tuple(sorted(packages)))


def code_fingerprint(roots: tuple[str, ...]) -> str:
    """sha256 of the interpreter, the versions of :func:`code_files`' packages and the
    bytes of its files. Read again on every call (a long-lived process may see the code
    change on disk; it still runs the old code, so at worst that is one full build)."""
    covered = code_files(roots)
    root = _source_root()
    h = hashlib.sha256()
    h.update(f"{FORMAT}\0{sys.implementation.cache_tag}\0{sys.version}\0".encode())
    for p in covered.packages:
        h.update(f"{p}={_version(p)}\0".encode())
    for rel in covered.files:
        data = (root / rel).read_bytes()
        h.update(f"{rel}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


# --------------------------------------------------------------------------- stamps


@dataclass(frozen=True, slots=True)
class Stamp:
    """What a file looked like right after the build wrote it (or found it right)."""

    path: str
    """Relative to the build directory, ``/``-separated."""
    size: int
    mtime_ns: int
    ctime_ns: int
    ino: int

    @classmethod
    def take(cls, out: Path, rel: str) -> Stamp | None:
        try:
            st = os.stat(out / rel)
        except OSError:
            return None
        return cls(rel, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)

    def holds(self, out: Path, before_ns: int) -> bool:
        """The file is still exactly as stamped, and the stamp is older than ``before_ns``
        (the manifest's own mtime: a stamp of the same tick is not trusted)."""
        if self.mtime_ns >= before_ns or self.ctime_ns >= before_ns:
            return False
        return Stamp.take(out, self.path) == self

    def as_list(self) -> list[str | int]:
        return [self.path, self.size, self.mtime_ns, self.ctime_ns, self.ino]


@dataclass(frozen=True, slots=True)
class DeviceEntry:
    """One device of the manifest."""

    key: str
    platform: str
    main: str
    """The main format's extension (:attr:`fabric.render.base.RenderedDevice.main`)."""
    files: tuple[Stamp, ...]
    """The intent JSON first, then each rendered format."""
    config_files: int
    lines: int
    """Rendered files and lines of config text (for the build's counts)."""


@dataclass
class Manifest:
    render_code: str
    export_code: str
    devices: dict[str, DeviceEntry] = field(default_factory=dict)
    exports_key: str = ""
    exports: tuple[Stamp, ...] = ()
    agents: tuple[Stamp, ...] = ()
    """The bgp-agent configs written (or found right) by the build."""
    input_key: str = ""
    """Key of the whole build's input (:func:`input_key`); empty: no such shortcut."""
    written_ns: int = 0
    """The manifest file's mtime when read (0 for a new one)."""


def _stamps(raw: object) -> tuple[Stamp, ...]:
    if not isinstance(raw, list):
        raise ValueError("files")
    out = []
    for s in raw:
        if not (isinstance(s, list) and len(s) == 5 and isinstance(s[0], str)
                and all(type(x) is int for x in s[1:])):
            raise ValueError("stamp")
        out.append(Stamp(s[0], s[1], s[2], s[3], s[4]))
    return tuple(out)


def read_manifest(out: Path) -> Manifest | None:
    """The manifest of ``out``, or None when there is none or it cannot be used."""
    path = out / MANIFEST
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            doc = json.loads(f.read())
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            return None
        m = Manifest(str(doc["render_code"]), str(doc["export_code"]), written_ns=st.st_mtime_ns)
        for name, e in doc["devices"].items():
            if not isinstance(e, dict):
                return None
            m.devices[str(name)] = DeviceEntry(str(e["key"]), str(e["platform"]), str(e["main"]), _stamps(e["files"]),
                                               int(e["config_files"]), int(e["lines"]))
        m.exports_key = str(doc["exports"]["key"])
        m.exports = _stamps(doc["exports"]["files"])
        m.agents = _stamps(doc["agents"])
        m.input_key = str(doc["input"])
        return m
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _manifest_text(m: Manifest) -> str:
    doc = {
        "format": FORMAT,
        "render_code": m.render_code,
        "export_code": m.export_code,
        "devices": {name: {"key": e.key, "platform": e.platform, "main": e.main, "config_files": e.config_files, "lines": e.lines,
                           "files": [s.as_list() for s in e.files]} for name, e in m.devices.items()},
        "exports": {"key": m.exports_key, "files": [s.as_list() for s in m.exports]},
        "agents": [s.as_list() for s in m.agents],
        "input": m.input_key,
    }
    return json.dumps(doc, separators=(",", ":")) + "\n"


def remove_manifest(out: Path) -> None:
    """Forget what the last build recorded (best effort)."""
    with suppress(FileNotFoundError):
        os.unlink(out / MANIFEST)


# --------------------------------------------------------------------------- the whole build's input


INPUT_MARGIN_NS = 50_000_000
"""An input file changed less than this before the fabric was loaded is not trusted to be
what was loaded: file times come from a clock that may lag the one read before loading by
a tick (at most 10 ms)."""


def older_than(st: os.stat_result, read_ns: int) -> bool:
    """Whether a file (or folder) last changed before ``read_ns``, by :data:`INPUT_MARGIN_NS`."""
    return max(st.st_mtime_ns, st.st_ctime_ns) < read_ns - INPUT_MARGIN_NS


def input_key(files: Iterable[tuple[Path, int | None]]) -> str | None:
    """Key of the whole build's input: the code of the whole project
    (:data:`ALL_ROOTS`), and the name and bytes of each of ``files`` (the inventory's
    YAML files and the ledger; a missing one counts as missing). Each comes with the time
    it was read (``time.time_ns()`` before reading, or None: not read yet, so what is on
    disk is what the build will read); a file changed since then (or within
    :data:`INPUT_MARGIN_NS` before it) gives None: the fabric in memory may not be what the
    files say."""
    h = hashlib.sha256(code_fingerprint(ALL_ROOTS).encode())
    for path, read_ns in files:
        try:
            with open(path, "rb") as f:
                data = f.read()
                st = os.fstat(f.fileno())
        except FileNotFoundError:
            if read_ns is not None:  # it may have been there when it was read
                return None
            h.update(f"\0{path.name}\0missing".encode())
            continue
        except OSError:
            return None
        if read_ns is not None and not older_than(st, read_ns):
            return None
        h.update(f"\0{path.name}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


@dataclass(frozen=True)
class UnchangedBuild:
    """What the last build recorded, when the whole build can be skipped."""

    manifest: Manifest
    keep: set[Path]
    """Every file the last build wrote (and the next one would)."""


def unchanged_build(out: Path, key: str | None) -> UnchangedBuild | None:
    """The last build's record when its input key is ``key`` and every file it wrote still
    carries its stamp: then a build would write exactly what is there (removing strays
    aside). None otherwise."""
    if key is None:
        return None
    m = read_manifest(out)
    if m is None or m.input_key != key:
        return None
    stamps = [s for e in m.devices.values() for s in e.files] + list(m.exports) + list(m.agents)
    if not all(s.holds(out, m.written_ns) for s in stamps):
        return None
    return UnchangedBuild(m, {out / s.path for s in stamps})


# --------------------------------------------------------------------------- one build


class BuildCache:
    """What one build knows from the last one, and records for the next.

    ``use=False`` (``fabric build --no-cache``) reads nothing: every device is rendered and
    compared; the new manifest is still written."""

    def __init__(self, out: Path, use: bool = True, registry: RendererRegistry | None = None) -> None:
        from fabric.render.base import RENDERERS

        self.out = Path(out)
        self.registry = registry if registry is not None else RENDERERS
        self.new = Manifest(code_fingerprint(RENDER_ROOTS), code_fingerprint(EXPORT_ROOTS))
        old = read_manifest(self.out) if use else None
        if old is not None and (old.render_code, old.export_code) != (self.new.render_code, self.new.export_code):
            old = None
        self.old = old
        self.keys: dict[str, str] = {}
        """Every device's key, in design order."""
        self.held: set[str] = set()
        """Devices this build takes from the cache (not rendered)."""
        self._builtin: dict[str, bool] = {}
        self.all_builtin = True
        """Every device so far was rendered by its platform's built-in renderer."""

    def key(self, name: str, platform: str, intent_json: bytes) -> str:
        """The device's key; records it, and whether its renderer is the fingerprinted one."""
        h = hashlib.sha256(self.new.render_code.encode())
        h.update(intent_json)
        k = self.keys[name] = h.hexdigest()
        builtin = self._builtin.get(platform)
        if builtin is None:
            builtin = self._builtin[platform] = self.registry.builtin_in_use(platform)
        self.all_builtin = self.all_builtin and builtin
        return k

    def clean(self, name: str, platform: str, key: str) -> DeviceEntry | None:
        """The recorded entry when the device needs no work (same key, built-in renderer,
        every file as stamped); it is carried into the new manifest."""
        if self.old is None or not self._builtin.get(platform, False):
            return None
        e = self.old.devices.get(name)
        if e is None or e.key != key or e.platform != platform:
            return None
        if not all(s.holds(self.out, self.old.written_ns) for s in e.files):
            return None
        self.new.devices[name] = e
        self.held.add(name)
        return e

    def record(self, name: str, platform: str, main: str, paths: Iterable[Path], config_files: int,
               lines: int) -> None:
        """A device rendered and written (or found right) by this build: ``paths`` are its
        intent JSON, then its rendered files."""
        stamps = [Stamp.take(self.out, p.relative_to(self.out).as_posix()) for p in paths]
        if all(s is not None for s in stamps) and self._builtin.get(platform, False):
            self.new.devices[name] = DeviceEntry(self.keys[name], platform, main,
                                                 tuple(s for s in stamps if s is not None), config_files, lines)

    def exports_key(self, summary_json: str) -> str:
        h = hashlib.sha256(f"{self.new.export_code}\0{self.new.render_code}\0".encode())
        h.update(summary_json.encode())
        for name, k in self.keys.items():
            h.update(f"\0{name}\0{k}".encode())
        self.new.exports_key = k = h.hexdigest()
        return k

    def clean_exports(self, key: str) -> tuple[Stamp, ...] | None:
        """The recorded export files when the exports need not run (same key, every file
        as stamped, every device rendered by a built-in renderer); None otherwise."""
        o = self.old
        if o is None or not self.all_builtin or o.exports_key != key or not o.exports:
            return None
        if not all(s.holds(self.out, o.written_ns) for s in o.exports):
            return None
        self.new.exports = o.exports
        return o.exports

    def record_exports(self, paths: Iterable[Path]) -> None:
        stamps = [Stamp.take(self.out, p.relative_to(self.out).as_posix()) for p in paths]
        self.new.exports = tuple(s for s in stamps if s is not None) if all(stamps) else ()

    def record_input(self, key: str | None, devices: int, skipped: int, agents: Iterable[str]) -> None:
        """The whole build's input key (:func:`input_key`), kept only when everything the
        build wrote is recorded: every device (none skipped), the exports, the agent
        configs (paths relative to the build directory)."""
        stamps = [Stamp.take(self.out, rel) for rel in agents]
        complete = (key is not None and not skipped and len(self.new.devices) == devices and self.all_builtin
                    and bool(self.new.exports) and all(stamps))
        self.new.agents = tuple(s for s in stamps if s is not None)
        self.new.input_key = key if complete and key is not None else ""

    def rendered_device(self, name: str, formats: Iterable[str]) -> RenderedDevice:
        """A device the cache held, as the last build rendered it: the files of ``formats``
        it has, and its main one, read back from the build directory (their stamps held,
        so they are what the renderer gave for this key)."""
        from fabric.render.base import RenderedDevice

        e = self.new.devices[name]
        want = {*formats, e.main}
        files: dict[str, str] = {}
        for s in e.files[1:]:
            ext = s.path.rsplit("/", 1)[-1][len(name) + 1:]
            if ext in want:
                files[ext] = (self.out / s.path).read_text(encoding="utf-8")
        return RenderedDevice(name, e.platform, e.main, files)

    def save(self) -> None:
        """Write the manifest (only if it changed), then make sure its mtime is past every
        stamp in it, so the next build trusts them."""
        path = self.out / MANIFEST
        try:
            write_if_changed(path, _manifest_text(self.new))
        except OSError:  # no manifest is no error: the next build is a full one
            with suppress(OSError):
                remove_manifest(self.out)
            return
        newest = max((max(s.mtime_ns, s.ctime_ns) for e in self.new.devices.values() for s in e.files), default=0)
        newest = max(newest, *(max(s.mtime_ns, s.ctime_ns) for s in (*self.new.exports, *self.new.agents)), 0)
        deadline = time.monotonic() + RACY_TOUCH_SECONDS
        while True:
            try:
                if os.stat(path).st_mtime_ns > newest or time.monotonic() > deadline:
                    return
            except OSError:
                return
            time.sleep(0.002)
            atomic_write(path, path.read_bytes())  # a new mtime (and a new file: nothing reads it half-written)


__all__ = [
    "ALL_ROOTS", "EXPORT_ROOTS", "FORMAT", "MANIFEST", "RENDER_ROOTS", "BuildCache", "CodeFiles", "DeviceEntry",
    "Manifest", "Stamp", "UnchangedBuild", "code_files", "code_fingerprint", "input_key", "older_than", "read_manifest",
    "remove_manifest", "unchanged_build",
]
