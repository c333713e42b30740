"""The build cache (:mod:`fabric.buildcache`): a cached rebuild writes exactly what a fresh
build would, whatever changed in between: the inventory, files edited, deleted or added by
hand in the build folder, the code, the manifest itself."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fabric
import fabric.buildcache as bc
from fabric.build import CONFIG_DIR, INTENT_DIR
from fabric.buildcache import MANIFEST, RENDER_ROOTS, code_files, code_fingerprint, read_manifest
from fabric.cli import main
from fabric.design.intent import DeviceIntent
from fabric.platforms import MODELS
from fabric.render.base import RENDERERS, get_renderer
from tests.bench.gen_fabric import LEAF_MODELS, leaf_model_for, write
from tests.unit.test_build import INVENTORIES, copy_inventory, replan, snapshot

# --------------------------------------------------------------------------- inventory edits


def _edit(path: Path, change: Callable[[list[str]], list[str]]) -> None:
    path.write_text("\n".join(change(path.read_text(encoding="utf-8").split("\n"))), encoding="utf-8")


def describe_network(inv: Path, n: int, text: str) -> None:
    """Give network ``net<n>`` of a gen_fabric inventory a description."""
    def change(lines: list[str]) -> list[str]:
        at = lines.index(f"      - name: net{n}")
        if lines[at + 1].startswith("        description:"):
            del lines[at + 1]
        lines.insert(at + 1, f"        description: {text}")
        return lines
    _edit(inv / "tenants.yaml", change)


def _network_blocks(lines: list[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if line.startswith("      - name: net")]


def remove_network(inv: Path) -> None:
    """Remove the last network but net1 (the Kubernetes nodes live on net1)."""
    def change(lines: list[str]) -> list[str]:
        starts = [i for i in _network_blocks(lines) if lines[i] != "      - name: net1"]
        if not starts:
            return lines
        at = starts[-1]
        end = at + 1
        while end < len(lines) and lines[end].startswith("        "):
            end += 1
        return lines[:at] + lines[end:]
    _edit(inv / "tenants.yaml", change)


def add_network(inv: Path, n: int) -> None:
    """Add network ``extra<n>`` to the first tenant's first VRF."""
    def change(lines: list[str]) -> list[str]:
        nonlocal n
        while f"      - name: extra{n}" in lines:  # a name not taken yet
            n += 1
        at = lines.index("    networks:") + 1
        vrf = lines[lines.index("    vrfs:") + 1].split("name: ")[1]
        return [*lines[:at], f"      - name: extra{n}", f"        vrf: {vrf}",
                f"        gateway4: 10.200.{n % 250}.1/24", "        leaves: all", *lines[at:]]
    _edit(inv / "tenants.yaml", change)


def leaves_of(inv: Path) -> list[tuple[str, str]]:
    """(name, platform) of each leaf of a gen_fabric inventory."""
    out = []
    for line in (inv / "fabric.yaml").read_text(encoding="utf-8").splitlines():
        if line.startswith("  - {name: leaf"):
            fields = dict(part.strip().split(": ", 1) for part in line.strip()[3:-1].split(", "))
            out.append((fields["name"], fields["platform"]))
    return out


def spines_of(inv: Path) -> int:
    return sum(1 for line in (inv / "fabric.yaml").read_text(encoding="utf-8").splitlines()
               if line.startswith("  - {name: spine"))


def server_port(inv: Path, n: int) -> None:
    """Put server ``srv`` on the first leaf, on its ``n``-th free port (a port change when
    it is there already)."""
    leaf, platform = leaves_of(inv)[0]
    spines = spines_of(inv)
    model = MODELS[leaf_model_for(platform, spines)]
    free = [p for p in model.downlinks if p not in model.uplinks[:spines]][1:]  # the first is the node's
    port = free[n % len(free)]
    (inv / "servers.yaml").write_text(
        f"servers:\n  - name: srv\n    links:\n      - {{leaf: {leaf}, port: {port}}}\n    networks: [net1]\n",
        encoding="utf-8")


