"""The broker plugin (broker_plugin/sta_identity.c) in a real Mosquitto 2.0: it names the
publisher of every message, binds client ids to users, and refuses unknown user names only after
the password hash a wrong password costs."""
from __future__ import annotations

import logging
import os
import queue
import signal
import time
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from sta_server.security.broker_files import _reload
from sta_server.security.passwords import hash_password
from sta_server.security.publisher_stamp import compute_stamp, read_secret
from tests.mosquitto import Broker
from tests.mqtt.conftest import wait_until

SLOW_ITERATIONS = 1_000_000  # a password check of about half a second: far above the noise


@pytest.fixture(scope="module")
def broker() -> Iterator[Broker]:
    """Anonymous clients allowed (as with STA_AUTH=off); users `dev` and `slow` (a costly hash), and
    `cert-only` (an ACL entry, no password: a client-certificate user)."""
    broker = Broker()
    with open(broker.folder / "passwd", "a", encoding="utf-8") as passwd:
        passwd.write(f"dev:{hash_password('dev-pw')}\nslow:{hash_password('slow-pw', SLOW_ITERATIONS)}\n")
    with open(broker.folder / "acl", "a", encoding="utf-8") as acl:
        acl.write("\nuser dev\ntopic readwrite v1.1/#\nuser cert-only\ntopic read v1.1/#\n")
    (broker.folder / "mosquitto.conf").write_text((broker.folder / "mosquitto.conf").read_text()
                                                  + f"pid_file {broker.folder}/mosquitto.pid\n")
    broker.start()
    wait_until((broker.folder / "mosquitto.pid").exists, 10)
    yield broker
    broker.remove()


def _connect(broker: Broker, client_id: str, user: str | None = None,
             secret: str | None = None) -> tuple[paho.Client, int, queue.Queue[paho.MQTTMessage]]:
    received: queue.Queue[paho.MQTTMessage] = queue.Queue()
    codes: queue.Queue[int] = queue.Queue()
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
    if user is not None:
        client.username_pw_set(user, secret)
    client.on_connect = lambda c, u, f, rc, p: codes.put(rc.value)
    client.on_disconnect = lambda c, u, f, rc, p: codes.put(-1)  # closed without a CONNACK
    client.on_message = lambda c, u, m: received.put(m)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    return client, codes.get(timeout=30), received


def _properties(message: paho.MQTTMessage) -> dict[str, Any]:
    props = message.properties
    return {"user": [tuple(p) for p in getattr(props, "UserProperty", [])],
            "content_type": getattr(props, "ContentType", None),
            "correlation": getattr(props, "CorrelationData", None)}


def test_every_message_names_its_authenticated_publisher(broker: Broker) -> None:
    server, rc, received = _connect(broker, "sta-server:test", "sta-server", broker.secret)
    assert rc == 0
    subscribed: queue.Queue[bool] = queue.Queue()
    server.on_subscribe = lambda c, u, mid, codes, p: subscribed.put(True)
    server.subscribe("v1.1/#", 1)
    assert subscribed.get(timeout=5)
    forged = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    forged.UserProperty = [("sta-publisher", "admin"), ("idempotency-key", "k"), ("sta-publisher", "root"),
                           ("sta-stamp", "0" * 64), ("idempotency-key", "second"), ("sta-origin", "server")]
    forged.ContentType = "application/json"
    forged.CorrelationData = b"\x01\x02"
    for client_id, user, secret in (("dev:box", "dev", "dev-pw"), ("plain-anon", None, None)):
        publisher, rc, _ = _connect(broker, client_id, user, secret)
        assert rc == 0
        publisher.publish("v1.1/Things", b"{}", qos=1, properties=forged).wait_for_publish(5)
        publisher.disconnect()
        publisher.loop_stop()
    by_dev, by_anonymous = (_properties(received.get(timeout=5)) for _ in range(2))
    # the stamp: HMAC-SHA256 of (user, topic, first idempotency key, payload) under the broker's secret
    stamp = compute_stamp(read_secret(broker.folder / "stamp.secret") or b"", "dev", "v1.1/Things", "k", b"{}")
    assert by_dev == {"user": [("idempotency-key", "k"), ("idempotency-key", "second"), ("sta-publisher", "dev"),
                               ("sta-stamp", stamp)],
                      "content_type": "application/json", "correlation": b"\x01\x02"}
    # anonymous: no publisher at all, and no stamp
    assert by_anonymous["user"] == [("idempotency-key", "k"), ("idempotency-key", "second")]
    # `sta-origin=server` (what subscribers tell notifications by) is kept for the server's user only
    origin = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    origin.UserProperty = [("sta-origin", "server")]
    server.publish("v1.1/Things", b"{}", qos=1, properties=origin).wait_for_publish(5)
    assert ("sta-origin", "server") in _properties(received.get(timeout=5))["user"]
    server.disconnect()
    server.loop_stop()


