"""docs/inventory.md and docs/inventory.schema.json are generated from the model and kept
current; the schema accepts the example files and refuses what the loader refuses."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from fabric import reference
from fabric.cli import main

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_FILES = sorted(p for p in (REPO / "inventories").glob("*/*.yaml") if p.name != "allocations.yaml")


def test_inventory_md_is_current() -> None:
    assert (REPO / reference.MARKDOWN_FILE).read_text() == reference.markdown(), \
        "docs/inventory.md is stale: run `python -m fabric.reference` and commit it"


def test_schema_file_is_current() -> None:
    assert (REPO / reference.SCHEMA_FILE).read_text() == reference.schema_text(), \
        "docs/inventory.schema.json is stale: run `python -m fabric.reference` and commit it"


def test_every_key_of_every_model_is_documented_with_type_default_example() -> None:
    text = reference.markdown()
    for where, model in reference._all_models():
        assert f"## {model.__name__}" in text, model
        for name, info in model.model_fields.items():
            key = info.alias or name  # as written in YAML (`import:` is the field import_)
            rows = [line for line in text.splitlines() if line.startswith(f"| `{key}` |")]
            assert rows, f"{where}.{key} is not documented"
            cells = [c.strip() for c in rows[0].split("|")[1:-1]]
            assert len(cells) == 5 and all(cells[1:4]), f"{where}.{key}: type, default and example: {rows[0]}"


def test_fabric_schema_prints_the_schema(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["schema"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == reference.json_schema()
    out = tmp_path / "s.json"
    r = CliRunner().invoke(main, ["schema", "-o", str(out)])
    assert r.exit_code == 0 and json.loads(out.read_text()) == reference.json_schema()


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_examples_carry_the_modeline_and_pass_the_schema(path: Path) -> None:
    text = path.read_text()
    assert text.splitlines()[0] == reference.MODELINE
    jsonschema.Draft202012Validator.check_schema(reference.json_schema())
    errors = list(jsonschema.Draft202012Validator(reference.json_schema()).iter_errors(yaml.safe_load(text)))
    assert not errors, [e.message for e in errors]


@pytest.mark.parametrize("doc, fragment", [
    ({"tenants": [{"name": "t", "networks": [{"name": "n", "vrf": "v", "gatway4": "10.0.0.1/24"}]}]}, "gatway4"),
    ({"leafs": []}, "leafs"),
    ({"tenants": [{"name": "t", "networks": [{"name": "n", "vrf": "v", "gateway4": "10.0.0.1"}]}]}, "gateway4"),
    ({"pools": {"loopback": "10.0.0.0/24", "vtep": "10.0.1.0/24", "p2p": "10.0.2.0/24", "asn": {"spine": 1, "leaf": "2-3"},
                "l2vni": "10-20", "l3vni": [30, 40], "vlan": "x"}}, "vlan"),
])
def test_schema_refuses_what_the_loader_refuses(doc: dict[str, object], fragment: str) -> None:
    errors = list(jsonschema.Draft202012Validator(reference.json_schema()).iter_errors(doc))
    assert any(fragment in e.message or fragment in "/".join(map(str, e.absolute_path)) for e in errors), \
        [e.message for e in errors]