def remove_last_leaf(inv: Path) -> None:
    """Remove the last leaf (with its Kubernetes node and its partner's pair reference);
    the only leaf stays."""
    leaves = leaves_of(inv)
    if len(leaves) < 2:
        return
    gone = leaves[-1][0]
    _edit(inv / "fabric.yaml", lambda lines: [
        line.replace(f", pair: {gone}", "") for line in lines if not line.startswith(f"  - {{name: {gone},")])
    _edit(inv / "kubernetes.yaml", lambda lines: [line for line in lines if f"leaf: {gone}," not in line])


EDITS = st.sampled_from(["describe", "remove_network", "add_network", "server_port", "remove_leaf",
                         "hand_edit", "hand_delete", "stray_file", "nothing"])


def apply(edit: str, n: int, inv: Path, out: Path) -> None:
    if edit == "describe":
        k = 1 + n % 2  # net2 may be gone (remove_network); net1 always stays
        present = f"      - name: net{k}\n" in (inv / "tenants.yaml").read_text(encoding="utf-8")
        describe_network(inv, k if present else 1, f"edit {n}")
    elif edit == "remove_network":
        remove_network(inv)
    elif edit == "add_network":
        add_network(inv, n)
    elif edit == "server_port":
        server_port(inv, n)
    elif edit == "remove_leaf":
        remove_last_leaf(inv)
    elif out.is_dir():
        files = sorted(p for p in out.rglob("*") if p.is_file() and p.name != MANIFEST)
        victim = files[n % len(files)]
        if edit == "hand_edit":  # the same size, right after the build: only the stamp can tell
            data = bytearray(victim.read_bytes())
            data[len(data) // 2] ^= 1
            with open(victim, "r+b") as f:  # in place: same inode
                f.write(bytes(data))
        elif edit == "hand_delete":
            victim.unlink()
        elif edit == "stray_file":  # in a folder the build owns (elsewhere a build leaves strays alone)
            folder = out / ("configs", "intent", "docs", "clab-configs")[n % 4]
            if folder.is_dir():
                (folder / f"stray{n}.md").write_text("stray\n")
    if edit in ("remove_network", "add_network", "server_port", "remove_leaf"):
        replan(inv)


def settle() -> None:
    """Let the inventory files age past :data:`fabric.buildcache.INPUT_MARGIN_NS`."""
    time.sleep(bc.INPUT_MARGIN_NS / 1e9 + 0.01)


@st.composite
def small_fabrics(draw: st.DrawFn) -> dict[str, object]:
    return {
        "spines": draw(st.integers(1, 2)),
        "leaves": draw(st.integers(1, 4)),
        "svis": draw(st.integers(2, 4)),
        "vrfs": 1,
        "platforms": draw(st.sampled_from([("junos", "nxos"), ("nxos", "frr"), ("frr", "junos")])),
    }


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# distinct numbers: add_network twice with one number would add a duplicate network
@given(shape=small_fabrics(),
       edits=st.lists(st.tuples(EDITS, st.integers(0, 50)), min_size=1, max_size=4, unique_by=lambda e: e[1]))
def test_a_cached_rebuild_after_any_edits_equals_a_fresh_build(
    shape: dict[str, object], edits: list[tuple[str, int]]
) -> None:
    with tempfile.TemporaryDirectory(prefix="buildcache-") as tmp:
        inv, out = Path(tmp) / "inv", Path(tmp) / "out"
        write(inv, **shape)  # type: ignore[arg-type]
        replan(inv)
        settle()
        fabric.load(inv).build(out)
        for i, (edit, n) in enumerate(edits):
            apply(edit, n, inv, out)
            settle()  # inventory files older than the load: the whole-build shortcut may apply
            cached = fabric.load(inv).build(out)
            fresh = Path(tmp) / f"fresh{i}"
            full = fabric.load(inv).build(fresh)
            assert snapshot(out) == snapshot(fresh), (edit, n)
            assert (cached.files, cached.lines, cached.platforms) == (full.files, full.lines, full.platforms)
            shutil.rmtree(fresh)


# --------------------------------------------------------------------------- what is skipped, what is not


@pytest.fixture
def gen(tmp_path: Path) -> Path:
    inv = tmp_path / "inv"
    write(inv, spines=2, leaves=4, svis=3, vrfs=1, platforms=("junos", "nxos"))
    replan(inv)
    return inv


def test_nothing_changed_renders_and_writes_nothing(gen: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = fabric.load(gen).build(out)
    assert first.cached == 0 and first.exports == "written"
    before = snapshot(out)
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.name != MANIFEST}
    again = fabric.load(gen).build(out)
    assert again.cached == again.devices == 6 and again.exports == "unchanged"
    assert again.written == [] and again.removed == []
    assert (again.files, again.lines, again.platforms) == (first.files, first.lines, first.platforms)
    assert snapshot(out) == before
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


def test_an_edit_on_one_leaf_renders_that_leaf_only(gen: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    fabric.load(gen).build(out)
    server_port(gen, 0)
    replan(gen)
    r = fabric.load(gen).build(out)
    assert r.cached == 5  # leaf1 rendered again; the spines and the other leaves not
    assert {p.name.split(".")[0] for p in r.written if p.parent.name in (CONFIG_DIR, INTENT_DIR)} == {"leaf1"}
    assert r.exports == "written"  # the server is in the cabling plan and the docs
    fresh = tmp_path / "fresh"
    fabric.load(gen).build(fresh)
    assert snapshot(out) == snapshot(fresh)


def test_a_file_edited_by_hand_is_put_back(gen: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    fabric.load(gen).build(out)
    before = snapshot(out)
    conf = out / CONFIG_DIR / "leaf1.conf"
    page = out / "docs" / "leaf2.md"
    for p in (conf, page):  # same size, same inode, at once: the stamp's ctime (or the racy rule) tells
        data = p.read_bytes()
        with open(p, "r+b") as f:
            f.write(data[:10].swapcase())
    r = fabric.load(gen).build(out)
    assert snapshot(out) == before
    assert conf in r.written and r.cached == 5 and r.exports == "written"


def test_a_deleted_file_is_written_again(gen: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    fabric.load(gen).build(out)
    before = snapshot(out)
    (out / CONFIG_DIR / "leaf2.cfg").unlink()
    (out / INTENT_DIR / "spine1.json").unlink()
    (out / "cabling.csv").unlink()
    (out / "docs" / "stray.md").write_text("not ours\n")
    (out / CONFIG_DIR / "stray.conf").write_text("not ours\n")
    r = fabric.load(gen).build(out)
    assert snapshot(out) == before
    assert r.cached == 4 and r.exports == "written"


def test_a_code_change_renders_everything(gen: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    fabric.load(gen).build(out)
    real = bc.code_fingerprint
    # a template edit changes the renderers' fingerprint and the whole code's, not the exports'
    monkeypatch.setattr(bc, "code_fingerprint", lambda roots: real(roots) if roots == bc.EXPORT_ROOTS
                        else "edited" + real(roots))
    r = fabric.load(gen).build(out)
    assert r.cached == 0 and r.exports == "written" and r.written == []
    m = read_manifest(out)
    assert m is not None and m.render_code.startswith("edited")
    monkeypatch.undo()
    assert fabric.load(gen).build(out).cached == 0  # and back again


def test_the_fingerprint_covers_templates_and_what_the_renderers_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    covered = code_files(RENDER_ROOTS)
    for must in ("fabric/render/base.py", "fabric/render/junos/renderer.py", "fabric/platforms.py",
                 "fabric/design/intent.py", "fabric/speed.py", "fabric/sorting.py", "fabric/errors.py"):
        assert must in covered.files
    assert any(f.startswith("fabric/render/junos/templates/") for f in covered.files)
    assert {"jinja2", "markupsafe", "netaddr"} <= set(covered.packages)
    assert "fabric/cli.py" not in covered.files and "fabric/api.py" not in covered.files
    # every project module loaded once the renderers ran is covered (a fresh import graph)
    for platform in ("junos", "nxos", "frr"):
        get_renderer(platform)
    loaded = {Path(m.__file__).resolve() for name, m in list(__import__("sys").modules.items())
              if name.startswith("fabric.render") and getattr(m, "__file__", None)}
    root = Path(bc.__file__).resolve().parent.parent
    assert {p.relative_to(root).as_posix() for p in loaded} <= set(covered.files)
    # a template edit changes the fingerprint: a copy of the code with one template changed
    copy = tmp_path / "src"
    shutil.copytree(root / "fabric", copy / "fabric", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(root / "bgp", copy / "bgp", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(bc, "_source_root", lambda: copy)
    code_files.cache_clear()
    try:
        before = code_fingerprint(RENDER_ROOTS)
        template = next((copy / "fabric/render/junos/templates").iterdir())
        template.write_text(template.read_text() + "\n")
        assert code_fingerprint(RENDER_ROOTS) != before
        (copy / "fabric/cli.py").write_text("# not read by a renderer\n")
        assert code_fingerprint(RENDER_ROOTS) == code_fingerprint(RENDER_ROOTS)
    finally:
        code_files.cache_clear()


@pytest.mark.parametrize("damage", ["corrupt", "truncated", "foreign", "wrong_types", "directory", "missing"])
def test_a_damaged_manifest_means_a_full_build(gen: Path, tmp_path: Path, damage: str) -> None:
    out = tmp_path / "out"
    fabric.load(gen).build(out)
    before = snapshot(out)
    m = out / MANIFEST
    text = m.read_text()
    (out / CONFIG_DIR / "leaf1.conf").write_text("stale\n")  # only a full build puts it back
    if damage == "corrupt":
        m.write_text("{not json")
    elif damage == "truncated":
        m.write_text(text[: len(text) // 2])
    elif damage == "foreign":
        m.write_text(json.dumps({**json.loads(text), "format": 999}))
    elif damage == "wrong_types":
        doc = json.loads(text)
        doc["devices"]["leaf1"]["files"] = "nope"
        m.write_text(json.dumps(doc))
    elif damage == "directory":
        m.unlink()
        m.mkdir()
    else:
        m.unlink()
    r = fabric.load(gen).build(out)
    assert r.cached == 0 and r.exports == "written"
    assert snapshot(out) == before
    if damage != "directory":  # a manifest that cannot be written is no error either
        assert read_manifest(out) is not None
        assert fabric.load(gen).build(out).cached == 6


def test_no_cache_renders_everything(gen: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    fabric.load(gen).build(out)
    assert fabric.load(gen).build(out, cache=False).cached == 0
    r = CliRunner().invoke(main, ["build", str(gen), "-o", str(out), "--no-cache", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["cached"] == 0 and doc["exports"] == "written"
    r = CliRunner().invoke(main, ["build", str(gen), "-o", str(out), "--json"])
    assert json.loads(r.output)["cached"] == 6 and json.loads(r.output)["exports"] == "unchanged"


def test_a_renderer_registered_in_place_of_a_builtin_is_never_cached(gen: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    fabric.load(gen).build(out)
    real = get_renderer("nxos")

    class Mine:
        platform = "nxos"
        formats = ("cfg",)

        def render(self, intent: DeviceIntent) -> dict[str, str]:
            return {"cfg": f"mine {intent.device.name}\n"}

        def render_main(self, intent: DeviceIntent) -> str:
            return self.render(intent)["cfg"]

    RENDERERS.register(Mine(), replace=True)
    try:
        r = fabric.load(gen).build(out)
        assert (out / CONFIG_DIR / "leaf2.cfg").read_text() == "mine leaf2\n"
        assert r.cached == 2 and r.exports == "written"  # the NX-OS spines and leaves rendered, not the Junos leaves
    finally:
        RENDERERS.register(real, replace=True)
    r = fabric.load(gen).build(out)  # what the other renderer wrote was never recorded
    assert r.cached == 2 and (out / CONFIG_DIR / "leaf2.cfg").read_text() != "mine leaf2\n"


def test_a_copied_build_folder_builds_in_full_once(tmp_path: Path) -> None:
    inv = copy_inventory("shownet2024", tmp_path)
    out = tmp_path / "out"
    fabric.load(inv).build(out)
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)  # new inodes: nothing in the copy is trusted
    r = fabric.load(inv).build(copy)
    assert r.cached == 0 and r.written == []
    assert fabric.load(inv).build(copy).cached == r.devices
    assert snapshot(copy) == snapshot(out)


def test_racy_stamps_are_not_trusted(gen: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    fabric.load(gen).build(out)
    m = out / MANIFEST
    stamps = {p: p.stat().st_ctime_ns for p in out.rglob("*") if p.is_file() and p.name != MANIFEST}
    assert m.stat().st_mtime_ns > max(stamps.values())  # save() waited for the clock
    newest = max(t for p, t in stamps.items() if p.parent.name == CONFIG_DIR)
    os.utime(m, ns=(newest, newest))  # as if written in the same tick as the last config
    r = fabric.load(gen).build(out)
    assert r.cached < 6 and r.exports == "written"


def test_leaf_models_of_the_generator_are_known() -> None:
    # the edits above pick ports from these models
    assert all(m in MODELS for models in LEAF_MODELS.values() for m in models)


def test_inventories_rebuild_from_the_cache(tmp_path: Path) -> None:
    for name in ("shownet2024", "shownet2024-dci", "lab"):
        out = tmp_path / name
        first = fabric.load(INVENTORIES / name).build(out)
        again = fabric.load(INVENTORIES / name).build(out)
        assert again.cached == first.devices - len(first.skipped) and again.exports == "unchanged"
        assert again.written == []


# --------------------------------------------------------------------------- the whole-build shortcut


def test_an_unchanged_input_skips_the_whole_build(gen: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    settle()
    first = fabric.load(gen).build(out)
    before = snapshot(out)
    (out / "docs" / "stray.md").write_text("not ours\n")
    (out / CONFIG_DIR / "stray.conf").write_text("not ours\n")
    fab = fabric.load(gen)
    again = fab.build(out)
    assert list(again.seconds) == ["unchanged"] and fab._design is None  # not even designed
    assert (again.devices, again.files, again.lines, again.platforms) == (
        first.devices, first.files, first.lines, first.platforms)
    assert again.cached == again.devices and again.written == [] and again.exports == "unchanged"
    assert {p.name for p in again.removed} == {"stray.md", "stray.conf"}
    assert snapshot(out) == before
    # a file changed by hand: that device's path, not the shortcut
    (out / INTENT_DIR / "leaf3.json").write_text("{}\n")
    r = fabric.load(gen).build(out)
    assert "unchanged" not in r.seconds and r.cached == 5 and snapshot(out) == before
    # the code changed: no shortcut
    m = json.loads((out / MANIFEST).read_text())
    assert m["input"]


def test_files_changed_after_loading_are_not_trusted(gen: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    settle()
    fabric.load(gen).build(out)
    tenants = gen / "tenants.yaml"
    original = tenants.read_text()
    describe_network(gen, 1, "what the fabric in memory says")
    settle()
    fab = fabric.load(gen)
    tenants.write_text(original)  # back to what the manifest's input key says, after loading
    r = fab.build(out)  # builds what fab holds, not what the files say
    assert "unchanged" not in r.seconds
    assert "what the fabric in memory says" in (out / "docs" / "index.md").read_text() + "".join(
        p.read_text() for p in (out / INTENT_DIR).iterdir())
    assert json.loads((out / MANIFEST).read_text())["input"] == ""  # nothing to skip next time
    settle()
    fresh = tmp_path / "fresh"
    fabric.load(gen).build(fresh)
    fabric.load(gen).build(out)
    assert snapshot(out) == snapshot(fresh)


def test_the_whole_build_key_covers_all_the_code(tmp_path: Path) -> None:
    covered = code_files(bc.ALL_ROOTS).files
    root = Path(bc.__file__).resolve().parent.parent
    for top in ("fabric", "bgp"):
        assert {p.relative_to(root).as_posix() for p in (root / top).rglob("*.py")
                if "__pycache__" not in p.parts} <= set(covered)


def test_a_file_removed_after_loading_is_not_trusted(gen: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    settle()
    fabric.load(gen).build(out)  # recorded: the inventory without servers.yaml
    server_port(gen, 0)
    settle()
    fab = fabric.load(gen)  # with the server
    (gen / "servers.yaml").unlink()  # the files now say what the manifest's key says
    r = fab.build(out)
    assert "unchanged" not in r.seconds
    assert "srv" in (out / "cabling.csv").read_text()
