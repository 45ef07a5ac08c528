"""Fixtures of tests/sql: the fixed $filter data set, built once per module."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from sta_server.settings import Settings
from tests.sql.filter_data import dataset_client


@pytest.fixture(scope="module")
def dataset(settings: Settings, engine: Engine) -> Iterator[tuple[FlaskClient, dict[str, int]]]:
    """(client, label -> @iot.id) over the data set of filter_data.py; read-only for the tests."""
    yield from dataset_client(settings, engine)
