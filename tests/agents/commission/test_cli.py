"""`python -m agents.commission`: exit 2 on an invalid file, 0 when done; the second run writes nothing."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from tests.agents.commission.conftest import site_text
from tests.client.conftest import RunningServer
from tests.conftest import ROOT


def _run(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agents.commission", *argv], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False, env={**os.environ, **env})


@pytest.mark.parametrize(("text", "where"), [
    ("site:\n  id: x\n  name: X\n  location: {latitude: 1, longitude: 2}\ndevices:\n  - {key: a, kind: toaster, "
     "name: A}\n", ":6: devices[0].kind: 'toaster' is not one of"),
    ("site:\n  id: x\n  name: X\ndevices: []\n", ":1: site: missing field 'location'"),
    ("site: [\n", ":2: (file): not valid YAML"),
])
def test_an_invalid_site_file_exits_2_naming_file_line_and_field(tmp_path: pathlib.Path, text: str,
                                                                  where: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    done = _run(str(path), STA_CLIENT_BASE_URL="http://127.0.0.1:9/v1.1")
    assert done.returncode == 2, done.stderr
    assert f"{path}{where}" in done.stderr


def test_a_missing_site_file_exits_2(tmp_path: pathlib.Path) -> None:
    assert _run(str(tmp_path / "nowhere.yaml")).returncode == 2


def test_the_cli_commissions_and_a_second_run_changes_nothing(sta_process: RunningServer,
                                                              tmp_path: pathlib.Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(site_text("bolzano-residential"))
    env = {"STA_CLIENT_BASE_URL": sta_process.base_url}
    first = _run(str(path), "--ids", str(tmp_path / "first.json"), **env)
    assert first.returncode == 0, first.stderr
    plan = _run(str(path), "--plan", **env)
    assert plan.returncode == 0, plan.stderr
    assert "create 0, patch 0, retire 0, unretire 0" in plan.stderr
    second = _run(str(path), "--ids", str(tmp_path / "second.json"), **env)
    assert second.returncode == 0, second.stderr
    assert "create 0, patch 0, retire 0, unretire 0" in second.stderr
    ids = json.loads((tmp_path / "first.json").read_text())
    assert ids == json.loads((tmp_path / "second.json").read_text())
    assert set(ids["capabilities"]) == {"ess_setpoint", "ess_schedule", "cp1.ev_load_reduction", "cp1.enable"}


def test_an_unreachable_server_exits_1(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(site_text("fur-house"))
    done = _run(str(path), STA_CLIENT_BASE_URL="http://127.0.0.1:9/v1.1", STA_CLIENT_RETRY_BUDGET_S="0",
                STA_CLIENT_MAX_ATTEMPTS="1")
    assert done.returncode == 1, done.stderr
