"""Config validation, golden: each config_cases/<case>.yaml gives exactly <case>.errors."""

from __future__ import annotations

import importlib.metadata
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bgp import configfile
from bgp.config import load_config, parse_duration
from bgp.configfile import ConfigError

CASES = Path(__file__).parent / "config_cases"
BGP_AGENT = str(Path(sys.executable).with_name("bgp-agent"))


def _outcome(path: Path) -> str:
    try:
        load_config(path, "agent.yaml")
    except ConfigError as e:
        return "\n".join(e.lines())
    return "OK"


@pytest.mark.parametrize("case", sorted(p.stem for p in CASES.glob("*.yaml")))
def test_golden(case: str) -> None:
    expected = (CASES / f"{case}.errors").read_text().rstrip("\n")
    assert _outcome(CASES / f"{case}.yaml") == expected


def test_every_case_has_expectations() -> None:
    assert {p.stem for p in CASES.glob("*.yaml")} == {p.stem for p in CASES.glob("*.errors")}


def test_missing_file() -> None:
    with pytest.raises(ConfigError) as e:
        load_config(CASES / "does-not-exist.yaml", "agent.yaml")
    assert e.value.lines() == ["agent.yaml: cannot read: No such file or directory"]


def test_defaults_of_a_minimal_config() -> None:
    cfg = load_config(CASES / "ok_minimal.yaml")
    peer = cfg.peers[0]
    assert peer.families == ("ipv4",)
    assert peer.multihop is None  # multihop off unless asked for
    assert cfg.guard.ipv4_lengths == (32,) and cfg.guard.ipv6_lengths == (128,)
    assert cfg.graceful_restart.enabled
    assert str(cfg.state_dir) == "/run/bgp-agent"


@pytest.mark.parametrize(("text", "seconds"), [(3, 3.0), (0.5, 0.5), ("500ms", 0.5), ("30s", 30.0), ("2m", 120.0)])
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "-1", True, "1h"])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_check_config_cli_exit_codes(tmp_path: Path) -> None:
    ok = subprocess.run([BGP_AGENT, "check-config", "-c", str(CASES / "ok_minimal.yaml")], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([BGP_AGENT, "check-config", "-c", str(CASES / "bad_peer_address.yaml")], capture_output=True, text=True)
    assert bad.returncode == 2
    assert "peers[1].address: '10.1.0.300' is not an IPv4 or IPv6 address" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_cli_without_a_running_agent(tmp_path: Path) -> None:
    r = subprocess.run([BGP_AGENT, "status", "--state-dir", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 1
    assert "no running agent" in r.stderr


def test_run_with_an_unreadable_password_file_exits_2(tmp_path: Path) -> None:
    cfg = tmp_path / "agent.yaml"
    cfg.write_text(
        "asn: 65101\nrouter_id: 10.0.0.11\nmetrics: null\n"
        f"state_dir: {tmp_path / 'state'}\n"
        "guard: {allowed_ranges: [192.0.2.0/24]}\n"
        f"peers: [{{address: 10.1.0.1, asn: 65001, password_file: {tmp_path / 'missing.pw'}}}]\n"
    )
    r = subprocess.run([BGP_AGENT, "run", "-c", str(cfg)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, r.stderr
    assert f"peers[0].password_file: cannot read {tmp_path / 'missing.pw'}: No such file or directory" in r.stderr
    assert "Traceback" not in r.stderr


# -- hostile files that cannot live in the repository: made here, each one line, exit 2 ---------


def _directory(p: Path) -> None:
    p.mkdir()


def _symlink_loop(p: Path) -> None:
    other = p.with_name("other.yaml")
    p.symlink_to(other)
    other.symlink_to(p)


def _dangling_symlink(p: Path) -> None:
    p.symlink_to(p.with_name("gone.yaml"))


def _fifo(p: Path) -> None:
    os.mkfifo(p)  # reading it would block for ever


def _socket(p: Path) -> None:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(p))
    s.close()


def _unreadable(p: Path) -> None:
    p.write_text((CASES / "ok_minimal.yaml").read_text())
    p.chmod(0)


FS_CASES: list[tuple[str, Callable[[Path], None], str]] = [
    ("directory", _directory, "agent.yaml: is a directory, not a file"),
    ("symlink loop", _symlink_loop, "agent.yaml: cannot read: Too many levels of symbolic links"),
    ("dangling symlink", _dangling_symlink, "agent.yaml: cannot read: No such file or directory"),
    ("fifo", _fifo, "agent.yaml: not a regular file"),
    ("unix socket", _socket, "agent.yaml: cannot read: No such device or address"),
    ("unreadable", _unreadable, "agent.yaml: cannot read: Permission denied"),
]


@pytest.mark.parametrize(("make", "expected"), [c[1:] for c in FS_CASES], ids=[c[0] for c in FS_CASES])
def test_hostile_file_system_objects(tmp_path: Path, make: Callable[[Path], None], expected: str) -> None:
    if make is _unreadable and os.geteuid() == 0:
        pytest.skip("root reads a file whatever its mode: an unreadable file cannot be made here")
    path = tmp_path / "agent.yaml"
    make(path)
    with pytest.raises(ConfigError) as e:
        load_config(path, "agent.yaml")
    assert e.value.lines() == [expected]


@pytest.mark.parametrize("case", ["directory", "fifo", "symlink loop"])
def test_hostile_file_through_the_cli(tmp_path: Path, case: str) -> None:
    make, expected = {c[0]: c[1:] for c in FS_CASES}[case]
    path = tmp_path / "agent.yaml"
    make(path)
    r = subprocess.run([BGP_AGENT, "check-config", "-c", str(path)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert r.stderr.splitlines() == [expected.replace("agent.yaml", str(path), 1)]


def test_too_large_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(configfile, "MAX_FILE_BYTES", 1024)
    path = tmp_path / "agent.yaml"
    path.write_text("# padding\n" * 200)
    with pytest.raises(ConfigError) as e:
        load_config(path, "agent.yaml")
    assert e.value.lines() == ["agent.yaml: larger than 0 MiB"]


def test_sexagesimal_looking_values_stay_text() -> None:
    """YAML 1.1 reads 65000:100 as a base-60 number; a community must stay as written."""
    data, _ = configfile.parse_yaml("a: 65000:100\nb: 1:30.5\nc: 12\n", "x.yaml")
    assert data == {"a": "65000:100", "b": "1:30.5", "c": 12}


def test_version_and_exit_codes_in_help() -> None:
    r = subprocess.run([BGP_AGENT, "--version"], capture_output=True, text=True, check=True)
    assert r.stdout == f"bgp-agent {importlib.metadata.version('leafspine')}\n"
    h = subprocess.run([BGP_AGENT, "--help"], capture_output=True, text=True, check=True).stdout
    assert "Exit codes:" in h
    for code in ("0  success", "1  runtime failure", "2  invalid configuration or usage"):
        assert code in h
