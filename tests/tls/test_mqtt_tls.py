"""MQTT over TLS: Mosquitto's TLS listener and its client-certificate listener (CN = user name,
revocation list), and the SensorThings server's own connection over `mqtts://`."""
from __future__ import annotations

import json
import signal
import ssl
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import Engine

from sta_server.app import create_app
from sta_server.mqtt.service import MqttService
from sta_server.service.events import EventBus
from sta_server.settings import Settings
from tests.conftest import make_datastream, post
from tests.mosquitto import Broker
from tests.mqtt.conftest import wait_until
from tests.tls.conftest import AGENT, AGENT_TOPIC, REVOKED, TlsClient, client_context, mqtt_in_clear, mqtt_over_tls
from tests.tls.pki import Pki

NOT_AUTHORISED = 0x87


@pytest.fixture
def agent(pki: Pki, tls_broker: Broker) -> Iterator[TlsClient]:
    client = TlsClient(pki, tls_broker.cert_port, AGENT)
    yield client
    client.close()


def test_agent_certificate_is_its_user_name(pki: Pki, tls_broker: Broker, agent: TlsClient) -> None:
    """The broker takes the CN as user name: the ACL's rules for `agent-1` apply, not the
    anonymous ones (which allow all of v1.1/#)."""
    other = "v1.1/Datastreams(2)/Observations"
    assert agent.subscribe(AGENT_TOPIC) == 1
    assert agent.publish(AGENT_TOPIC, b'{"result": 1}') == 0
    assert json.loads(agent.expect(AGENT_TOPIC)) == {"result": 1}
    assert agent.publish(other, b'{"result": 2}') == NOT_AUTHORISED
    # Mosquitto's ACL file grants any subscription but delivers only what the user may read:
    # of two messages published in this order, the agent gets the second one only.
    agent.subscribe(other)
    anonymous = TlsClient(pki, tls_broker.tls_port)
    try:
        assert anonymous.publish(other, b'{"result": 3}') == 0
        assert anonymous.publish(AGENT_TOPIC, b'{"result": 4}') == 0
    finally:
        anonymous.close()
    assert agent.messages.get(timeout=10) == (AGENT_TOPIC, b'{"result": 4}')


def test_valid_certificate_gets_connack(pki: Pki, tls_broker: Broker) -> None:
    assert mqtt_over_tls(tls_broker.cert_port, client_context(pki, AGENT)) == b"\x20\x02\x00\x00"


def test_revoked_certificate_is_refused(pki: Pki, tls_broker: Broker) -> None:
    """The same CA, the same kind of certificate as `agent-1`'s, but on the CRL. (Mosquitto sends
    the "certificate revoked" alert or just closes the connection: either way no CONNACK.)"""
    with pytest.raises(OSError):
        mqtt_over_tls(tls_broker.cert_port, client_context(pki, REVOKED))


def test_no_certificate_is_refused_where_one_is_required(pki: Pki, tls_broker: Broker) -> None:
    with pytest.raises(OSError):  # Mosquitto ends the handshake without an alert: an EOF
        mqtt_over_tls(tls_broker.cert_port, client_context(pki))


def test_certificate_of_another_ca_is_refused(tls_broker: Broker) -> None:
    stranger = Pki()
    try:
        stranger.client(AGENT)  # same CN, wrong issuer
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # this client does not care who the broker is
        context.load_cert_chain(stranger.folder / f"{AGENT}.pem", stranger.folder / f"{AGENT}.key")
        with pytest.raises(OSError):  # as above
            mqtt_over_tls(tls_broker.cert_port, context)
    finally:
        stranger.remove()


def test_revocation_takes_effect_on_reload(pki: Pki, tls_broker: Broker) -> None:
    """`kill -HUP` makes Mosquitto read the CRL again (docs/tls.md)."""
    name = f"agent-{uuid.uuid4().hex[:6]}"
    pki.client(name)
    assert mqtt_over_tls(tls_broker.cert_port, client_context(pki, name)).startswith(b"\x20")
    pki.revoke(name)
    assert tls_broker.process is not None
    tls_broker.process.send_signal(signal.SIGHUP)

    def refused() -> bool:
        try:
            mqtt_over_tls(tls_broker.cert_port, client_context(pki, name))
        except OSError:
            return True
        return False

    wait_until(refused, timeout=10)
    assert mqtt_over_tls(tls_broker.cert_port, client_context(pki, AGENT)).startswith(b"\x20")


def test_tls_listener_does_not_require_a_certificate(pki: Pki, tls_broker: Broker) -> None:
    assert mqtt_over_tls(tls_broker.tls_port, client_context(pki)) == b"\x20\x02\x00\x00"


def test_client_that_does_not_trust_the_ca_refuses_the_broker(tls_broker: Broker) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        mqtt_over_tls(tls_broker.tls_port, ssl.create_default_context())


@pytest.mark.parametrize("port_name", ["tls_port", "cert_port"])
def test_plain_tcp_client_cannot_talk_to_a_tls_port(tls_broker: Broker, port_name: str) -> None:
    answer = mqtt_in_clear(getattr(tls_broker, port_name))
    assert not answer.startswith(b"\x20")  # no CONNACK: at most a TLS alert, then the broker hangs up


@pytest.mark.parametrize("listener", ["password", "certificate"])
def test_server_connects_over_mqtts_and_notifies(settings: Settings, clean_db: Engine, pki: Pki,
                                                 tls_broker: Broker, agent: TlsClient, listener: str) -> None:
    """The server's own connection: `mqtts://` with its password on the TLS listener, or with its
    own certificate (CN `sta-server`) on the client-certificate listener."""
    if listener == "password":
        tls = {"mqtt_url": f"mqtts://sta-server:{tls_broker.secret}@127.0.0.1:{tls_broker.tls_port}"}
    else:
        tls = {"mqtt_url": f"mqtts://localhost:{tls_broker.cert_port}",
               "mqtt_cert_file": str(pki.folder / "sta-server.pem"),
               "mqtt_key_file": str(pki.folder / "sta-server.key")}
    mqtt_settings = replace(settings, mqtt_ca_file=str(pki.ca), mqtt_client_id=f"sta-tls-{uuid.uuid4().hex[:8]}",
                            **tls)
    service = MqttService(mqtt_settings, clean_db, EventBus())
    service.start()
    try:
        assert service.connection.connected.wait(10)
        app = create_app(settings, clean_db, service.bus)
        app.config["STA_MQTT"] = service
        http = app.test_client()
        stream = make_datastream(http)["@iot.id"]
        assert f"v1.1/Datastreams({stream})/Observations" == AGENT_TOPIC
        assert agent.subscribe(AGENT_TOPIC) == 1
        wait_until(lambda: AGENT_TOPIC in {r.topic for b in service.registry.bases()
                                           for r in service.registry.lookup(b)})
        post(http, f"Datastreams({stream})/Observations", {"phenomenonTime": "2026-01-01T00:00:00Z", "result": 7})
        assert json.loads(agent.expect(AGENT_TOPIC))["result"] == 7
    finally:
        service.stop()
