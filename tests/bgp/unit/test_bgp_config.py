"""Config validation, golden: each config_cases/<case>.yaml gives exactly <case>.errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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