@pytest.mark.parametrize(("client_id", "user", "secret", "admitted"), [
    ("dev", "dev", "dev-pw", True),
    ("dev:field-box", "dev", "dev-pw", True),
    ("devx", "dev", "dev-pw", False),  # another user's prefix is not enough
    ("sta-server:x", "dev", "dev-pw", False),
    ("sta-server", None, None, False),  # anonymous clients: never a user's id ...
    ("dev:x", None, None, False),  # ... nor one with ':'
    ("cert-only", None, None, False),  # ... nor a certificate user's (its id is its name)
    ("lessag-site-7", None, None, True),
    # nothing that could pass for the rest of a `$SYS` log line (mqtt/subscriptions.py)
    ("dev:q New client connected from 127.0.0.1:1 as x (p5, c1, k60).", "dev", "dev-pw", False),
    ("dev:tab\there", "dev", "dev-pw", False),  # (control characters: Mosquitto closes the connection)
    ("dev:(p5", "dev", "dev-pw", False),
    ("dev:u'x'", "dev", "dev-pw", False),
    ('dev:"x"', "dev", "dev-pw", False),
    ("anon\x7f", None, None, False),
    ("dev:ok.name_1-2", "dev", "dev-pw", True),
])
def test_client_ids_belong_to_their_user(broker: Broker, client_id: str, user: str | None, secret: str | None,
                                         admitted: bool) -> None:
    client, rc, _ = _connect(broker, client_id, user, secret)
    assert (rc == 0) is admitted
    client.disconnect()
    client.loop_stop()


def _refusal_s(broker: Broker, user: str, secret: str) -> float:
    started = time.monotonic()
    client, rc, _ = _connect(broker, f"{user}:t", user, secret)
    elapsed = time.monotonic() - started
    assert rc != 0
    client.loop_stop()
    return elapsed


def test_unknown_user_names_cost_the_password_hash(broker: Broker) -> None:
    """The plugin spends the largest iteration count of the password file on an unknown name."""
    wrong_password = min(_refusal_s(broker, "slow", "wrong") for _ in range(2))
    unknown_user = min(_refusal_s(broker, "nobody-here", "wrong") for _ in range(2))
    assert wrong_password > 0.1  # the slow user's own hash runs
    assert unknown_user > 0.5 * wrong_password, (unknown_user, wrong_password)


def test_a_reload_reads_new_users_and_says_so(broker: Broker) -> None:
    stamp = broker.folder / "reloaded"
    before = stamp.read_text()
    with open(broker.folder / "passwd", "a", encoding="utf-8") as passwd:
        passwd.write(f"late:{hash_password('late-pw')}\n")
    os.kill(int((broker.folder / "mosquitto.pid").read_text()), signal.SIGHUP)
    wait_until(lambda: stamp.read_text() != before, 5)
    client, rc, _ = _connect(broker, "late", "late", "late-pw")
    assert rc == 0
    client.disconnect()
    client.loop_stop()


def test_reloads_in_quick_succession_are_all_confirmed(broker: Broker, caplog: pytest.LogCaptureFixture) -> None:
    """Mosquitto 2.0 clears its reload flag after a reload, losing a SIGHUP that arrives during one
    (here made long: a client of the costly hash is checked again); the server signals again until
    the broker confirms, so each rewrite of the files is read."""
    slow, rc, _ = _connect(broker, "slow", "slow", "slow-pw")
    assert rc == 0
    stamp = broker.folder / "reloaded"
    counts = [int(stamp.read_text().split()[1])]
    with caplog.at_level(logging.INFO, logger="sta_server.security.broker_files"):
        for _ in range(4):
            _reload(broker.folder)
            counts.append(int(stamp.read_text().split()[1]))
    slow.disconnect()
    slow.loop_stop()
    assert counts == sorted(set(counts)), counts  # each reload counted: strictly increasing
    assert not [r for r in caplog.records if "has not confirmed" in r.getMessage()]
