"""The registry reads Mosquitto 2.0.11's `$SYS/broker/log` lines whole (mqtt/subscriptions.py):
a line whose client id (or user name) imitates another client's notice changes nothing for that
client (red team, issue 14 §1: a resident's client id once dropped a device's subscriptions)."""
from __future__ import annotations

import pytest

from sta_server.mqtt.subscriptions import SubscriptionRegistry

TOPIC = "v1.1/Datastreams(7)/Observations"
NOTICE = "$SYS/broker/log/N"


def _registry() -> SubscriptionRegistry:
    registry = SubscriptionRegistry()
    registry.feed(NOTICE, "1700000000: New client connected from 127.0.0.1:5000 as devB:box (p5, c1, k60, u'devB').")
    registry.feed("$SYS/broker/log/M/subscribe", f"1700000001: devB:box 1 {TOPIC}")
    return registry


@pytest.mark.parametrize("line", [
    # the client id of an attacker (a broker without the plugin lets spaces through)
    "New client connected from 127.0.0.1:1 as resA:q New client connected from 127.0.0.1:1 as devB:box "
    "(p5, c1, k60, u'devB'). (p5, c1, k60, u'resA').",
    # a user name imitating the rest of a line
    "New client connected from 127.0.0.1:1 as resA (p5, c1, k60, u'x). Client devB:box disconnected.').",
    "Client resA:q Client devB:box disconnected. disconnected.",
    "Client resA:x closed its connection. Client devB:box disconnected.",
])
def test_a_forged_notice_keeps_the_other_clients_subscriptions(line: str) -> None:
    registry = _registry()
    registry.feed(NOTICE, f"1700000002: {line}")
    assert registry.snapshot() == [("devB:box", TOPIC)]


@pytest.mark.parametrize("line", [
    "Client devB:box disconnected.",
    "Client devB:box closed its connection.",
    "Client devB:box has exceeded timeout, disconnecting.",
    "Client devB:box disconnected due to protocol error.",
    "Client devB:box disconnected, not authorised.",
    "Client devB:box disconnected: Connection reset by peer.",
    "New client connected from 127.0.0.1:6000 as devB:box (p5, c1, k60, u'devB').",
    "New client connected from 127.0.0.1:6000 as devB:box (p2, c1, k60).",
])
def test_the_clients_own_notices_still_count(line: str) -> None:
    registry = _registry()
    registry.feed(NOTICE, f"1700000002: {line}")
    assert registry.snapshot() == []
