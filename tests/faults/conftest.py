"""Fault fixtures: a PostgreSQL cluster, a Mosquitto and `sta-server` processes of these tests' own,
so the tests can kill and restart them without touching anything they did not start."""
from __future__ import annotations

import os
import pathlib
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, text

from tests.conftest import LOCATION, ROOT, alembic_config, datastream_body
from tests.faults.clients import Publisher, Subscriber, stored
from tests.mosquitto import Broker
from tests.mosquitto import free_port as _free_port

# the tests import the MQTT clients from here too (they live in tests/faults/clients.py)
__all__ = ["Publisher", "Subscriber", "stored"]
PG_BIN = "/usr/lib/postgresql/15/bin"
SERVICES_SH = pathlib.Path(ROOT, "scripts", "services.sh")


def wait_for(condition: Callable[[], bool], timeout: float, what: str, step: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(step)


def _as_postgres(*args: str) -> list[str]:
    return list(args) if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--", *args]


class Cluster:
    """A PostgreSQL 15 cluster in a temporary folder the `postgres` user owns, on a free port."""

    def __init__(self) -> None:
        self.folder = pathlib.Path(tempfile.mkdtemp(prefix="sta-faults-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        subprocess.run(_as_postgres(f"{PG_BIN}/initdb", "-D", str(self.data), "-U", "postgres",
                                    "--auth=trust", "-E", "UTF8"),
                       check=True, stdout=subprocess.DEVNULL, cwd="/")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/sta"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(_as_postgres(f"{PG_BIN}/pg_ctl", "-D", str(self.data), "-o", options, "-w",
                                    "-l", str(self.folder / "log"), "start"),
                       check=True, stdout=subprocess.DEVNULL, cwd="/")

    def stop(self) -> None:
        subprocess.run(_as_postgres(f"{PG_BIN}/pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop"), cwd="/",
                       check=False, stdout=subprocess.DEVNULL)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class Server:
    """`.venv/bin/sta-server` as a subprocess of this test, with its log in a file."""

    def __init__(self, database_url: str, mqtt_url: str, client_id: str, **env: str) -> None:
        self.port = _free_port()
        self.log_path = pathlib.Path(tempfile.mkdtemp(prefix="sta-faults-server-")) / "server.log"
        self.env = dict(os.environ, STA_DATABASE_URL=database_url, STA_MQTT_URL=mqtt_url,
                        STA_HTTP_PORT=str(self.port), STA_HTTP_HOST="127.0.0.1", STA_LOG_LEVEL="INFO",
                        STA_MQTT_CLIENT_ID=client_id, STA_DB_CONNECT_TIMEOUT_S="2",
                        STA_DB_POOL_TIMEOUT_S="3",
                        STA_MQTT_INGEST_REPORT_S="1", STA_AUTH=env.pop("STA_AUTH", "off"), **env)
        self.env.pop("STA_SERVICE_ROOT_URL", None)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1.1"

    def start(self) -> None:
        with open(self.log_path, "ab") as log_file:
            self.process = subprocess.Popen([os.path.join(ROOT, ".venv/bin/sta-server")], env=self.env,
                                            stdout=log_file, stderr=subprocess.STDOUT)
        wait_for(self._answers, 30, f"sta-server (log {self.log_path})")
        wait_for(lambda: "connected to MQTT broker" in self.log(), 15, "the server's MQTT connection")

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"sta-server exited:\n{self.log()[-2000:]}")
        try:
            return httpx.get(self.base, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def children(self) -> dict[int, str]:
        """pid -> command line of the server's child processes (workers, ingest process)."""
        assert self.process is not None
        found = {}
        for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
            try:
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    found[int(stat.parent.name)] = (stat.parent / "cmdline").read_text().replace("\0", " ")
            except (OSError, ValueError):
                continue
        return found

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def ingest_counter(self, name: str) -> int:
        """The last value of a counter in the ingest's INFO line (`max_queued`, `duplicates`, …)."""
        values = [line.split(f" {name}=", 1)[1].split()[0] for line in self.log().splitlines()
                  if f" {name}=" in line]
        return int(values[-1]) if values else 0

    def rss_kb(self) -> int:
        assert self.process is not None
        status = pathlib.Path(f"/proc/{self.process.pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    cluster = Cluster()
    try:
        cluster.start()
        admin = create_engine(cluster.url.replace("/sta", "/postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE sta"))
        admin.dispose()
        command.upgrade(alembic_config(cluster.url), "head")
        yield cluster
    finally:
        cluster.remove()


def project_queue_bounds() -> dict[str, str]:
    """The queue options of the project broker (scripts/services.sh), with their default values."""
    found = re.findall(r"^(max_queued_(?:messages|bytes)) \$\{[A-Z_]+:-(\d+)\}$", SERVICES_SH.read_text(), re.M)
    assert len(found) == 2, "scripts/services.sh: max_queued_messages/max_queued_bytes not found"
    return dict(found)


@pytest.fixture(scope="session")
def broker() -> Iterator[Broker]:
    """Persistent, with the project broker's queue bounds, `$SYS` counters every second and a log
    file (`broker_log`)."""
    broker = Broker(persistent=True)
    conf = broker.folder / "mosquitto.conf"
    text = re.sub(r"^max_queued_messages .*$", "", conf.read_text(), flags=re.M)
    text += "".join(f"{name} {value}\n" for name, value in project_queue_bounds().items())
    conf.write_text(text + f"sys_interval 1\nlog_dest file {broker.folder}/broker.log\n")
    broker.start()
    yield broker
    broker.remove()


def broker_log(broker: Broker) -> str:
    path = broker.folder / "broker.log"
    return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture
def db(cluster: Cluster) -> Iterator[Engine]:
    """The fault cluster's database, emptied before each test."""
    engine = create_engine(cluster.url, pool_pre_ping=True)
    with engine.begin() as conn:
        tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                   "AND tablename NOT IN ('alembic_version', 'spatial_ref_sys')")).scalars()
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    yield engine
    engine.dispose()


@pytest.fixture
def start_server(cluster: Cluster, broker: Broker) -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(client_id: str | None = None, **env: str) -> Server:
        server = Server(cluster.url, broker.server_url, client_id or f"sta-faults-{uuid.uuid4().hex[:6]}", **env)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
        shutil.rmtree(server.log_path.parent, ignore_errors=True)


@pytest.fixture(scope="module")
def shared_server(cluster: Cluster, broker: Broker) -> Iterator[Server]:
    """One server for the tests of a module that do not stop it."""
    server = Server(cluster.url, broker.server_url, f"sta-faults-{uuid.uuid4().hex[:6]}")
    server.start()
    yield server
    server.stop()
    shutil.rmtree(server.log_path.parent, ignore_errors=True)


def make_stream(server: Server) -> int:
    body = datastream_body()
    body["Thing"] = {"name": "Fault site", "description": "t", "Locations": [LOCATION]}
    response = httpx.post(f"{server.base}/Datastreams", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return int(response.json()["@iot.id"])
