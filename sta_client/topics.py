"""MQTT topics of the server (docs/mqtt.md) and the parts of a broker URL."""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from sta_client.paths import EntityId, entity_path

VERSION = "v1.1"
IDEMPOTENCY_PROPERTY = "idempotency-key"
ORIGIN_PROPERTY = "sta-origin"  # `server` on the server's notifications
SENML_TOPIC = f"{VERSION}/SenML"
_DEFAULT_PORTS = {"mqtt": 1883, "tcp": 1883, "mqtts": 8883, "ssl": 8883, "ws": 80, "wss": 443}


def observations_topic(datastream_id: EntityId, multi: bool = False) -> str:
    return f"{VERSION}/" + entity_path("MultiDatastreams" if multi else "Datastreams", datastream_id, "Observations")


def tasks_topic(capability_id: EntityId) -> str:
    return f"{VERSION}/" + entity_path("TaskingCapabilities", capability_id, "Tasks")


def entity_topic(path: str) -> str:
    """A topic for any resource path (`Things(5)`, `Datastreams(1)/Observations?$select=result`)."""
    return f"{VERSION}/{path}"


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool
    websockets: bool
    path: str
    username: str | None
    password: str | None = field(default=None, repr=False)


def broker_address(url: str) -> BrokerAddress:
    """`mqtt://user:pass@host:1883`, `mqtts://host:8883`, `ws://host/mqtt`, `wss://…`."""
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"not an MQTT URL: {parts.scheme}://{parts.hostname or ''}")
    return BrokerAddress(
        host=parts.hostname, port=parts.port or _DEFAULT_PORTS[parts.scheme],
        tls=parts.scheme in ("mqtts", "ssl", "wss"), websockets=parts.scheme in ("ws", "wss"),
        path=parts.path or "/mqtt",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None)


def client_id_for(username: str | None, client_id: str) -> str:
    """The broker admits a user's client only as `<user>` or `<user>:…` (docs/mqtt.md)."""
    if username is None or client_id == username or client_id.startswith(f"{username}:"):
        return client_id
    return f"{username}:{client_id}"
