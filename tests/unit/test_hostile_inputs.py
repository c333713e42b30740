"""Random mutations of the example inventories (and their ledgers) never crash the CLI:
``fabric check`` and ``fabric plan`` exit 0 or 2, never with a traceback; on exit 2 they
wrote nothing; every line they print on exit 2 is ``FILE[:LINE]: path: message`` (or the
closing count). LINE is left out only for problems of a whole file (a FIFO, a directory).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fabric.cli import main
from tests.errors.regen import snapshot

REPO = Path(__file__).resolve().parents[2]
SOURCES = {
    name: {p.name: p.read_bytes() for p in sorted((REPO / "inventories" / name).glob("*.yaml"))}
    for name in ("shownet2024", "shownet2024-dci", "lab")
}
SOURCES["errors-base"] = {p.name: p.read_bytes() for p in sorted((REPO / "tests" / "errors" / "base").glob("*.yaml"))}
LINE = re.compile(r'^(?P<file>[^\s:]+)(?::(?P<line>\d+))?: (?P<path>(?:[^\s"]|"(?:[^"\\]|\\.)*")+): (?P<message>\S.*)$')
SUMMARY = re.compile(r"^\d+ problem\(s\); nothing was written$")

WEIRD = ["", "-1", "0", "null", "~", "[", "]", "{", "}", "*x", "&a", "'", '"', "99999999999999999999", "10.0.0.0/33",
         "all", "yes", "1.5", "::", "!!binary x", "!!python/object:os.system x", "<<: *a", "- x", "a: b: c",
         "\t", "%YAML 1.1", "---", "...", "🙂", "10.0.0.1", "fd00::/200", "65536-1", "0-0"]


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str, bytes]:
    name = draw(st.sampled_from(sorted(SOURCES)))
    fname = draw(st.sampled_from(sorted(SOURCES[name])))
    lines = SOURCES[name][fname].split(b"\n")
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "value", "indent", "key", "bytes", "truncate"]))
        line = lines[i] if lines else b""
        if kind == "delete" and lines:
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, line)
        elif kind == "swap" and lines:
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "value" and b": " in line:
            head = line.split(b": ", 1)[0]
            lines[i] = head + b": " + draw(st.sampled_from(WEIRD)).encode()
        elif kind == "indent":
            lines[i] = b"  " + line if draw(st.booleans()) else line[2:]
        elif kind == "key" and b":" in line:
            k = line.index(b":")
            j = draw(st.integers(0, max(0, k - 1)))
            lines[i] = line[:j] + draw(st.sampled_from([b"x", b"", b"_", b"s"])) + line[j + 1:]
        elif kind == "bytes":
            lines[i] = line + draw(st.binary(min_size=1, max_size=4))
        elif kind == "truncate":
            lines = lines[: i + 1]
            lines[-1] = line[: draw(st.integers(0, len(line)))]
    return name, fname, b"\n".join(lines)


def _run(args: list[str], cwd: Path) -> tuple[int, str, BaseException | None]:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        r = CliRunner().invoke(main, args)
    finally:
        os.chdir(old)
    return r.exit_code, r.stderr, r.exception


def _assert_contract(code: int, stderr: str, exc: BaseException | None, before: dict[str, bytes | str],
                     inv: Path) -> None:
    assert exc is None or isinstance(exc, SystemExit), f"crashed: {exc!r}\n{stderr}"
    assert code in (0, 2), f"exit {code}: {stderr}"
    if code == 2:
        assert snapshot(inv) == before, "wrote on exit 2"
        lines = stderr.splitlines()
        assert lines, "exit 2 without a message"
        for line in lines:
            assert LINE.match(line) or SUMMARY.match(line), f"not FILE:LINE: path: message: {line!r}"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(case=mutated(), command=st.sampled_from(["check", "plan"]))
def test_mutated_inventory_is_ok_or_a_clean_error(case: tuple[str, str, bytes], command: str,
                                                   tmp_path_factory: pytest.TempPathFactory) -> None:
    name, fname, data = case
    work = tmp_path_factory.mktemp("mut")
    inv = work / "inv"
    inv.mkdir()
    for f, text in SOURCES[name].items():
        (inv / f).write_bytes(text)
    (inv / fname).write_bytes(data)
    before = snapshot(inv)
    code, stderr, exc = _run([command, "inv"], work)
    _assert_contract(code, stderr, exc, before, inv)
    shutil.rmtree(work)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=st.data(), command=st.sampled_from(["check", "plan"]))
def test_mutated_ledger_is_ok_or_a_clean_error(data: st.DataObject, command: str,
                                                tmp_path_factory: pytest.TempPathFactory) -> None:
    name = data.draw(st.sampled_from(["shownet2024", "lab"]))
    work = tmp_path_factory.mktemp("mutl")
    inv = work / "inv"
    shutil.copytree(REPO / "inventories" / name, inv)
    ledger = inv / "allocations.yaml"
    lines = ledger.read_bytes().split(b"\n")
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(4, len(lines) - 2))
        kind = data.draw(st.sampled_from(["delete", "duplicate", "value", "swapvalues", "key", "bytes"]))
        if kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "value" and b": " in lines[i]:
            lines[i] = lines[i].split(b": ", 1)[0] + b": " + data.draw(st.sampled_from(WEIRD)).encode()
        elif kind == "swapvalues":
            j = data.draw(st.integers(4, len(lines) - 2))
            if b": " in lines[i] and b": " in lines[j]:
                ki, vi = lines[i].split(b": ", 1)
                kj, vj = lines[j].split(b": ", 1)
                lines[i], lines[j] = ki + b": " + vj, kj + b": " + vi
        elif kind == "key" and b'"' in lines[i]:
            lines[i] = lines[i].replace(b'"', b"", 1)
        elif kind == "bytes":
            lines[i] += data.draw(st.binary(min_size=1, max_size=3))
    ledger.write_bytes(b"\n".join(lines))
    before = snapshot(inv)
    code, stderr, exc = _run([command, "inv"], work)
    _assert_contract(code, stderr, exc, before, inv)
    if code == 0 and command == "plan":
        # a ledger plan accepted (and may have rewritten) must load cleanly again
        code2, stderr2, _ = _run(["check", "inv"], work)
        assert code2 == 0, stderr2
    shutil.rmtree(work)


def test_line_numbers_are_printed_as_written(tmp_path: Path) -> None:
    """``:100:`` is a line number, not an emoji code (rich would print one)."""
    inv = tmp_path / "inv"
    inv.mkdir()
    for f, text in SOURCES["errors-base"].items():
        (inv / f).write_bytes(text)
    (inv / "extra.yaml").write_text("#\n" * 99 + "colour: blue\n")
    code, stderr, _ = _run(["check", "inv"], tmp_path)
    assert code == 2
    assert stderr.splitlines()[0].startswith("inv/extra.yaml:100: colour: unknown top-level key 'colour'")


@pytest.mark.parametrize("command", ["check", "plan"])
def test_ledger_value_of_the_other_address_family_is_a_clean_error(command: str, tmp_path: Path) -> None:
    # found by the property test above: an IPv6 value where the ledger holds IPv4 addresses
    # (and the other way round) crashed while saying it lies outside its pool
    inv = tmp_path / "inv"
    shutil.copytree(REPO / "inventories" / "lab", inv)
    ledger = inv / "allocations.yaml"
    text = ledger.read_text(encoding="utf-8")
    v4, v6 = '  "leaf1": "10.0.0.3"', '  "blue--leaf1": "fd00:0:0:3::1"'
    assert v4 in text and v6 in text
    text = text.replace(v4, '  "leaf1": "fd00:0:0:3::1"').replace(v6, '  "blue--leaf1": "10.0.0.3"')
    ledger.write_text(text, encoding="utf-8")
    before = snapshot(inv)
    code, stderr, exc = _run([command, "inv"], tmp_path)
    _assert_contract(code, stderr, exc, before, inv)
    assert code == 2 and "expected an IPv4 address" in stderr and "expected an IPv6 address" in stderr
