"""HTTPS: the real `sta-server` process with STA_TLS_CERT_FILE (gunicorn, sta_server/tls.py), with
optional client certificates checked against the test CA and its revocation list; and the identity
a client certificate proves, seen through `client_cert_identity` by an app under the same config."""
from __future__ import annotations

import json
import os
import pathlib
import queue
import shutil
import ssl
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import Engine

from tests.conftest import LOCATION, ROOT, datastream_body
from tests.faults.conftest import Server, wait_for
from tests.mosquitto import Broker, free_port
from tests.tls.conftest import AGENT, AGENT_TOPIC, REVOKED, TlsClient, client_context
from tests.tls.pki import Pki


def tls_env(pki: Pki, client_certs: str = "optional") -> dict[str, str]:
    return {"STA_TLS_CERT_FILE": str(pki.server.cert), "STA_TLS_KEY_FILE": str(pki.server.key),
            "STA_TLS_CLIENT_CA_FILE": str(pki.ca), "STA_TLS_CRL_FILE": str(pki.crl),
            "STA_TLS_CLIENT_CERTS": client_certs}


class HttpsServer(Server):
    """`sta-server` over HTTPS; it trusts the test CA and talks to the broker over mqtts://. (These
    tests are about the transport: authentication is off, so a client certificate whose CN is no
    known user still gets 200; mapping CNs to users is the authentication layer's, tested there.)"""

    def __init__(self, pki: Pki, *args: str, **env: str) -> None:
        self.pki = pki
        super().__init__(*args, **env)

    @property
    def base(self) -> str:
        return f"https://localhost:{self.port}/v1.1"

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"sta-server exited:\n{self.log()[-2000:]}")
        try:
            return httpx.get(self.base, timeout=1, verify=client_context(self.pki)).status_code == 200
        except httpx.HTTPError:
            return False


@contextmanager
def running_https(database_url: str, pki: Pki, tls_broker: Broker, auth: str) -> Iterator[HttpsServer]:
    """`sta-server` over HTTPS, talking to `tls_broker` over mqtts://, with STA_AUTH=`auth`."""
    mqtt_url = f"mqtts://sta-server:{tls_broker.secret}@localhost:{tls_broker.tls_port}"
    server = HttpsServer(pki, database_url, mqtt_url, f"sta-https-{uuid.uuid4().hex[:6]}",
                         STA_MQTT_CA_FILE=str(pki.ca), STA_AUTH=auth, **tls_env(pki))
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.log_path.parent, ignore_errors=True)


@pytest.fixture(scope="module")
def https_server(database_url: str, engine: Engine, pki: Pki, tls_broker: Broker) -> Iterator[HttpsServer]:
    with running_https(database_url, pki, tls_broker, "off") as server:
        yield server


def get(url: str, context: ssl.SSLContext | bool) -> httpx.Response:
    return httpx.get(url, timeout=10, verify=context)


def test_https_with_the_test_ca(https_server: HttpsServer, pki: Pki) -> None:
    response = get(https_server.base, client_context(pki))
    assert response.status_code == 200
    # links are https:// too (the default base URL follows STA_TLS_CERT_FILE; the process was
    # started with host 127.0.0.1)
    assert response.json()["value"][0]["url"].startswith(f"https://127.0.0.1:{https_server.port}/v1.1/")


def test_https_create_is_notified_over_mqtts(https_server: HttpsServer, pki: Pki, tls_broker: Broker,
                                             clean_db: Engine) -> None:
    """An Observation created over HTTPS reaches a device agent subscribed with its certificate:
    the server's HTTP worker publishes over mqtts:// (the stream is Datastreams(1), the agent's topic)."""
    context = client_context(pki)
    body = datastream_body()
    body["Thing"] = {"name": "TLS site", "description": "t", "Locations": [LOCATION]}
    created = httpx.post(f"{https_server.base}/Datastreams", json=body, timeout=10, verify=context)
    assert created.status_code == 201, created.text
    assert f"v1.1/Datastreams({created.json()['@iot.id']})/Observations" == AGENT_TOPIC
    agent = TlsClient(pki, tls_broker.cert_port, AGENT)
    try:
        assert agent.subscribe(AGENT_TOPIC) == 1
        for attempt in range(50):  # until the worker's notifier has learnt the subscription
            response = httpx.post(f"{https_server.base}/{AGENT_TOPIC.removeprefix('v1.1/')}", timeout=10,
                                  verify=context, json={"phenomenonTime": "2026-01-01T00:00:00Z", "result": attempt})
            assert response.status_code == 201
            try:
                topic, payload = agent.messages.get(timeout=0.2)
                break
            except queue.Empty:
                continue
        else:
            raise AssertionError("no notification over mqtts://")
        assert topic == AGENT_TOPIC
        assert json.loads(payload)["@iot.selfLink"].startswith("https://")
    finally:
        agent.close()


