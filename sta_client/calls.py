"""Each client operation as data: the request to send and the reader of its answer (both pure).
The sync and async clients only carry them out, so no operation is written twice."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sta_client import requests, responses
from sta_client.entities import E
from sta_client.paths import EntityId, entity_path
from sta_client.query import Query
from sta_client.requests import BatchItem, Request
from sta_client.responses import Page, Reply, SenmlReport

T = TypeVar("T")


@dataclass(frozen=True)
class Call(Generic[T]):
    request: Request
    read: Callable[[Reply], T]


def create(path: str, body: Any, idempotency_key: str | None = None) -> Call[EntityId]:
    return Call(requests.create_request(path, body, idempotency_key), responses.created_id)


def get(path: str, query: Query | None = None) -> Call[dict[str, Any]]:
    return Call(requests.get_request(path, query), responses.entity)


def get_entity(kind: type[E], entity_id: EntityId, query: Query | None = None) -> Call[E]:
    def read(reply: Reply) -> E:
        return kind.from_json(responses.entity(reply))
    return Call(requests.get_request(entity_path(kind.entity_set, entity_id), query), read)


def page(path: str, query: Query | None = None) -> Call[Page]:
    return Call(requests.get_request(path, query), responses.page)


def patch(path: str, body: Any) -> Call[None]:
    return Call(requests.patch_request(path, body), responses.nothing)


def delete(path: str) -> Call[None]:
    return Call(requests.delete_request(path), responses.deleted)


def create_observations(datastream_id: EntityId, components: Sequence[str], rows: Sequence[Sequence[Any]],
                        key: str | None = None, multi: bool = False) -> Call[list[EntityId | str]]:
    return Call(requests.create_observations_request(datastream_id, components, rows, key, multi=multi),
                responses.created_ids)


def batch(items: Sequence[BatchItem]) -> Call[list[dict[str, Any]]]:
    return Call(requests.batch_request(items), responses.batch_responses)


def post_senml(pack: Sequence[Mapping[str, Any]], key: str | None = None) -> Call[SenmlReport]:
    return Call(requests.senml_request(pack, key), responses.senml_report)


def create_task(capability_id: EntityId, parameters: Mapping[str, Any], key: str | None = None) -> Call[EntityId]:
    return Call(requests.task_request(capability_id, parameters, key), responses.created_id)
