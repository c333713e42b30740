"""The helpers of ``fabric/speed.py`` keep their promises (their gains are measured in
``tests/bench/test_speed.py``)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface, ip_address, ip_interface
from pathlib import Path

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fabric.errors import RenderError
from fabric.render.junos.tree import SharedBlock, StatementMemo, fill_marks, parse
from fabric.render.junos.xml import to_xml
from fabric.render.shared import template_environment
from fabric.speed import CACHE_ENV, address_text, cache_dir, template_bytecode_cache


def test_fill_marks_puts_each_shared_block_where_it_was_marked() -> None:
    a, b = SharedBlock("x;\n", 7), SharedBlock("y;\n", 9)
    blocks = {7: a, 9: b}
    assert fill_marks("p {\n__slot__ 9;\n}\n__slot__ 7;\n", blocks, [7, 9]) == "p {\ny;\n}\nx;\n"
    with pytest.raises(RenderError, match="do not match"):
        fill_marks("__slot__ 7;\n__slot__ 7;\n", blocks, [7, 9])
    with pytest.raises(RenderError, match="do not match"):
        fill_marks("__slot__ 7;\n", blocks, [7, 9])


STATEMENT_TEXTS = [
    "policy-options {\n    prefix-list P {\n        10.0.0.1/32;\n    }\n    community C members [ 1:1 2:2 ];\n"
    "    policy-statement X {\n    }\n}\n",
    'interfaces {\n    et-0/0/1 {\n        description "x: {y}; [z]";\n        unit 0;\n    }\n}\n',
    "## Last changed\nsystem {\n    host-name a; # comment\n}\n",
    # the same block in two places
    "protocols {\n    lldp {\n        interface all;\n    }\n}\nvlans {\n    lldp {\n        interface all;\n    }\n}\n",
]


@pytest.mark.parametrize("text", STATEMENT_TEXTS)
def test_statement_memo_parses_as_parse_does(text: str) -> None:
    memo = StatementMemo()
    for _ in range(2):  # the second time from what the memo kept
        tree = memo.parse(text)
        assert tree is not None
        assert tree.stmts == parse(text)
        assert to_xml(tree.stmts, outside_schema=True, memo=tree) == to_xml(parse(text), outside_schema=True)


@pytest.mark.parametrize("text", [
    "a { b; }\n",  # two statements on a line
    "a {\n    b\n    c;\n}\n",  # a statement over two lines
    "/* block\ncomment */\na;\n",
    "a {\n",  # unbalanced
    "}\n",
    'a "b;\n',  # unterminated string
])
def test_statement_memo_leaves_other_text_to_parse(text: str) -> None:
    assert StatementMemo().parse(text) is None


def test_statement_memo_is_dropped_past_its_limit() -> None:
    memo = StatementMemo(limit=3)
    for i in range(10):
        tree = memo.parse(f"a {{\n    b {i};\n}}\n")
        assert tree is not None
        assert tree.stmts == parse(f"a {{\n    b {i};\n}}\n")
        assert len(memo) <= 3 + 3


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.setenv(CACHE_ENV, "")
    assert cache_dir() is None
    assert template_bytecode_cache(("x",)) is None
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "leafspine"


def _render(loader: jinja2.BaseLoader) -> str:
    return template_environment(loader).get_template("t.j2").render(x=1)


def test_template_cache_is_used_and_follows_the_source(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    src = {"t.j2": "{% if x %}\nA {{ x }}\n{% endif %}\n"}
    assert _render(jinja2.DictLoader(src)) == "A 1\n"
    cached = list((tmp_path / "cache").rglob("*.cache"))
    assert len(cached) == 1
    assert _render(jinja2.DictLoader(src)) == "A 1\n"  # from the cache
    src["t.j2"] = "B {{ x }}\n"  # an edited template is compiled again, never the old code
    assert _render(jinja2.DictLoader(src)) == "B 1\n"


def test_unwritable_template_cache_is_no_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(CACHE_ENV, str(blocker / "cache"))  # cannot be created
    assert template_bytecode_cache(("x",)) is None
    folder = tmp_path / "gone"
    monkeypatch.setenv(CACHE_ENV, str(folder))
    bcc = template_bytecode_cache(("x",))
    assert bcc is not None
    for sub in folder.iterdir():  # the folder made for it is a file now: nothing can be written
        sub.rmdir()
        sub.write_text("")
    env = jinja2.Environment(loader=jinja2.DictLoader({"t.j2": "C"}), bytecode_cache=bcc)
    assert env.get_template("t.j2").render() == "C"


# ------------------------------------------------------------------ address_text

_GROUPS = st.sampled_from([0, 0, 0, 1, 0xF, 0xF0, 0x100, 0xABCD, 0xFFFF])


@settings(max_examples=600, deadline=None)
@given(st.lists(_GROUPS, min_size=8, max_size=8), st.integers(0, 128), st.integers(0, 2**128 - 1))
def test_address_text_is_str_for_ipv6(groups: list[int], prefixlen: int, anything: int) -> None:
    # every run of zero groups (the part of RFC 5952 printing where libraries differ), and
    # any address at all
    for number in (int("".join(f"{g:04x}" for g in groups), 16), anything):
        a = IPv6Address(number)
        assert address_text(a) == str(a)
        i = IPv6Interface((number, prefixlen))
        assert address_text(i) == str(i)
        assert address_text(i.network) == str(i.network)


@settings(max_examples=500, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 32))
def test_address_text_is_str_for_ipv4(number: int, prefixlen: int) -> None:
    a, i = IPv4Address(number), IPv4Interface((number, prefixlen))
    assert (address_text(a), address_text(i), address_text(i.network)) == (str(a), str(i), str(i.network))


@pytest.mark.parametrize("text", ["::", "::1", "::ffff:192.0.2.1", "::192.0.2.1", "::ffff:0:1", "64:ff9b::192.0.2.1",
                                  "fe80::1%eth0", "fe80::1%1", "2001:db8::", "2001:db8:0:0:1::1", "1:0:0:1:0:0:0:1"])
def test_address_text_edge_cases(text: str) -> None:
    a = ip_address(text)
    assert address_text(a) == str(a)
    i = ip_interface(f"{text}/64")
    assert address_text(i) == str(i)


def test_address_text_of_other_values_is_str() -> None:
    class Mine(IPv6Address):
        def __str__(self) -> str:
            return "mine"

    assert address_text(Mine("fd00::1")) == "mine"  # a subclass keeps its own text


def test_direct_init_makes_what_the_dataclass_makes() -> None:
    import dataclasses
    import inspect

    from fabric.speed import direct_init

    @dataclasses.dataclass(frozen=True, slots=True)
    class Plain:
        a: int
        b: str = "x"
        c: tuple[int, ...] | None = None
        d: int = dataclasses.field(default=3, kw_only=True)

    @direct_init
    @dataclasses.dataclass(frozen=True, slots=True)
    class Direct:
        a: int
        b: str = "x"
        c: tuple[int, ...] | None = None
        d: int = dataclasses.field(default=3, kw_only=True)

    assert str(inspect.signature(Direct.__init__)) == str(inspect.signature(Plain.__init__))
    for args, kwargs in (((1,), {}), ((1, "y", (2,)), {"d": 5}), ((), {"a": 2, "c": None})):
        p, d = Plain(*args, **kwargs), Direct(*args, **kwargs)  # type: ignore[arg-type]
        assert dataclasses.astuple(p) == dataclasses.astuple(d)
        assert repr(d) == repr(p).replace("Plain", "Direct") and d == Direct(*args, **kwargs)  # type: ignore[arg-type]
        assert hash(d) == hash(Direct(*args, **kwargs))  # type: ignore[arg-type]
    d = Direct(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.a = 2  # type: ignore[misc]
    assert dataclasses.replace(d, b="z") == Direct(1, "z")
    with pytest.raises(TypeError):
        Direct(1, 2, 3, 4)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Direct()  # type: ignore[call-arg]

    @dataclasses.dataclass(frozen=True, slots=True)
    class Factory:
        a: list[int] = dataclasses.field(default_factory=list)

    @dataclasses.dataclass(slots=True)
    class Mutable:
        a: int

    for cls in (Factory, Mutable):
        with pytest.raises(TypeError):
            direct_init(cls)
