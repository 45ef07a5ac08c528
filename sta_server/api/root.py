"""The service root document: entity sets and serverSettings (the conformance classes, and for
the MQTT classes the endpoints where clients reach the broker, as OGC 18-088 section 9.2.1 shows)."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sta_server.model import REGISTRY
from sta_server.settings import Settings

SPEC = "http://www.opengis.net/spec/iot_sensing/1.1/req/"
TASKING = "http://www.opengis.net/spec/iot_tasking/1.0/req/"
CONFORMANCE = (
    SPEC + "datamodel",
    SPEC + "resource-path/resource-path-to-entities",
    SPEC + "request-data",
    SPEC + "create-update-delete",
    SPEC + "multi-datastream",
    SPEC + "data-array/data-array",
    SPEC + "batch-request/batch-request",
    # Tasking Core (OGC 17-079r1): the data model and creating Tasks over HTTP
    TASKING + "tasking-capability",
    TASKING + "task",
    TASKING + "actuator",
    TASKING + "create-tasks",
)
MQTT_CONFORMANCE = (
    SPEC + "create-observations-via-mqtt/observations-creation",
    SPEC + "receive-updates-via-mqtt/receive-updates",
    TASKING + "create-tasks-via-mqtt",
    TASKING + "receive-updates-via-mqtt",
)


def mqtt_endpoints(settings: Settings) -> tuple[str, ...]:
    """STA_MQTT_PUBLIC_URLS, else the broker the server uses: its scheme and port (never its
    credentials) on the host of the service root URL; nothing when MQTT is off."""
    if not settings.mqtt_url:
        return ()
    if settings.mqtt_public_urls:
        return tuple(url.strip() for url in settings.mqtt_public_urls.split(",") if url.strip())
    broker = urlsplit(settings.mqtt_url)
    scheme = broker.scheme or "mqtt"
    port = broker.port or (8883 if scheme == "mqtts" else 1883)
    host = urlsplit(settings.base_url).hostname or broker.hostname
    return (f"{scheme}://{host}:{port}",)


def root_document(root_url: str, version: str, endpoints: tuple[str, ...] = ()) -> dict[str, Any]:
    """`endpoints`: where clients reach the MQTT broker (none: the MQTT classes are not claimed)."""
    value = [
        {"name": t.plural, "url": f"{root_url}/{t.plural}"} for t in REGISTRY if t.since <= version
    ]
    if version == "1.0":
        return {"value": value}
    mqtt = MQTT_CONFORMANCE if endpoints else ()
    settings: dict[str, Any] = {"conformance": [*CONFORMANCE, *mqtt]}
    settings.update({requirement: {"endpoints": list(endpoints)} for requirement in mqtt})
    return {"serverSettings": settings, "value": value}
