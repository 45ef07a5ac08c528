"""Incoming MQTT v5 PUBLISH packets (QoS 0 and 1) decoded in one pass for the server's connection:
topic, packet id, the user properties and the payload, without paho's per-message objects (a
Properties object parsed property by property, a message-info with its own Condition, the topic
matcher). Anything this decoder does not read (QoS 2, a property it does not know, a topic that is
not UTF-8) is left to paho (`None`)."""
from __future__ import annotations

import struct
from dataclasses import dataclass

USER_PROPERTY = 0x26
# PUBLISH properties a broker may forward: id -> fixed size, or -1 string, -2 string pair, -3 varint
_SIZES = {0x01: 1, 0x02: 4, 0x23: 2, 0x08: -1, 0x09: -1, 0x03: -1, USER_PROPERTY: -2, 0x0B: -3}
_LENGTH = struct.Struct("!H")


@dataclass(frozen=True, slots=True)
class Properties:
    UserProperty: list[tuple[str, str]]  # noqa: N815 (paho's name, read by the same code)


@dataclass(frozen=True, slots=True)
class Received:
    """What the server reads of a message (the attributes of paho's MQTTMessage it uses)."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    retain: bool
    dup: bool
    properties: Properties


def decode_publish(header: int, packet: bytes) -> Received | None:
    qos = (header >> 1) & 0x03
    if qos > 1:
        return None
    try:
        topic_end = 2 + _LENGTH.unpack_from(packet, 0)[0]
        if topic_end > len(packet):
            return None
        topic = packet[2:topic_end].decode()
        pos, mid = topic_end, 0
        if qos:
            mid, pos = _LENGTH.unpack_from(packet, pos)[0], pos + 2
        length, pos = _varint(packet, pos)
        if pos + length > len(packet):
            return None
        pairs = _user_properties(packet, pos, pos + length)
    except (UnicodeDecodeError, struct.error, IndexError, KeyError):
        return None  # paho decodes it (and refuses what is malformed)
    return Received(topic, packet[pos + length:], mid, qos, bool(header & 0x01), bool(header & 0x08),
                    Properties(pairs))


def _user_properties(packet: bytes, pos: int, end: int) -> list[tuple[str, str]]:
    pairs = []
    while pos < end:
        ident, pos = packet[pos], pos + 1
        size = _SIZES[ident]
        if size > 0:
            pos += size
        elif size == -3:
            pos = _varint(packet, pos)[1]
        elif size == -1:
            pos += 2 + _LENGTH.unpack_from(packet, pos)[0]
        else:
            key, pos = _text(packet, pos)
            value, pos = _text(packet, pos)
            pairs.append((key, value))
    if pos != end:
        raise IndexError("properties overrun their length")
    return pairs


def _text(packet: bytes, pos: int) -> tuple[str, int]:
    end = pos + 2 + _LENGTH.unpack_from(packet, pos)[0]
    if end > len(packet):
        raise IndexError("a string past the packet's end")
    return packet[pos + 2:end].decode(), end


def _varint(packet: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = packet[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        shift += 7
        if not byte & 0x80:
            return value, pos
        if shift > 21:
            raise IndexError("a variable byte integer longer than 4 bytes")
