"""The service root document: entity sets and serverSettings.conformance."""
from __future__ import annotations

from typing import Any

from sta_server.model import REGISTRY

SPEC = "http://www.opengis.net/spec/iot_sensing/1.1/req/"
CONFORMANCE = (
    SPEC + "datamodel",
    SPEC + "resource-path/resource-path-to-entities",
    SPEC + "request-data",
    SPEC + "create-update-delete",
    SPEC + "multi-datastream",
    SPEC + "data-array/data-array",
    SPEC + "batch-request/batch-request",
)


def root_document(root_url: str, version: str, extra_conformance: tuple[str, ...] = ()) -> dict[str, Any]:
    value = [
        {"name": t.plural, "url": f"{root_url}/{t.plural}"} for t in REGISTRY if t.since <= version
    ]
    if version == "1.0":
        return {"value": value}
    return {"serverSettings": {"conformance": [*CONFORMANCE, *extra_conformance]}, "value": value}
