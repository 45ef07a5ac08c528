"""A device agent authenticated by its client certificate over real HTTPS: the certificate's CN is
its user name, its grants decide what it sees; without a certificate or credentials, 401."""
from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine

from sta_server.security import users
from sta_server.security.principal import Principal
from tests.mosquitto import Broker
from tests.tls.conftest import AGENT, client_context
from tests.tls.pki import Pki
from tests.tls.test_http_tls import HttpsServer, running_https

SETUP = Principal("tls-test", "admin", channel="cli")


@pytest.fixture
def secure_https(database_url: str, clean_db: Engine, pki: Pki, tls_broker: Broker) -> Iterator[HttpsServer]:
    with clean_db.begin() as conn:
        users.add_user(conn, SETUP, AGENT, "device_agent", None, ["site:TLS"])
        users.add_user(conn, SETUP, "boss", "admin", "boss-secret")
    with running_https(database_url, pki, tls_broker, "on") as server:
        yield server


def test_client_certificate_logs_the_agent_in(secure_https: HttpsServer, pki: Pki, clean_db: Engine) -> None:
    admin = httpx.Client(verify=client_context(pki), auth=("boss", "boss-secret"), timeout=10)
    ids = [admin.post(f"{secure_https.base}/Things", json={"name": name, "description": "d"}).json()["@iot.id"]
           for name in ("mine", "other")]
    with clean_db.begin() as conn:
        users.label_things(conn, SETUP, [ids[0]], add=["site:TLS"])
    agent = httpx.Client(verify=client_context(pki, AGENT), timeout=10)
    response = agent.get(f"{secure_https.base}/Things")
    assert response.status_code == 200
    assert [t["name"] for t in response.json()["value"]] == ["mine"]
    assert agent.post(f"{secure_https.base}/Things", json={"name": "x", "description": "x"}).status_code == 403
    anonymous = httpx.Client(verify=client_context(pki), timeout=10)
    refused = anonymous.get(f"{secure_https.base}/Things")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "Unauthorized"
