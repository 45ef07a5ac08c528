"""Pure builders of the HTTP requests the client sends (no I/O): every create carries an
idempotency key chosen once per call, so a retry of the same `Request` is the same create."""
from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sta_client.paths import EntityId, entity_path
from sta_client.query import Query

IDEMPOTENCY_HEADER = "Idempotency-Key"
SENML_JSON = "application/senml+json"


@dataclass(frozen=True)
class Request:
    """One HTTP request; `path` is relative to the base URL (or, rarely, absolute)."""

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get(IDEMPOTENCY_HEADER)


def new_key() -> str:
    return str(uuid.uuid4())


def body_json(body: Any) -> Any:
    """A body as JSON: entity records (anything with `to_json`) or plain JSON values."""
    to_json = getattr(body, "to_json", None)
    return to_json() if callable(to_json) else body


def create_request(path: str, body: Any, idempotency_key: str | None = None) -> Request:
    return Request("POST", path, json=body_json(body), headers={IDEMPOTENCY_HEADER: idempotency_key or new_key()})


def get_request(path: str, query: Query | None = None) -> Request:
    return Request("GET", path, params=query.params() if query is not None else {})


def patch_request(path: str, body: Any) -> Request:
    return Request("PATCH", path, json=body_json(body))


def delete_request(path: str) -> Request:
    return Request("DELETE", path)


def create_observations_request(datastream_id: EntityId, components: Sequence[str], rows: Sequence[Sequence[Any]],
                                key: str | None = None, *, multi: bool = False) -> Request:
    """`POST CreateObservations` with one dataArray group for one (Multi)Datastream."""
    stream = "MultiDatastream" if multi else "Datastream"
    group = {stream: {"@iot.id": datastream_id}, "components": list(components),
             "dataArray@iot.count": len(rows), "dataArray": [list(row) for row in rows]}
    return create_request("CreateObservations", [group], key)


def senml_request(pack: Sequence[Mapping[str, Any]], key: str | None = None) -> Request:
    return Request("POST", "SenML", content=json.dumps(list(pack)).encode(),
                   headers={"Content-Type": SENML_JSON, IDEMPOTENCY_HEADER: key or new_key()})


def task_request(capability_id: EntityId, parameters: Mapping[str, Any], key: str | None = None) -> Request:
    return create_request(entity_path("TaskingCapabilities", capability_id, "Tasks"),
                          {"taskingParameters": dict(parameters)}, key)


@dataclass(frozen=True)
class BatchItem:
    """One request of a JSON `$batch`; `url` relative to the service root (`Things(1)`) or `$id/…`."""

    method: str
    url: str
    body: Any = None
    id: str | None = None
    atomicity_group: str | None = None
    depends_on: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)

    def to_json(self, index: int) -> dict[str, Any]:
        item: dict[str, Any] = {"id": self.id or f"r{index}", "method": self.method, "url": self.url}
        headers = dict(self.headers)
        if self.method == "POST" and not any(name.lower() == "idempotency-key" for name in headers):
            headers[IDEMPOTENCY_HEADER] = new_key()
        if headers:
            item["headers"] = headers
        if self.body is not None:
            item["body"] = body_json(self.body)
        if self.atomicity_group is not None:
            item["atomicityGroup"] = self.atomicity_group
        if self.depends_on:
            item["dependsOn"] = list(self.depends_on)
        return item


def batch_request(items: Sequence[BatchItem]) -> Request:
    """A JSON `$batch` (OData 4.01); each POST gets its own idempotency key, kept across retries."""
    return Request("POST", "$batch", json={"requests": [item.to_json(i) for i, item in enumerate(items)]})
