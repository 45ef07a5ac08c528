"""What goes over MQTT, as the session reports it: a `Publication` (one QoS 1 publish and the
broker's PUBACK reason code) and a `Notification` (a message received on a subscription)."""
from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from paho.mqtt.properties import Properties

from sta_client.errors import MqttError
from sta_client.requests import body_json
from sta_client.topics import ORIGIN_PROPERTY


@dataclass
class Publication:
    """One QoS 1 publish: what was sent, and the broker's PUBACK reason code once it came."""

    topic: str
    payload: bytes
    idempotency_key: str | None
    user_properties: tuple[tuple[str, str], ...] = ()
    mid: int = 0
    reason_code: int | None = None
    acked: threading.Event = field(default_factory=threading.Event, repr=False)

    def wait(self, timeout: float) -> int:
        """The PUBACK reason code (0 or 16: taken; ≥ 128: refused); MqttError when none came in time."""
        if not self.acked.wait(timeout) or self.reason_code is None:
            raise MqttError(-1, f"no PUBACK for {self.topic} within {timeout} s")
        return self.reason_code

    @property
    def accepted(self) -> bool:
        return self.reason_code is not None and self.reason_code < 128


@dataclass(frozen=True)
class Notification:
    """A message received on a subscription; `body` is the parsed JSON (None when it is not JSON),
    `from_server` tells the server's notifications from other clients' creates on the same topic."""

    topic: str
    body: Any
    payload: bytes
    user_properties: Mapping[str, str]

    @property
    def from_server(self) -> bool:
        return self.user_properties.get(ORIGIN_PROPERTY) == "server"


AckCallback = Callable[[Publication, int], None]
Handler = Callable[[Notification], None]


def encode(payload: Any) -> bytes:
    if isinstance(payload, bytes):
        return payload
    return json.dumps(body_json(payload), separators=(",", ":")).encode()


def user_properties_of(properties: Properties | None) -> dict[str, str]:
    pairs = getattr(properties, "UserProperty", None) or []
    return {str(name): str(value) for name, value in pairs}
