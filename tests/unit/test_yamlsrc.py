"""The source-mapped YAML reader (:func:`fabric.yamlsrc.load_yaml_with_lines`) against
PyYAML itself: the same data as ``yaml.safe_load`` and, for every data path, the line
PyYAML's composed nodes give (a plain reference written from the node tree)."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fabric.yamlsrc import PathT, SourceMap, load_yaml_with_lines

WORDS = ["a", "b c", "yes", "No", "on", "null", "~", "1", "010", "0x1f", "1.5", "1_000", "-3", "+4", ".inf", "10.0.0.1/31",
         "fd00::1", "é", "<<x", "a: b", "#x", "", "true", "2001-01-01", "12:30", "'q'", '"d"', "multi\nline"]
scalars = st.one_of(st.sampled_from(WORDS), st.integers(-10**12, 10**12), st.booleans(), st.none(),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8))
keys = st.one_of(st.sampled_from([w for w in WORDS if w not in ("yes", "No", "on", "null", "~", "true", "1.5", ".inf", "",
                                                                "2001-01-01", "12:30")]),
                 st.integers(0, 10**6))
documents = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                          st.dictionaries(keys, inner, max_size=4)), max_leaves=25)


def reference_lines(text: str) -> dict[PathT, int]:
    """Path -> line from PyYAML's composed nodes: a mapping value at its key's line, a list
    item at its own line, the document at its first line when it is a collection."""
    out: dict[PathT, int] = {}
    root = yaml.compose(text, Loader=yaml.SafeLoader)

    def walk(node: yaml.Node, path: PathT) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = yaml.safe_load(yaml.serialize(k))
                out[(*path, key)] = k.start_mark.line + 1
                walk(v, (*path, key))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                out[(*path, i)] = v.start_mark.line + 1
                walk(v, (*path, i))

    if isinstance(root, yaml.MappingNode | yaml.SequenceNode):
        out[()] = root.start_mark.line + 1
        walk(root, ())
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents, st.sampled_from([None, True, False]), st.booleans(), st.sampled_from([2, 4]))
def test_same_data_and_lines_as_pyyaml(doc: Any, flow: bool | None, unicode: bool, indent: int) -> None:
    text = yaml.safe_dump(doc, default_flow_style=flow, allow_unicode=unicode, sort_keys=False, indent=indent)
    smap = SourceMap()
    assert load_yaml_with_lines(text, "f.yaml", smap) == yaml.safe_load(text)
    assert {p: line for p, (_, line) in smap.where.items()} == reference_lines(text)
    assert {f for f, _ in smap.where.values()} <= {"f.yaml"}
