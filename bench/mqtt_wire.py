"""Just enough MQTT v5 on a plain socket for a load generator: CONNECT/CONNACK, QoS 1 PUBLISH with
packets built straight into bytes, PUBACK, SUBSCRIBE, and a reader that splits a byte stream into
packets. paho spends tens of microseconds per message in Python; this spends a few, so one process
can offer tens of thousands of messages per second (bench/mqtt_load.py)."""
from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass

CONNACK, PUBLISH, PUBACK, SUBACK, PINGRESP, DISCONNECT = 2, 3, 4, 9, 13, 14
RECEIVE_MAXIMUM = 0x21
USER_PROPERTY = 0x26
# CONNACK property id -> size in bytes (0: a string, -1: a string pair, -2: binary, -4: a varint)
_PROPERTY_SIZES = {0x11: 4, 0x21: 2, 0x24: 1, 0x25: 1, 0x27: 4, 0x12: 0, 0x22: 2, 0x1F: 0, 0x26: -1, 0x28: 1,
                   0x29: 1, 0x2A: 1, 0x13: 2, 0x1A: 0, 0x1C: 0, 0x15: 0, 0x16: -2, 0x0B: -4}


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def text(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return struct.pack("!H", len(raw)) + raw


def packet(kind_flags: int, body: bytes) -> bytes:
    return bytes((kind_flags,)) + varint(len(body)) + body


def connect(client_id: str, user: str | None = None, password: str | None = None,
            receive_maximum: int = 65535) -> bytes:
    flags = 0x02 | (0x80 if user else 0) | (0x40 if password else 0)  # clean start
    props = bytes((RECEIVE_MAXIMUM,)) + struct.pack("!H", receive_maximum)
    body = text("MQTT") + bytes((5, flags)) + struct.pack("!H", 0) + varint(len(props)) + props + text(client_id)
    if user:
        body += text(user)
    if password:
        body += text(password)
    return packet(0x10, body)


def subscribe(packet_id: int, topics: list[str], qos: int = 1) -> bytes:
    body = struct.pack("!H", packet_id) + b"\x00" + b"".join(text(t) + bytes((qos,)) for t in topics)
    return packet(0x82, body)


def puback(packet_id: int) -> bytes:
    return b"\x40\x02" + struct.pack("!H", packet_id)


def publish_head(topic: bytes) -> bytes:
    """The topic field of a PUBLISH (built once per topic)."""
    return struct.pack("!H", len(topic)) + topic


def publish_qos1(head: bytes, packet_id: int, properties: bytes, payload: bytes) -> bytes:
    """A QoS 1 PUBLISH from a prebuilt topic field; `properties` already encoded (b"" for none)."""
    body_len = len(head) + 2 + len(varint(len(properties))) + len(properties) + len(payload)
    return b"".join((b"\x32", varint(body_len), head, struct.pack("!H", packet_id), varint(len(properties)),
                     properties, payload))


def user_property(key: str, value: str) -> bytes:
    return bytes((USER_PROPERTY,)) + text(key) + text(value)


@dataclass
class Packet:
    kind: int
    flags: int
    body: bytes | memoryview


class Reader:
    """Splits what a socket delivers into packets."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, data: bytes) -> Iterator[Packet]:
        self.buffer += data
        buffer, start, end = self.buffer, 0, len(self.buffer)
        while end - start >= 2:
            length, shift, pos = 0, 0, start + 1
            while pos < end:
                byte = buffer[pos]
                length |= (byte & 0x7F) << shift
                shift += 7
                pos += 1
                if not byte & 0x80:
                    break
            else:
                break
            if end - pos < length:
                break
            yield Packet(buffer[start] >> 4, buffer[start] & 0x0F, bytes(buffer[pos:pos + length]))
            start = pos + length
        del self.buffer[:start]


def read_varint(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        shift += 7
        if not byte & 0x80:
            return value, pos


def connack_receive_maximum(body: bytes | memoryview) -> tuple[int, int]:
    """(reason code, the broker's Receive Maximum: 65535 when it announces none)."""
    reason = body[1]
    length, pos = read_varint(body, 2)
    end, found = pos + length, 65535
    while pos < end:
        ident = body[pos]
        pos += 1
        size = _PROPERTY_SIZES.get(ident, 0)
        if ident == RECEIVE_MAXIMUM:
            found = struct.unpack_from("!H", body, pos)[0]
        if size > 0:
            pos += size
        elif size == -4:
            pos = read_varint(body, pos)[1]
        else:
            for _ in range(2 if size == -1 else 1):
                pos += 2 + struct.unpack_from("!H", body, pos)[0]
    return reason, found


def publish_parts(flags: int, body: bytes | memoryview) -> tuple[bytes, int, bytes | memoryview]:
    """(topic, packet id or 0, payload) of a PUBLISH."""
    topic_len = struct.unpack_from("!H", body, 0)[0]
    topic, pos = bytes(body[2:2 + topic_len]), 2 + topic_len
    packet_id = 0
    if flags & 0x06:
        packet_id = struct.unpack_from("!H", body, pos)[0]
        pos += 2
    props, pos = read_varint(body, pos)
    return topic, packet_id, body[pos + props:]


def open_session(host: str, port: int, client_id: str, user: str | None = None,
                 password: str | None = None) -> tuple[socket.socket, Reader, int]:
    """A connected socket, its reader and the broker's Receive Maximum (raises if refused)."""
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(connect(client_id, user, password))
    reader = Reader()
    while True:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("the broker closed the connection")
        for item in reader.feed(data):
            if item.kind == CONNACK:
                reason, receive_maximum = connack_receive_maximum(item.body)
                if reason:
                    raise ConnectionError(f"CONNACK reason {reason}")
                return sock, reader, receive_maximum
