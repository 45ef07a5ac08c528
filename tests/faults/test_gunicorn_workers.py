"""The default run mode's process tests again with gunicorn's workers instead of granian's
(STA_HTTP_SERVER=gunicorn; HTTPS always runs on gunicorn, sta_server/workers.py): HTTP creates notified
and MQTT creates stored once, a killed worker and a killed ingest process come back, a killed master
takes its workers along, every worker reports the ingest process's counters."""
from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.faults.conftest import Server
from tests.faults.test_supervision import (
    test_a_killed_master_takes_its_processes_along_and_a_new_one_takes_over as test_gunicorn_master_killed,
)
from tests.faults.test_supervision import (
    test_killed_processes_come_back_and_nothing_acknowledged_is_lost as test_gunicorn_killed_processes_come_back,
)
from tests.faults.test_worker_metrics import (
    test_every_worker_reports_the_ingest_process_counters as test_gunicorn_workers_report_ingest_counters,
)
from tests.faults.test_workers import test_workers_serve_http_notify_and_ingest as test_gunicorn_workers_serve

__all__ = ["test_gunicorn_master_killed", "test_gunicorn_killed_processes_come_back",
           "test_gunicorn_workers_report_ingest_counters", "test_gunicorn_workers_serve"]


@pytest.fixture
def start_server(start_server: Callable[..., Server]) -> Callable[..., Server]:
    """The faults suite's servers, served by gunicorn (and checked to be)."""
    def start(*args: str, **env: str) -> Server:
        server = start_server(*args, **env, STA_HTTP_SERVER="gunicorn")
        assert "gunicorn" in server.log().lower()
        return server
    return start
