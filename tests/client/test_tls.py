"""TLS client certificates (docs/tls.md): a device agent whose certificate's CN is its user name
logs in over HTTPS and over the broker's client-certificate listener, with `ClientSettings`'
`tls_cert_file`/`tls_key_file`/`tls_ca_file` only (no password). Uses the TLS tests' PKI and broker."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from sta_client import MqttSession, StaClient, Unauthorized
from sta_client.settings import ClientSettings
from tests.client.bodies import thing
from tests.client.conftest import ADMIN, ADMIN_PASSWORD, RunningServer
from tests.mosquitto import Broker
from tests.tls.conftest import AGENT, AGENT_TOPIC, pki, tls_broker  # noqa: F401  (fixtures)
from tests.tls.pki import Pki
from tests.tls.test_http_tls import HttpsServer, running_https


@pytest.fixture(scope="module")
def https(sta_process_auth: RunningServer, pki: Pki, tls_broker: Broker) -> Iterator[HttpsServer]:  # noqa: F811
    """A second `sta-server` (HTTPS, authentication on) on the auth fixture's database."""
    sta_process_auth.admin_cli("user", "add", AGENT, "--role", "device_agent", "--grant", "site:TLS")
    with running_https(sta_process_auth.database_url, pki, tls_broker, "on") as server:
        yield server


def agent_settings(pki: Pki, base_url: str, mqtt_url: str | None = None) -> ClientSettings:  # noqa: F811
    return ClientSettings(base_url=base_url, mqtt_url=mqtt_url, tls_ca_file=str(pki.ca),
                          tls_cert_file=str(pki.folder / f"{AGENT}.pem"), tls_key_file=str(pki.folder / f"{AGENT}.key"))


def test_client_certificate_over_https(https: HttpsServer, pki: Pki) -> None:  # noqa: F811
    admin = ClientSettings(base_url=https.base, username=ADMIN, password=ADMIN_PASSWORD, tls_ca_file=str(pki.ca))
    with StaClient(admin) as sta:
        sta.create("Things", thing())
    with StaClient(agent_settings(pki, https.base)) as agent:
        assert agent.get("Things")["value"] == []  # authenticated as the agent: no Thing of its site yet
    with StaClient(ClientSettings(base_url=https.base, tls_ca_file=str(pki.ca))) as anonymous, \
            pytest.raises(Unauthorized):
        anonymous.get("Things")


def test_client_certificate_at_the_broker(pki: Pki, tls_broker: Broker) -> None:  # noqa: F811
    settings = agent_settings(pki, "https://localhost:1/v1.1", f"mqtts://localhost:{tls_broker.cert_port}")
    session = MqttSession(settings, AGENT)
    session.start()
    try:
        session.wait_connected(10)
        publication = session.publish(AGENT_TOPIC, {"phenomenonTime": "2026-05-01T10:00:00Z", "result": 1},
                                      [("idempotency-key", "tls/1")])
        assert publication.wait(10) < 128
    finally:
        session.close()
