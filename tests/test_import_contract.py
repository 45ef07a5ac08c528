"""The import contract of pyproject.toml ([tool.importlinter], STYLE.md "Layers"): the server keeps
it, every module has a place in it, and `lint-imports` (run by scripts/test.sh, so `.ci/run`) fails
on each kind of import it is there to prevent, tried on a copy of the package."""
from __future__ import annotations

import os
import pathlib
import pkgutil
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from typing import Any

import pytest

import sta_server
import sta_server.security
from tests.conftest import ROOT

LINT_IMPORTS = os.path.join(ROOT, ".venv/bin/lint-imports")


def _config() -> dict[str, Any]:
    with open(f"{ROOT}/pyproject.toml", "rb") as file:
        config: dict[str, Any] = tomllib.load(file)["tool"]["importlinter"]
    return config


def _lint_imports(folder: str | pathlib.Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    selected = [arg for contract in contracts for arg in ("--contract", contract)]
    env = dict(os.environ, PYTHONPATH=str(folder))  # the package found first is the one in `folder`
    return subprocess.run([LINT_IMPORTS, "--no-logo", "--no-cache", *selected], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pathlib.Path]:
    """A copy of the package and of pyproject.toml, for imports the server must never have."""
    folder = tmp_path_factory.mktemp("contract")
    for package in _config()["root_packages"]:
        shutil.copytree(os.path.join(ROOT, package), folder / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(os.path.join(ROOT, "pyproject.toml"), folder / "pyproject.toml")
    yield folder


def _layered_modules() -> set[str]:
    names: set[str] = set()
    for contract in _config()["contracts"]:
        for layer in contract.get("layers", []):
            names |= {name.strip().strip("()") for name in layer.replace(":", "|").split("|")}
    return names


def test_the_server_keeps_the_contract() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(_config()['contracts'])} kept, 0 broken." in result.stdout


def test_every_module_has_a_layer() -> None:
    """Each module of sta_server, and each of security/ (its modules sit in different layers)."""
    top = {f"sta_server.{m.name}" for m in pkgutil.iter_modules(sta_server.__path__) if m.name != "security"}
    security = {f"sta_server.security.{m.name}" for m in pkgutil.iter_modules(sta_server.security.__path__)}
    assert (top | security) - _layered_modules() == set()


@pytest.mark.parametrize(("contract_id", "importer", "imported"), [
    ("layers", "model/entity.py", "sta_server.sql.tables"),  # upwards
    ("layers", "query/ast.py", "sta_server.sql.tables"),
    ("layers", "sql/select.py", "sta_server.service.read"),
    ("layers", "service/read.py", "sta_server.api.entities"),
    ("layers", "serialize/entity.py", "sta_server.query.ast"),  # serialize depends on the model only
    ("layers", "security/principal.py", "sta_server.sql.tables"),  # sql/engine.py imports it
    ("layers", "security/audit.py", "sta_server.service.events"),  # the service writes the trail
    ("transports", "api/entities.py", "sta_server.mqtt.topics"),
    ("transports", "mqtt/ingest.py", "sta_server.api.errors"),
    ("acyclic", "query/ast.py", "sta_server.query.apply"),  # apply imports ast
    ("acyclic", "sql/base.py", "sta_server.sql.tables"),
    ("pure-model", "model/entity.py", "sqlalchemy"),
    ("pure-model", "query/parser.py", "flask"),
    ("paho-in-mqtt", "service/create.py", "paho"),
    ("flask-in-api", "service/read.py", "flask"),
])
def test_lint_imports_fails_on_a_forbidden_import(contract_id: str, importer: str, imported: str,
                                                  copy: pathlib.Path) -> None:
    module = copy / "sta_server" / importer
    original = module.read_text()
    module.write_text(f"{original}\n\ndef _forbidden() -> None:\n    import {imported}  # noqa\n")
    try:
        result = _lint_imports(copy, contract_id)
    finally:
        module.write_text(original)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "0 kept, 1 broken" in result.stdout
