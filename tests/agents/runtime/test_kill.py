"""Issue 15 "Done when": `kill -9` of the field process mid-day and a restart lose nothing it had
accepted (every reading it logged as durable reaches the server) and duplicate nothing (no
Datastream gets two Observations at one phenomenonTime)."""
from __future__ import annotations

import json
import os
import pathlib
import re
import signal
import sqlite3
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import text

from tests.agents.runtime.conftest import SiteServer
from tests.conftest import ROOT

ACCEPTED = re.compile(r" DEBUG agents\.host accepted (\S+) (\S+) (.+)$")


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.2)


class FieldProcess:
    def __init__(self, site_file: pathlib.Path, site_server: SiteServer, queue: pathlib.Path, start: datetime,
                 client_id: str) -> None:
        self.log_path = queue.parent / f"field-{uuid.uuid4().hex[:6]}.log"
        env = dict(os.environ, STA_CLIENT_BASE_URL=site_server.base_url, STA_CLIENT_MQTT_URL=site_server.mqtt_url,
                   SMX_QUEUE_PATH=str(queue), SMX_MQTT_CLIENT_ID=client_id, SMX_LOG_LEVEL="DEBUG",
                   SMX_REPORT_S="1", S4G_CLOCK="accelerated", S4G_CLOCK_FACTOR="60",
                   S4G_CLOCK_START=start.isoformat())
        with open(self.log_path, "wb") as log_file:
            self.process = subprocess.Popen([os.path.join(ROOT, ".venv/bin/python"), "-m", "agents", "run",
                                             str(site_file)], env=env, cwd=ROOT, stdout=log_file,
                                            stderr=subprocess.STDOUT)

    def accepted(self) -> list[tuple[str, str, str]]:
        lines = self.log_path.read_text(errors="replace").splitlines()
        return [match.groups() for line in lines if (match := ACCEPTED.search(line))]


def site_file(tmp_path: pathlib.Path) -> tuple[pathlib.Path, str]:
    site_id = f"kill-{uuid.uuid4().hex[:6]}"
    original = pathlib.Path(ROOT, "sites", "fur-house.yaml").read_text()
    path = tmp_path / "site.yaml"
    path.write_text(original.replace("id: fur-house-1", f"id: {site_id}", 1))
    return path, site_id


def stored_times(site_server: SiteServer, ids: dict[str, int]) -> dict[str, list[str]]:
    """phenomenonTime (ms, ISO) of every stored Observation, per stream key."""
    keys = {ident: key for key, ident in ids.items()}
    found: dict[str, list[str]] = {key: [] for key in ids}
    with site_server.engine.connect() as conn:
        rows = conn.execute(text("SELECT datastream_id, phenomenon_time_start FROM observations "
                                 "WHERE datastream_id = ANY(:ids)"), {"ids": list(keys)})
        for stream, moment in rows:
            # SenML times are float seconds: .543 may come back as .542999
            rounded = (moment + timedelta(microseconds=500)).isoformat(timespec="milliseconds")
            found[keys[stream]].append(rounded.replace("+00:00", "Z"))
    return found


def test_kill_9_and_restart_lose_and_duplicate_nothing(site_server: SiteServer, tmp_path: pathlib.Path) -> None:
    path, site_id = site_file(tmp_path)
    queue, client_id = tmp_path / "queue" / "site.sqlite", f"smx-{site_id}"
    queue.parent.mkdir()
    start = datetime.fromisoformat("2026-12-06T06:00:00+00:00")
    first = FieldProcess(path, site_server, queue, start, client_id)
    wait_for(lambda: len(first.accepted()) > 500, 120, "500 readings accepted")
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(10)
    before = first.accepted()
    with sqlite3.connect(queue) as conn:  # what the killed process left unacknowledged: the restart replays it
        left = conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
    later = max(datetime.fromisoformat(moment.replace("Z", "+00:00")) for _, moment, _ in before)
    second = FieldProcess(path, site_server, queue, later + timedelta(minutes=5), client_id)
    wait_for(lambda: len(second.accepted()) > 200, 120, "the restarted process's readings")
    ids = json.loads(queue.with_suffix(".ids.json").read_text())["datastreams"]
    expected = {(key, moment) for key, moment, _ in before + second.accepted() if key in ids}

    def all_stored() -> bool:
        stored = stored_times(site_server, ids)
        return expected <= {(key, moment) for key, times in stored.items() for moment in times}

    try:
        wait_for(all_stored, 180, "every accepted reading on the server")
    except AssertionError:
        stored = stored_times(site_server, ids)
        missing = sorted(expected - {(key, moment) for key, times in stored.items() for moment in times})
        print(len(missing), "missing of", len(expected), missing[:5], missing[-5:])
        print(Counter(key for key, _ in missing))
        raise
    finally:
        second.process.send_signal(signal.SIGTERM)
        second.process.wait(20)
    stored = stored_times(site_server, ids)
    duplicates = {key: len(times) - len(set(times)) for key, times in stored.items() if len(times) != len(set(times))}
    assert duplicates == {}
    assert left == 0 or f"reopened with {left} messages" in second.log_path.read_text()
