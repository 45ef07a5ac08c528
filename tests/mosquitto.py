"""A Mosquitto of the tests' own: a free port, the project ACL (scripts/mosquitto.acl), a password
for the server's user, the `$SYS` log feed, the project's broker plugin (broker_plugin/: publisher
stamp with its HMAC secret `stamp.secret`, client ids bound to users); optionally persistent
(sessions survive a restart)."""
from __future__ import annotations

import atexit
import os
import pathlib
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MOSQUITTO_CONF = """\
listener {port} 127.0.0.1
allow_anonymous true
password_file {folder}/passwd
acl_file {folder}/acl
plugin {plugin}
plugin_opt_password_file {folder}/passwd
plugin_opt_acl_file {folder}/acl
plugin_opt_reload_file {folder}/reloaded
plugin_opt_stamp_secret_file {folder}/stamp.secret
plugin_opt_server_user sta-server
{persistence}
log_dest topic
log_type error
log_type warning
log_type notice
log_type subscribe
log_type unsubscribe
max_queued_messages 100000
max_packet_size 17825792
"""


TLS_LISTENERS = """\
# TLS: server certificate; clients authenticate as on the plain listener
listener {tls_port} 127.0.0.1
cafile {tls.ca}
certfile {tls.cert}
keyfile {tls.key}
# TLS with client certificates (device agents): the CN is the user name, the CRL is checked
listener {cert_port} 127.0.0.1
cafile {tls.ca}
certfile {tls.cert}
keyfile {tls.key}
require_certificate true
use_identity_as_username true
use_username_as_clientid true
crlfile {tls.crl}
"""


@dataclass(frozen=True)
class BrokerTls:
    """PEM files of the broker's TLS listeners (tests/tls/pki.py makes them)."""

    ca: pathlib.Path
    cert: pathlib.Path
    key: pathlib.Path
    crl: pathlib.Path


PLUGIN_SOURCE = pathlib.Path(ROOT, "broker_plugin", "sta_identity.c")
_built: dict[float, pathlib.Path] = {}


def plugin_library() -> pathlib.Path:
    """broker_plugin/sta_identity.c built once per test process (as scripts/services.sh builds it),
    in a folder the broker's own user can read."""
    stamp = PLUGIN_SOURCE.stat().st_mtime
    if stamp not in _built or not _built[stamp].exists():
        folder = pathlib.Path(tempfile.mkdtemp(prefix="sta-test-plugin-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        os.chmod(folder, 0o755)
        target = folder / "sta_identity.so"
        subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o", str(target), str(PLUGIN_SOURCE),
                        "-lcrypto"], check=True)
        _built[stamp] = target
    return _built[stamp]


def private(path: pathlib.Path) -> None:
    """Readable by the broker's user only (and root): 0640, owned by `mosquitto` when run as root."""
    os.chmod(path, 0o640)
    if os.geteuid() == 0:
        try:
            shutil.chown(path, "mosquitto", "mosquitto")
        except (LookupError, OSError):
            os.chmod(path, 0o644)  # no broker user: the broker runs as root and reads anything


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


class Broker:
    def __init__(self, *, persistent: bool = False, tls: BrokerTls | None = None) -> None:
        # Mosquitto started as root drops to its own user before reading the password and ACL
        # files: they live in a folder that user can reach (pytest's tmp folders are private).
        self.folder = pathlib.Path(tempfile.mkdtemp(prefix="sta-test-mosquitto-"))
        os.chmod(self.folder, 0o777)
        self.port = free_port()
        self.secret = uuid.uuid4().hex
        persistence = f"persistence true\npersistence_location {self.folder}/" if persistent else "persistence false"
        conf = MOSQUITTO_CONF.format(port=self.port, folder=self.folder, persistence=persistence,
                                     plugin=plugin_library())
        # with `tls`: also `tls_port` (TLS) and `cert_port` (TLS, client certificate required)
        self.tls_port = self.cert_port = 0
        if tls is not None:
            self.tls_port, self.cert_port = free_port(), free_port()
            conf += TLS_LISTENERS.format(tls_port=self.tls_port, cert_port=self.cert_port, tls=tls)
        (self.folder / "mosquitto.conf").write_text(conf)
        shutil.copy(os.path.join(ROOT, "scripts", "mosquitto.acl"), self.folder / "acl")
        subprocess.run(["mosquitto_passwd", "-b", "-c", str(self.folder / "passwd"), "sta-server", self.secret],
                       check=True, stdout=subprocess.DEVNULL)
        # the publisher stamp's HMAC key (broker_plugin/, security/publisher_stamp.py), beside passwd
        (self.folder / "stamp.secret").write_text(secrets.token_hex(32) + "\n")
        os.chmod(self.folder / "mosquitto.conf", 0o644)
        for name in ("acl", "passwd", "stamp.secret"):
            private(self.folder / name)
        self.process: subprocess.Popen[bytes] | None = None

    def add_user(self, name: str, password: str) -> str:
        """A user with the SensorThings topics (before `start`); its MQTT URL. Anonymous persistent
        sessions lose what is published for them between a broker restart and their reconnect
        (Mosquitto 2.0.11 with an ACL file: the restored session has no user to check the ACL
        against); named ones, like the server's and the field agents', keep it."""
        subprocess.run(["mosquitto_passwd", "-b", str(self.folder / "passwd"), name, password],
                       check=True, stdout=subprocess.DEVNULL)
        with (self.folder / "acl").open("a") as acl:
            acl.write(f"\nuser {name}\ntopic readwrite v1.1/#\n")
        for file in ("acl", "passwd"):
            private(self.folder / file)
        return f"mqtt://{name}:{password}@127.0.0.1:{self.port}"

    @property
    def server_url(self) -> str:
        """The URL the SensorThings server connects with (its own user)."""
        return f"mqtt://sta-server:{self.secret}@127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.process = subprocess.Popen([binary, "-c", str(self.folder / "mosquitto.conf")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not listening(self.port):
            if time.monotonic() > deadline:
                self.process.kill()
                raise RuntimeError("mosquitto did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM: Mosquitto writes its persistence file (if any) and leaves."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
