"""The two HTTP transports of the client: `StaClient` (httpx.Client) and `AsyncStaClient`
(httpx.AsyncClient), with the same methods. They only carry out `calls.Call`s through the
`retry.exchange` plan; requests, readers and the retry rule are written once, without I/O."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any, Self
from urllib.parse import urlsplit

import httpx

from sta_client import calls
from sta_client.calls import Call, T
from sta_client.entities import E
from sta_client.errors import TransportError
from sta_client.paths import EntityId, relative_link
from sta_client.query import Query
from sta_client.requests import BatchItem, Request
from sta_client.responses import Page, Reply, SenmlReport
from sta_client.retry import Exchange, RetryPolicy, Send, exchange
from sta_client.settings import ClientSettings
from sta_client.tls import needs_tls, ssl_context

log = logging.getLogger(__name__)


def client_options(settings: ClientSettings) -> dict[str, Any]:
    """httpx keyword arguments: base URL, timeouts, Basic or bearer authentication, TLS."""
    options: dict[str, Any] = {
        "base_url": settings.base_url.rstrip("/") + "/",
        "timeout": httpx.Timeout(settings.timeout_s, connect=settings.connect_timeout_s),
        "headers": {"Accept": "application/json"},
    }
    if settings.username is not None:
        options["auth"] = httpx.BasicAuth(settings.username, settings.password or "")
    elif settings.token is not None:
        options["headers"]["Authorization"] = f"Bearer {settings.token}"
    if needs_tls(settings, settings.base_url):
        options["verify"] = ssl_context(settings)
    return options


def build(request: Request, client: httpx.Client | httpx.AsyncClient) -> httpx.Request:
    return client.build_request(request.method, request.path, params=dict(request.params) or None,
                                json=request.json if request.content is None else None,
                                content=request.content, headers=dict(request.headers))


def reply_of(response: httpx.Response) -> Reply:
    return Reply(response.status_code, {name.lower(): value for name, value in response.headers.items()},
                 response.content)


def _next_step(plan: Exchange, reply: Reply | None, failure: TransportError | None) -> Any:
    return plan.throw(failure) if failure is not None else plan.send(reply)


class StaClient:
    """Synchronous client: `with StaClient(settings) as sta: sta.create("Things", {...})`."""

    def __init__(self, settings: ClientSettings, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self.policy = RetryPolicy.from_settings(settings)
        self._base_path = urlsplit(settings.base_url).path
        self._http = httpx.Client(**client_options(settings), transport=transport)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def run(self, call: Call[T]) -> T:
        """Send the call's request (retried as `retry.exchange` says) and read its answer."""
        return call.read(self._exchange(call.request))

    def _exchange(self, request: Request) -> Reply:
        plan = exchange(request, self.policy)
        step = next(plan)
        try:
            while True:
                if not isinstance(step, Send):
                    time.sleep(step.seconds)
                    step = plan.send(None)
                    continue
                reply, failure = None, None
                try:
                    reply = reply_of(self._http.send(build(step.request, self._http)))
                except httpx.TransportError as error:
                    failure = TransportError(f"{type(error).__name__}: {error}")
                step = _next_step(plan, reply, failure)
        except StopIteration as done:
            result: Reply = done.value
            return result

    def create(self, path: str, body: Any, idempotency_key: str | None = None) -> EntityId:
        return self.run(calls.create(path, body, idempotency_key))

    def get(self, path: str, query: Query | None = None) -> dict[str, Any]:
        return self.run(calls.get(path, query))

    def get_entity(self, kind: type[E], entity_id: EntityId, query: Query | None = None) -> E:
        return self.run(calls.get_entity(kind, entity_id, query))

    def page(self, path: str, query: Query | None = None) -> Page:
        return self.run(calls.page(path, query))

    def iter(self, path: str, query: Query | None = None) -> Iterator[dict[str, Any]]:
        """Every entity of a collection, following `@iot.nextLink` page by page."""
        current = self.page(path, query)
        while True:
            yield from current.values
            if current.next_link is None:
                return
            current = self.page(relative_link(current.next_link, self._base_path))

    def patch(self, path: str, body: Any) -> None:
        self.run(calls.patch(path, body))

    def delete(self, path: str) -> None:
        self.run(calls.delete(path))

    def create_observations(self, datastream_id: EntityId, components: Sequence[str], rows: Sequence[Sequence[Any]],
                            key: str | None = None, multi: bool = False) -> list[EntityId | str]:
        return self.run(calls.create_observations(datastream_id, components, rows, key, multi))

    def batch(self, items: Sequence[BatchItem]) -> list[dict[str, Any]]:
        return self.run(calls.batch(items))

    def post_senml(self, pack: Sequence[Mapping[str, Any]], key: str | None = None) -> SenmlReport:
        return self.run(calls.post_senml(pack, key))

    def create_task(self, capability_id: EntityId, parameters: Mapping[str, Any], key: str | None = None) -> EntityId:
        return self.run(calls.create_task(capability_id, parameters, key))


