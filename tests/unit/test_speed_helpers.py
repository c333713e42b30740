"""The helpers of ``fabric/speed.py`` keep their promises (their gains are measured in
``tests/bench/test_speed.py``)."""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface, ip_address, ip_interface
from pathlib import Path

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fabric.render.shared import template_environment
from fabric.speed import CACHE_ENV, address_text, cache_dir, fill_numbered, template_bytecode_cache


def test_fill_numbered_puts_each_value_once() -> None:
    mark = re.compile(r"<(\d+)>\n")
    assert fill_numbered("a\n<1>\nb\n<0>\n", mark, ["X", "Y"]) == "a\nYb\nX"
    with pytest.raises(ValueError, match="do not match"):
        fill_numbered("<0>\n<0>\n", mark, ["X", "Y"])
    with pytest.raises(ValueError, match="do not match"):
        fill_numbered("<0>\n", mark, ["X", "Y"])


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
