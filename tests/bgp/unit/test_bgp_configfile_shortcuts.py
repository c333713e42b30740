"""The shortcuts that make reading a large services file fast give the answers the full
YAML machinery gives (bgp.configfile: the ``/`` resolver shortcut, the depth-only check of a
document without anchors)."""

from __future__ import annotations

import re

import pytest
import yaml

from bgp import configfile

SLASHED = ["100.64.0.1/32", "2001:db8::1/128", "1/2", "0/0", "1_0/2", "12:30/4", "1.5/2", "yes/no", "null/", "/", "~/x", "<</"]


def test_no_implicit_resolver_can_match_a_slash() -> None:
    # each pattern lists its characters explicitly: no "/", no unescaped "." and no negated
    # class, so no pattern can match a scalar holding "/"
    patterns = {r.pattern for resolvers in yaml.SafeLoader.yaml_implicit_resolvers.values() for _, r in resolvers}
    assert patterns
    for pattern in patterns:
        assert "/" not in pattern
        assert not re.search(r"(?<!\\)\.", pattern), pattern
        assert "[^" not in pattern, pattern


@pytest.mark.parametrize("value", SLASHED)
def test_a_plain_scalar_with_a_slash_reads_as_the_safe_loader_reads_it(value: str) -> None:
    text = f"- {value}\n- key: {value}\n"
    data, _ = configfile.parse_yaml(text, "f.yaml")
    assert data == yaml.load(text, Loader=yaml.SafeLoader) == [value, {"key": value}]


@pytest.mark.parametrize(
    "text",
    [
        "a: &x [1]\nb: *x\n",  # anchors: the full check runs
        "- 1\n" * 3,
        "x: " + "[" * 60 + "]" * 60 + "\n",
        "- " * 55 + "x\n",
        "".join(f"{'  ' * i}k{i}:\n" for i in range(55)) + "  " * 55 + "v\n",
        "k: [[1], {a: [2]}]\n" + "m: " + "{a: " * 50 + "1" + "}" * 50 + "\n",
    ],
)
def test_the_depth_check_without_anchors_reports_what_the_full_check_reports(text: str) -> None:
    def outcome(check: object) -> str:
        loader = configfile._LOADER(text)
        try:
            root = loader.get_single_node()
            check(root)  # type: ignore[operator]
            return "ok"
        except configfile._Refused as e:
            return f"{e.line}: {e.message}"
        finally:
            loader.dispose()

    assert outcome(configfile._check_depth) == outcome(configfile._check_shape)
