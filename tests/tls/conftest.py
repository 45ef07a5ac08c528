"""TLS fixtures: a throwaway PKI (tests/tls/pki.py) with device-agent certificates, one of them
revoked, and a Mosquitto with a TLS listener and a client-certificate listener; small clients that
report how a TLS connection ends."""
from __future__ import annotations

import queue
import socket
import ssl
import threading
import uuid
from collections.abc import Iterator

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.mosquitto import Broker, BrokerTls
from tests.tls.pki import Pki

AGENT = "agent-1"  # a device agent: its certificate's CN is its user name
REVOKED = "agent-revoked"
AGENT_TOPIC = "v1.1/Datastreams(1)/Observations"  # the one topic the ACL gives the agent

# MQTT 3.1.1 CONNECT, clean session, keep-alive 60 s, client id "test"; CONNACK starts with 0x20
CONNECT = bytes([0x10, 16]) + b"\x00\x04MQTT\x04\x02\x00\x3c" + b"\x00\x04test"


@pytest.fixture(scope="session")
def pki() -> Iterator[Pki]:
    pki = Pki()
    pki.client(AGENT)
    pki.client(REVOKED)
    pki.client("sta-server")  # the SensorThings server's own certificate at the broker
    pki.revoke(REVOKED)
    yield pki
    pki.remove()


@pytest.fixture(scope="session")
def tls_broker(pki: Pki) -> Iterator[Broker]:
    broker = Broker(tls=BrokerTls(pki.ca, pki.server.cert, pki.server.key, pki.crl))
    with open(broker.folder / "acl", "a") as acl:
        acl.write(f"\nuser {AGENT}\ntopic readwrite {AGENT_TOPIC}\n")
    broker.start()
    yield broker
    broker.remove()


def client_context(pki: Pki, name: str | None = None) -> ssl.SSLContext:
    """A client's TLS context: trusts the test CA, presents certificate `name` (if given)."""
    context = ssl.create_default_context(cafile=str(pki.ca))
    if name is not None:
        context.load_cert_chain(pki.folder / f"{name}.pem", pki.folder / f"{name}.key")
    return context


def mqtt_over_tls(port: int, context: ssl.SSLContext) -> bytes:
    """Handshake, send CONNECT, return the first bytes the broker answers (a CONNACK starts with
    0x20). A broker that refuses the client certificate makes this raise `ssl.SSLError` (with TLS
    1.3 the alert arrives after the client's side of the handshake, at the first read)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(CONNECT)
        return tls.recv(4)


def mqtt_in_clear(port: int) -> bytes:
    """Send a plain-TCP CONNECT, return what comes back until the broker closes the connection."""
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(CONNECT)
        try:
            while chunk := sock.recv(1024):
                answer += chunk
        except ConnectionResetError:
            pass
    return answer


class TlsClient:
    """A paho MQTT v5 client over TLS (client certificate `name`, if given) that records the
    messages it receives and the reason codes of its subscriptions and publications."""

    def __init__(self, pki: Pki, port: int, name: str | None = None) -> None:
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.connected = threading.Event()
        self._acks: dict[int, list[int]] = {}
        self._acked = threading.Condition()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"tls-{uuid.uuid4().hex[:8]}",
                                  protocol=paho.MQTTv5)
        self.client.tls_set_context(client_context(pki, name))
        self.client.on_connect = lambda *args: self.connected.set()
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, m.payload))
        self.client.on_subscribe = lambda c, u, mid, codes, p: self._ack(mid, [code.value for code in codes])
        self.client.on_publish = lambda c, u, mid, code, p: self._ack(mid, [code.value])
        self.client.connect("localhost", port)
        self.client.loop_start()
        assert self.connected.wait(10), "no CONNACK"

    def _ack(self, mid: int, codes: list[int]) -> None:
        with self._acked:
            self._acks[mid] = codes
            self._acked.notify_all()

    def _wait_ack(self, mid: int) -> list[int]:
        with self._acked:
            assert self._acked.wait_for(lambda: mid in self._acks, 10), "no acknowledgement"
            return self._acks.pop(mid)

    def subscribe(self, topic: str) -> int:
        """The SUBACK reason code: the granted QoS (1), or ≥ 0x80 when refused."""
        _, mid = self.client.subscribe(topic, qos=1)
        assert mid is not None
        return self._wait_ack(mid)[0]

    def publish(self, topic: str, payload: bytes) -> int:
        """The PUBACK reason code (0: accepted; 0x87: not authorised)."""
        info = self.client.publish(topic, payload, qos=1)
        return self._wait_ack(info.mid)[0]

    def expect(self, topic: str, timeout: float = 15.0) -> bytes:
        while True:
            got, payload = self.messages.get(timeout=timeout)
            if got == topic:
                return payload

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
