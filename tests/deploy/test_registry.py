"""The driver registry: built-in paths, factories, and a clear error for unknown names."""

from __future__ import annotations

import pytest

from fabric.deploy import Connection, driver_for, register_driver
from fabric.errors import DeployError


def test_unknown_driver_names_the_known_ones() -> None:
    register_driver("example-known", lambda c: object())  # type: ignore[arg-type,return-value]
    with pytest.raises(DeployError, match=r"unknown deploy driver 'nope' \(known: .*example-known"):
        driver_for("nope", Connection(host="127.0.0.1", platform="frr"))


def test_factory_gets_the_connection() -> None:
    seen: list[Connection] = []
    register_driver("example-factory", lambda c: seen.append(c) or c)  # type: ignore[arg-type,func-returns-value]
    conn = Connection(host="192.0.2.1", platform="junos", password="s3cret")
    assert driver_for("example-factory", conn) is conn
    assert seen == [conn]
    assert "s3cret" not in repr(conn)
