"""A PUBACK of a notification is handled in a few steps (mqtt/client.py `_handle_pubackcomp`) with
the effect paho's own handling has: the message is done, one fewer in flight, its info published;
one with a reason string or other properties still goes through paho."""
from __future__ import annotations

import time

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MessageState

from sta_server.mqtt.client import ServerClient


def _client_with(mids: list[int]) -> tuple[ServerClient, paho.MQTTMessageInfo]:
    client = ServerClient(CallbackAPIVersion.VERSION2, client_id="t-puback", protocol=paho.MQTTv5)
    info = paho.MQTTMessageInfo(0)
    for mid in mids:
        message = paho.MQTTMessage(mid, b"v1.1/Observations")
        message.qos, message.info = 1, info
        message.state, message.timestamp = MessageState.MQTT_MS_WAIT_FOR_PUBACK, time.monotonic()
        client._out_messages[mid] = message
        client._inflight_messages += 1
    return client, info


@pytest.mark.parametrize("packet", [b"\x01\x02", b"\x01\x02\x00", b"\x01\x02\x10",  # success, no subscribers
                                    b"\x01\x02\x00\x00",  # an empty property list: paho's path
                                    b"\x01\x02\x83\x06\x1f\x00\x03bad"])  # a reason string: paho's path
def test_a_puback_completes_its_message(packet: bytes) -> None:
    client, info = _client_with([0x0102, 7])
    client._in_packet["command"], client._in_packet["packet"] = 0x40, bytearray(packet)
    client._handle_pubackcomp("PUBACK")
    assert list(client._out_messages) == [7]
    assert client._inflight_messages == 1
    assert info.is_published()


def test_a_puback_of_an_unknown_packet_id_changes_nothing() -> None:
    client, info = _client_with([7])
    client._in_packet["command"], client._in_packet["packet"] = 0x40, bytearray(b"\x00\x09")
    client._handle_pubackcomp("PUBACK")
    assert list(client._out_messages) == [7] and client._inflight_messages == 1
    assert not info.is_published()
