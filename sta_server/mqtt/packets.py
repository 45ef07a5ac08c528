"""MQTT v5 packets the server sends in bulk, encoded straight to bytes: QoS 1 PUBLISH (notifications)
and PUBACK (stored creates). paho builds each through a chain of Python objects (a Properties object
packed again for every message, a message-info with its own Condition, one queue entry and one
wake-up of the network thread per packet); a batch of these is one buffer and one write."""
from __future__ import annotations

import struct

PUBLISH_QOS1 = 0x32
PUBACK = 0x40
USER_PROPERTY = 0x26


def remaining_length(value: int) -> bytes:
    """The variable byte integer of MQTT (1 to 4 bytes)."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | 0x80 if value else byte)
        if not value:
            return bytes(out)


def user_properties(pairs: list[tuple[str, str]]) -> bytes:
    """The property block (its length first) holding these user properties."""
    body = b"".join(bytes((USER_PROPERTY,)) + _text(key) + _text(value) for key, value in pairs)
    return remaining_length(len(body)) + body


def publish_qos1(topic: bytes, packet_id: int, properties: bytes, payload: bytes) -> bytes:
    """A QoS 1 PUBLISH; `properties` as `user_properties` makes it (its length first)."""
    size = 2 + len(topic) + 2 + len(properties) + len(payload)
    return b"".join((bytes((PUBLISH_QOS1,)), remaining_length(size), struct.pack("!H", len(topic)), topic,
                     struct.pack("!H", packet_id), properties, payload))


def pubacks(packet_ids: list[int]) -> bytes:
    """PUBACKs (reason code 0, which MQTT v5 lets a 2-byte PUBACK mean) for these packet ids."""
    return struct.pack(f"!{len(packet_ids)}I", *((PUBACK << 24) | (2 << 16) | mid for mid in packet_ids))


def _text(value: str) -> bytes:
    raw = value.encode()
    return struct.pack("!H", len(raw)) + raw
