"""Forecast tests: a real `sta-server` (helper A's `sta_process`: STA_AUTH=off, its own database and
broker) reached through `sta_client`, and the recorded fixture files of tests/fixtures/forecasts/."""
from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

from sta_client.http import StaClient
from tests.client.conftest import RunningServer, client_database_url, sta_broker, sta_process

__all__ = ["client_database_url", "sta_broker", "sta_process"]

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "forecasts"


def fixture_path(name: str) -> pathlib.Path:
    return FIXTURES / name


def fixture_json(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(fixture_path(name).read_text())
    return loaded


@pytest.fixture
def sta(sta_process: RunningServer) -> Iterator[StaClient]:
    with StaClient(sta_process.settings()) as client:
        yield client
