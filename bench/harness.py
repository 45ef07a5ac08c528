"""Lifecycle of what a bench run owns: its database (created, migrated, dropped), its Mosquitto and
its sta-server subprocess, all on free loopback ports."""
from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, make_url, text

from sta_server.settings import normalise_database_url

log = logging.getLogger("bench")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:55432/postgres"
MOSQUITTO_CONF = """\
listener {port} 127.0.0.1
allow_anonymous true
persistence false
log_dest topic
log_type error
log_type warning
log_type notice
log_type subscribe
log_type unsubscribe
max_queued_messages 1000000
max_inflight_messages 1000
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def ensure_project_postgres(admin_url: str) -> None:
    """Start the project-local cluster when the default URL is used and it is down."""
    url = make_url(admin_url)
    if url.port != 55432:
        return
    try:
        socket.create_connection(("127.0.0.1", 55432), timeout=0.5).close()
    except OSError:
        script = "source scripts/env.sh && source scripts/services.sh && start_postgres"
        subprocess.run(["bash", "-c", script], cwd=ROOT, check=True)


@dataclass
class Database:
    """A fresh `sta_bench_*` database on the admin URL's server, migrated by `source`'s Alembic."""

    admin_url: str
    source: str = ROOT
    name: str = ""
    url: str = ""

    def create(self) -> Engine:
        admin = make_url(normalise_database_url(self.admin_url))
        self.name = f"sta_bench_{uuid.uuid4().hex[:8]}"
        self.url = admin.set(database=self.name).render_as_string(hide_password=False)
        with self._admin().connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        config = Config(os.path.join(self.source, "alembic.ini"))
        config.set_main_option("script_location", os.path.join(self.source, "migrations"))
        config.set_main_option("sqlalchemy.url", self.url)
        config.attributes["configure_logger"] = False
        command.upgrade(config, "head")
        return create_engine(self.url, pool_size=4)

    def drop(self) -> None:
        if self.name:
            with self._admin().connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))

    def _admin(self) -> Engine:
        admin = make_url(normalise_database_url(self.admin_url)).set(database="postgres")
        return create_engine(admin, isolation_level="AUTOCOMMIT")


class Mosquitto:
    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="sta-bench-mqtt-")
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> int:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        os.chmod(self.folder, 0o777)
        conf = os.path.join(self.folder, "mosquitto.conf")
        with open(conf, "w") as handle:
            handle.write(MOSQUITTO_CONF.format(port=self.port))
        os.chmod(conf, 0o644)
        self.process = subprocess.Popen([binary, "-c", conf], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        wait_for_port(self.port)
        return self.process.pid

    def stop(self) -> None:
        _stop(self.process)
        shutil.rmtree(self.folder, ignore_errors=True)


class Server:
    """`.venv/bin/sta-server` as a subprocess; its log goes to a temporary file."""

    def __init__(self, database_url: str, mqtt_url: str, source: str = ROOT, workers: int = 1) -> None:
        self.port = free_port()
        self.workers = workers
        self.source = source
        self.database_url = database_url
        self.mqtt_url = mqtt_url
        self.log_path = os.path.join(tempfile.gettempdir(), f"sta-bench-server-{self.port}.log")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1.1"

    def start(self) -> int:
        env = dict(os.environ, STA_DATABASE_URL=self.database_url, STA_MQTT_URL=self.mqtt_url,
                   STA_HTTP_PORT=str(self.port), STA_HTTP_HOST="127.0.0.1", STA_LOG_LEVEL="WARNING",
                   STA_MQTT_CLIENT_ID=f"sta-bench-server-{self.port}", STA_AUTH="off",
                   STA_HTTP_WORKERS=str(self.workers))
        env.pop("STA_SERVICE_ROOT_URL", None)
        if self.source != ROOT:  # a snapshot of the code (e.g. `git archive HEAD`) before the editable install
            env["PYTHONPATH"] = self.source
        with open(self.log_path, "wb") as log_file:
            self.process = subprocess.Popen([os.path.join(ROOT, ".venv/bin/sta-server")], env=env,
                                            stdout=log_file, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90  # a busy machine (load 16) once took over 30 s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sta-server exited; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.base, timeout=1) as response:
                    if response.status == 200:
                        return self.process.pid
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"sta-server did not answer; see {self.log_path}")

    def stop(self) -> None:
        _stop(self.process)

    def log_tail(self, lines: int = 20) -> str:
        try:
            with open(self.log_path, errors="replace") as handle:
                return "".join(handle.readlines()[-lines:])
        except OSError:
            return ""


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def backend_pids(engine: Engine, database: str) -> list[int]:
    """PostgreSQL backend pids serving `database` (to charge their CPU to the scenario)."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid()"),
                            {"d": database})
        return [int(row[0]) for row in rows]


@contextmanager
def own_server() -> Iterator[Server]:
    """A throwaway database, broker and `sta-server` of the benchmark's own (removed afterwards)."""
    ensure_project_postgres(DEFAULT_ADMIN_URL)
    database, broker = Database(DEFAULT_ADMIN_URL), Mosquitto()
    database.create()
    broker.start()
    server = Server(database.url, broker.url)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        broker.stop()
        database.drop()