def test_plain_http_is_refused(https_server: HttpsServer) -> None:
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{https_server.port}/v1.1", timeout=10)


def test_client_that_does_not_trust_the_ca_refuses_the_server(https_server: HttpsServer) -> None:
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        get(https_server.base, True)


def test_valid_client_certificate_is_accepted(https_server: HttpsServer, pki: Pki) -> None:
    assert get(https_server.base, client_context(pki, AGENT)).status_code == 200


def test_revoked_client_certificate_is_refused(https_server: HttpsServer, pki: Pki) -> None:
    with pytest.raises(httpx.TransportError):
        get(https_server.base, client_context(pki, REVOKED))


def test_certificate_of_another_ca_is_refused(https_server: HttpsServer, pki: Pki) -> None:
    stranger = Pki()
    try:
        stranger.client(AGENT)
        context = client_context(pki)
        context.load_cert_chain(stranger.folder / f"{AGENT}.pem", stranger.folder / f"{AGENT}.key")
        with pytest.raises(httpx.TransportError):
            get(https_server.base, context)
    finally:
        stranger.remove()


def test_new_crl_takes_effect_without_restart(https_server: HttpsServer, pki: Pki) -> None:
    """The CRL file is re-read when it changes (docs/tls.md: replace it atomically)."""
    name = f"agent-{uuid.uuid4().hex[:6]}"
    pki.client(name)
    assert get(https_server.base, client_context(pki, name)).status_code == 200
    pki.revoke(name)
    with pytest.raises(httpx.TransportError):
        get(https_server.base, client_context(pki, name))
    assert get(https_server.base, client_context(pki, AGENT)).status_code == 200


# --- client_cert_identity, under the same gunicorn configuration ---------------------------------


class IdentityApp:
    """`python -m tests.tls.identity_app` on a free port."""

    def __init__(self, pki: Pki, client_certs: str) -> None:
        self.port = free_port()
        self.folder = pathlib.Path(tempfile.mkdtemp(prefix="sta-test-identity-"))
        env = dict(os.environ, STA_HTTP_HOST="127.0.0.1", STA_HTTP_PORT=str(self.port), STA_MQTT_URL="off",
                   STA_LOG_LEVEL="INFO", **tls_env(pki, client_certs))
        with open(self.folder / "log", "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "tests.tls.identity_app"], env=env, cwd=ROOT,
                                            stdout=log, stderr=subprocess.STDOUT)
        self.url = f"https://localhost:{self.port}/"
        wait_for(lambda: self._listening(pki), 30, "the identity app")

    def _listening(self, pki: Pki) -> bool:
        if self.process.poll() is not None:
            raise AssertionError((self.folder / "log").read_text())
        try:
            return get(self.url, client_context(pki, AGENT)).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="module")
def identity_app(pki: Pki) -> Iterator[IdentityApp]:
    app = IdentityApp(pki, "optional")
    yield app
    app.stop()


def test_identity_is_the_client_certificate_cn(identity_app: IdentityApp, pki: Pki) -> None:
    assert get(identity_app.url, client_context(pki, AGENT)).json() == {"identity": AGENT, "scheme": "https"}


def test_no_identity_without_a_client_certificate(identity_app: IdentityApp, pki: Pki) -> None:
    assert get(identity_app.url, client_context(pki)).json()["identity"] is None


def test_identity_cannot_be_forged_by_a_header(identity_app: IdentityApp, pki: Pki) -> None:
    response = httpx.get(identity_app.url, timeout=10, verify=client_context(pki),
                         headers={"sta.tls.client_identity": AGENT, "X-Client-Cert-CN": AGENT})
    assert response.json()["identity"] is None


def test_required_client_certificate(pki: Pki) -> None:
    app = IdentityApp(pki, "required")
    try:
        assert get(app.url, client_context(pki, AGENT)).json()["identity"] == AGENT
        with pytest.raises(httpx.TransportError):
            get(app.url, client_context(pki))
    finally:
        app.stop()