class AsyncStaClient:
    """The same methods as `StaClient`, awaited: `async with AsyncStaClient(settings) as sta: …`."""

    def __init__(self, settings: ClientSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self.policy = RetryPolicy.from_settings(settings)
        self._base_path = urlsplit(settings.base_url).path
        self._http = httpx.AsyncClient(**client_options(settings), transport=transport)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def run(self, call: Call[T]) -> T:
        return call.read(await self._exchange(call.request))

    async def _exchange(self, request: Request) -> Reply:
        plan = exchange(request, self.policy)
        step = next(plan)
        try:
            while True:
                if not isinstance(step, Send):
                    await asyncio.sleep(step.seconds)
                    step = plan.send(None)
                    continue
                reply, failure = None, None
                try:
                    reply = reply_of(await self._http.send(build(step.request, self._http)))
                except httpx.TransportError as error:
                    failure = TransportError(f"{type(error).__name__}: {error}")
                step = _next_step(plan, reply, failure)
        except StopIteration as done:
            result: Reply = done.value
            return result

    async def create(self, path: str, body: Any, idempotency_key: str | None = None) -> EntityId:
        return await self.run(calls.create(path, body, idempotency_key))

    async def get(self, path: str, query: Query | None = None) -> dict[str, Any]:
        return await self.run(calls.get(path, query))

    async def get_entity(self, kind: type[E], entity_id: EntityId, query: Query | None = None) -> E:
        return await self.run(calls.get_entity(kind, entity_id, query))

    async def page(self, path: str, query: Query | None = None) -> Page:
        return await self.run(calls.page(path, query))

    async def iter(self, path: str, query: Query | None = None) -> AsyncIterator[dict[str, Any]]:
        current = await self.page(path, query)
        while True:
            for value in current.values:
                yield value
            if current.next_link is None:
                return
            current = await self.page(relative_link(current.next_link, self._base_path))

    async def patch(self, path: str, body: Any) -> None:
        await self.run(calls.patch(path, body))

    async def delete(self, path: str) -> None:
        await self.run(calls.delete(path))

    async def create_observations(self, datastream_id: EntityId, components: Sequence[str],
                                  rows: Sequence[Sequence[Any]], key: str | None = None,
                                  multi: bool = False) -> list[EntityId | str]:
        return await self.run(calls.create_observations(datastream_id, components, rows, key, multi))

    async def batch(self, items: Sequence[BatchItem]) -> list[dict[str, Any]]:
        return await self.run(calls.batch(items))

    async def post_senml(self, pack: Sequence[Mapping[str, Any]], key: str | None = None) -> SenmlReport:
        return await self.run(calls.post_senml(pack, key))

    async def create_task(self, capability_id: EntityId, parameters: Mapping[str, Any],
                          key: str | None = None) -> EntityId:
        return await self.run(calls.create_task(capability_id, parameters, key))
