"""Property tests of the whole build: for any fabric ``tests/bench/gen_fabric.py`` can make
(hypothesis over its parameters, small sizes), ``Fabric.build`` succeeds and the three
Junos forms of every Junos device say the same thing.

"The same thing": the ``.set`` and ``.xml`` files are exactly what the ``.conf`` file's own
parse tree prints (the renderer prints them from a tree with shared blocks spliced in, so
this is an independent path), the ``.conf`` text survives a parse/print round trip, and
every value of a ``set`` line appears in the XML.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fabric
from fabric.render.junos.tree import parse, set_lines, to_curly, to_set, unquote
from fabric.render.junos.xml import to_xml
from tests.bench.gen_fabric import write

PLATFORMS = st.sampled_from([("junos",), ("junos", "nxos"), ("junos", "nxos", "frr"), ("nxos", "junos"), ("frr", "junos")])


@st.composite
def shapes(draw: st.DrawFn) -> dict[str, object]:
    vrfs = draw(st.integers(1, 3))
    return {
        "spines": draw(st.integers(1, 4)),
        "leaves": draw(st.integers(1, 6)),
        "svis": draw(st.integers(1, 6)),
        "vrfs": vrfs,
        "tenants": draw(st.integers(1, vrfs)),
        "platforms": draw(PLATFORMS),
    }


_QUOTED_END = re.compile(r'"(?:[^"\\]|\\.)*"$')


def _xml_text(xml: str) -> str:
    return re.sub(r"&lt;", "<", re.sub(r"&gt;", ">", re.sub(r"&amp;", "&", xml)))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=shapes())
def test_any_generated_fabric_builds_and_its_junos_forms_agree(shape: dict[str, object]) -> None:
    with tempfile.TemporaryDirectory(prefix="prop-build-") as tmp:
        inv, out = Path(tmp) / "inv", Path(tmp) / "out"
        write(inv, **shape)  # type: ignore[arg-type]
        fab = fabric.load(inv)
        fab.write_plan(fab.plan())
        result = fabric.load(inv).build(out)
        assert not result.skipped and result.exports == "written"
        junos = sorted(p for p in (out / "configs").glob("*.conf") if not p.name.endswith(".frr.conf"))
        for conf_path in junos:
            conf = conf_path.read_text(encoding="utf-8")
            tree = parse(conf)
            assert to_curly(tree) == conf
            assert conf_path.with_suffix(".set").read_text(encoding="utf-8") == to_set(tree)
            xml = conf_path.with_suffix(".xml").read_text(encoding="utf-8")
            assert xml == to_xml(tree)
            plain = _xml_text(xml)
            for line in set_lines([s for s in tree if s.keyword != "system"]):
                quoted = _QUOTED_END.search(line)
                value = unquote(quoted.group()) if quoted else line.split()[-1]
                assert value in plain, line
