"""Benchmarks of the agent config loader against hostile input.

Run: ``.venv/bin/pytest tests/bench/test_bgp_hostile_config.py --benchmark-only``. Target: a 1 KB
YAML alias bomb (it would expand to 10^9 nodes) refused in under 1 s; asserted on the
median, which is CPU-bound work in this process (no I/O beyond reading one small file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bgp.config import load_config
from bgp.configfile import ConfigError

BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)
DEEP = "a: " + "[" * 500 + "]" * 500 + "\n"


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("alias_bomb", BOMB, "YAML aliases expand to more than"),
    ("nesting_500", DEEP, "nested deeper than"),
])
def test_bgp_config_hostile_refused(benchmark: Any, tmp_path: Path, name: str, text: str, expected: str) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(text)
    assert len(text.encode()) <= 1100

    def load() -> list[str]:
        try:
            load_config(path)
        except ConfigError as e:
            return e.lines()
        raise AssertionError("accepted")

    lines = benchmark(load)
    assert len(lines) == 1 and expected in lines[0]
    benchmark.extra_info["bytes"] = len(text.encode())
    benchmark.extra_info["target_s"] = 1.0
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        assert stats.stats.median < 1.0
