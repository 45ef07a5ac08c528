"""Where SCADA commands go: Tasks on the site's TaskingCapabilities, found by `properties.siteId` and
`properties.key` (the commissioning's marks) and created through sta_client."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from sta_client import AsyncStaClient, ClientSettings, EntityId, Query, string_literal


class TaskSink(Protocol):
    async def create(self, capability: str, parameters: Mapping[str, Any]) -> EntityId: ...


class StaTaskSink:
    """Creates Tasks on the server (one AsyncStaClient, opened in the running loop on first use)."""

    def __init__(self, settings: ClientSettings, site_id: str) -> None:
        self.settings, self.site_id = settings, site_id
        self._client: AsyncStaClient | None = None
        self._ids: dict[str, EntityId] = {}

    async def create(self, capability: str, parameters: Mapping[str, Any]) -> EntityId:
        if self._client is None:
            self._client = await AsyncStaClient(self.settings).__aenter__()
        return await self._client.create_task(await self._capability_id(self._client, capability), parameters)

    async def _capability_id(self, client: AsyncStaClient, key: str) -> EntityId:
        if key not in self._ids:
            query = Query().filter(f"properties/siteId eq {string_literal(self.site_id)} and "
                                   f"properties/key eq {string_literal(key)}").select("id", "properties")
            found = [entity["@iot.id"] async for entity in client.iter("TaskingCapabilities", query)
                     if not (entity.get("properties") or {}).get("retired")]
            if len(found) != 1:
                raise LookupError(f"site {self.site_id}: {len(found)} TaskingCapabilities of key {key!r}")
            self._ids[key] = found[0]
        return self._ids[key]

    async def close(self) -> None:
        if self._client is not None:
            await self._client.__aexit__(None, None, None)
            self._client = None
