"""Real `sta-server` processes for the client tests (and for other helpers' tests, who import the
fixtures from here): each on a free port, with a throwaway database of its own (migrated with
Alembic) and a Mosquitto of its own with the project's ACL and broker plugin (tests/mosquitto.py).

- `sta_process`: `STA_AUTH=off` (every request acts as an administrator), anonymous MQTT clients.
- `sta_process_auth`: authentication on, a broker that admits only the users of the server's store
  (`STA_MQTT_IDENTITY=broker`); users, tokens and labels are made with `sta-admin` (`admin_cli`).

Both are session-scoped: tests make their own entities and never rely on an empty database.
`RunningServer.settings(...)` gives the `ClientSettings` that reach it."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from alembic import command

from sta_client.settings import ClientSettings
from tests.conftest import ROOT, _admin_url, alembic_config, throwaway_database
from tests.faults.conftest import Server, wait_for
from tests.mosquitto import Broker

ADMIN = "client-admin"
ADMIN_PASSWORD = "client-admin-secret"  # noqa: S105 (a test user)


@dataclass
class RunningServer:
    """A started `sta-server` process, its database and its broker."""

    server: Server
    broker: Broker
    database_url: str
    auth: bool

    @property
    def base_url(self) -> str:
        return self.server.base

    @property
    def mqtt_url(self) -> str:
        """The broker as a client reaches it (credentials come from the settings)."""
        return f"mqtt://127.0.0.1:{self.broker.port}"

    def settings(self, **overrides: Any) -> ClientSettings:
        """Client settings for this server: as the administrator when auth is on, quick retries."""
        base = ClientSettings(base_url=self.base_url, mqtt_url=self.mqtt_url, timeout_s=10.0,
                              retry_budget_s=10.0, backoff_base_s=0.05, backoff_max_s=1.0)
        if self.auth:
            base = replace(base, username=ADMIN, password=ADMIN_PASSWORD)
        return replace(base, **overrides)

    def admin_cli(self, *argv: str, stdin: str = "") -> Any:
        """`sta-admin …` against this server's database and broker files; its JSON output."""
        env = dict(os.environ, STA_DATABASE_URL=self.database_url, STA_MQTT_AUTH_DIR=str(self.broker.folder))
        done = subprocess.run([os.path.join(ROOT, ".venv/bin/sta-admin"), *argv], input=stdin, env=env,
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else None


@pytest.fixture(scope="session")
def client_database_url() -> Iterator[str]:
    """A database of its own, migrated (dropped at the end of the session)."""
    with throwaway_database(_admin_url()) as url:
        command.upgrade(alembic_config(url), "head")
        yield url


@pytest.fixture(scope="session")
def client_auth_database_url() -> Iterator[str]:
    with throwaway_database(_admin_url()) as url:
        command.upgrade(alembic_config(url), "head")
        yield url


def _run(server: Server) -> Iterator[Server]:
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.log_path.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def sta_broker() -> Iterator[Broker]:
    """A Mosquitto of its own: anonymous clients may use the SensorThings topics (as STA_AUTH=off)."""
    broker = Broker()
    broker.start()
    yield broker
    broker.remove()


@pytest.fixture(scope="session")
def sta_process(client_database_url: str, sta_broker: Broker) -> Iterator[RunningServer]:
    """`sta-server` with STA_AUTH=off on a free port, its own database and broker."""
    server = Server(client_database_url, sta_broker.server_url, f"sta-client-test-{uuid.uuid4().hex[:6]}")
    for started in _run(server):
        yield RunningServer(started, sta_broker, client_database_url, auth=False)


SERVER_ACL = "user sta-server\ntopic readwrite #\ntopic read $SYS/#\n"


@pytest.fixture(scope="session")
def sta_secure_broker() -> Iterator[Broker]:
    """A broker that admits only the users of the server's store, as tests/security/mqtt_platform.py
    makes it: the server rewrites `passwd`/`acl` from `passwd.base`/`acl.base` and signals it."""
    broker = Broker()
    conf = broker.folder / "mosquitto.conf"
    conf.write_text(conf.read_text().replace("allow_anonymous true", "allow_anonymous false")
                    + f"pid_file {broker.folder}/mosquitto.pid\n")
    shutil.copy(broker.folder / "passwd", broker.folder / "passwd.base")
    for name in ("acl.base", "acl"):
        (broker.folder / name).write_text(SERVER_ACL)
    broker.start()
    wait_for((broker.folder / "mosquitto.pid").exists, 10, "the broker's pid file")
    yield broker
    broker.remove()


@pytest.fixture(scope="session")
def sta_process_auth(client_auth_database_url: str, sta_secure_broker: Broker) -> Iterator[RunningServer]:
    """`sta-server` with authentication on; the administrator `client-admin` (ADMIN_PASSWORD) exists,
    on HTTP and at the broker. Make more users with `sta_process_auth.admin_cli("user", "add", …)`."""
    running = RunningServer(Server(client_auth_database_url, sta_secure_broker.server_url,
                                   f"sta-client-test-{uuid.uuid4().hex[:6]}", STA_AUTH="on",
                                   STA_MQTT_AUTH_DIR=str(sta_secure_broker.folder), STA_MQTT_IDENTITY="broker",
                                   STA_AUTH_CACHE_S="0"),
                            sta_secure_broker, client_auth_database_url, auth=True)
    running.admin_cli("user", "add", ADMIN, "--role", "admin", "--password-stdin", stdin=ADMIN_PASSWORD + "\n")
    wait_for(lambda: ADMIN in (sta_secure_broker.folder / "passwd").read_text(), 10, "the admin in the broker's passwd")
    for started in _run(running.server):
        running.server = started
        yield running
