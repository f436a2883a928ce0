"""server.json (the MCP Registry entry) is valid against the registry's schema (vendored in schemas/)
and agrees with the project: version, the README's mcp-name marker, real settings, secrets marked."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import jsonschema

from membrane_mcp.cli import ENV_ONLY_FIELDS, _env_name, build_parser
from membrane_mcp.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SERVER = json.loads((ROOT / "server.json").read_text(encoding="utf-8"))
SCHEMA = json.loads((ROOT / "schemas" / "server.schema.json").read_text(encoding="utf-8"))
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def test_server_json_is_valid_against_the_registry_schema():
    assert SERVER["$schema"] == SCHEMA["$id"]
    validator = jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(SERVER)]
    assert not problems


def test_the_schema_catches_a_bad_entry():
    validator = jsonschema.Draft7Validator(SCHEMA)
    bad = {**SERVER, "name": "no-slash", "description": "x" * 101}
    assert len(list(validator.iter_errors(bad))) == 2


def test_versions_and_readme_marker_match_the_project():
    [package] = SERVER["packages"]
    assert SERVER["version"] == package["version"] == VERSION
    assert package["identifier"] == "membrane-mcp" and package["registryType"] == "pypi"
    assert f"mcp-name: {SERVER['name']}" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_environment_variables_are_real_settings_and_secrets_are_marked():
    [package] = SERVER["packages"]
    settings = {_env_name(name, field): name for name, field in Settings.model_fields.items()}
    for variable in package["environmentVariables"]:
        assert variable["name"] in settings, variable["name"]
        secret = settings[variable["name"]] in ENV_ONLY_FIELDS
        assert variable.get("isSecret", False) is secret, variable["name"]
    subcommands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert package["packageArguments"][0]["value"] in subcommands
