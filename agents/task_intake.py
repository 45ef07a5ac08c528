"""Tasks of the site's TaskingCapabilities: MQTT tells that something arrived, HTTP says what.

The north-bound session subscribes to `v1.1/TaskingCapabilities(<id>)/Tasks` (QoS 1, persistent
session). A notification is only a wake-up: the intake then reads the capability's Tasks created
since the newest one it handled (minus a margin for transactions that committed out of order) over
HTTP, so a Task is taken from the server itself (a forged will on the topic cannot pass for one,
docs/mqtt.md) and nothing created while the site was away is missed: the same catch-up runs at
start, after each notification and every `catch_up_every_s` seconds. The ledger filters out what was
handled already; Tasks go to `handle` one at a time, oldest first.

A capability with no handled Task in the ledger (a new or lost queue file) looks back `lookback`
(24 h by default) instead, and asks the server which of those Tasks were answered already (one query
on the site's acknowledgement Datastreams: Observations whose `parameters.taskId` names them).
Those go to `restore` (the plug-in rebuilds its state, nothing is sent, the ledger marks them); the
rest are answered as usual, stale ones refused by the plug-in's own validation.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from agents.plugin import TaskMessage
from agents.task_ledger import TaskLedger

log = logging.getLogger(__name__)

MARGIN = timedelta(seconds=60)
LOOKBACK = timedelta(hours=24)
RETRY_S = 5.0


@dataclass(frozen=True)
class CapabilityRef:
    """Where a site TaskingCapability key lives on the server, and the device it commands."""

    id: int
    device: str
    ack_streams: tuple[int, ...] = ()  # the site's acknowledgement Datastreams (server ids)


class TaskQuery(Protocol):
    """Reads a capability's Tasks over HTTP (sta_client's AsyncStaClient behind agents/mqtt_link.py)."""

    async def tasks_created_since(self, capability_id: int, since: datetime) -> Sequence[Mapping[str, Any]]:
        """Task entities (`@iot.id`, `taskingParameters`, `creationTime`) with creationTime >= since,
        oldest first."""
        ...

    async def acknowledged_tasks(self, datastream_ids: Sequence[int], task_ids: Sequence[int | str]) -> set[str]:
        """Which of `task_ids` (as text) have an Observation in one of the Datastreams naming them
        in `parameters.taskId`."""
        ...


def task_topic(capability_id: int) -> str:
    return f"v1.1/TaskingCapabilities({capability_id})/Tasks"


def task_message(entity: Mapping[str, Any], capability: str, ref: CapabilityRef) -> TaskMessage:
    created = entity.get("creationTime")
    return TaskMessage(task_id=entity["@iot.id"], capability=capability, device=ref.device,
                       parameters=entity.get("taskingParameters") or {},
                       created=datetime.fromisoformat(created.replace("Z", "+00:00")) if created else None)


class TaskIntake:
    def __init__(self, capabilities: Mapping[str, CapabilityRef], query: TaskQuery, ledger: TaskLedger,
                 handle: Callable[[TaskMessage], Awaitable[None]], catch_up_every_s: float = 60.0,
                 restore: Callable[[TaskMessage], Awaitable[None]] | None = None,
                 lookback: timedelta = LOOKBACK) -> None:
        self.capabilities = dict(capabilities)
        self.query = query
        self.ledger = ledger
        self.handle = handle
        self.restore = restore
        self.lookback = lookback
        self.catch_up_every_s = catch_up_every_s
        self.by_topic = {task_topic(ref.id): key for key, ref in self.capabilities.items()}
        self._due: set[str] = set(self.capabilities)
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.handled = 0
        self.restored = 0
        self.failures = 0

    @property
    def topics(self) -> list[str]:
        return list(self.by_topic)

    def notify(self, topic: str) -> None:
        """A message arrived on a Task topic (callable from the MQTT thread)."""
        capability = self.by_topic.get(topic)
        if capability is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._mark_due, capability)

    def _mark_due(self, capability: str) -> None:
        self._due.add(capability)
        self._wake.set()

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            due, self._due = self._due, set()
            failed = {capability for capability in sorted(due) if await self.catch_up(capability) is None}
            if self._due:  # notified meanwhile
                self._due |= failed
                continue
            self._due = failed
            waiter = asyncio.ensure_future(self._wake.wait())  # not wait_for: CPython gh-86296 on 3.11
            try:
                done, _ = await asyncio.wait({waiter}, timeout=RETRY_S if failed else self.catch_up_every_s)
            finally:
                waiter.cancel()
            if not done:
                self._due |= failed or set(self.capabilities)

    async def catch_up(self, capability: str) -> int | None:
        """Hand every unhandled Task of `capability` to `handle` (or to `restore` when the server
        shows it answered already): how many went to `handle` (None: the server could not be asked;
        a later round tries again)."""
        ref = self.capabilities[capability]
        newest = self.ledger.newest(capability)
        rebuild = newest is None and bool(ref.ack_streams) and self.restore is not None
        # creationTime is the server's wall time, whatever the site's clock says
        fallback = datetime.now(UTC) - self.lookback if rebuild else self.ledger.began()
        since = fallback if newest is None else newest
        try:
            entities = await self.query.tasks_created_since(ref.id, since - MARGIN)
            unhandled = [task_message(entity, capability, ref) for entity in entities
                         if not self.ledger.handled(entity["@iot.id"])]
            answered = (await self.query.acknowledged_tasks(ref.ack_streams, [task.task_id for task in unhandled])
                        if rebuild and unhandled else set())
        except Exception as error:  # any failure of the server or network: the next round tries again
            self.failures += 1
            log.warning("catch-up of %s Tasks failed (%s); retrying in %.0f s", capability, error, RETRY_S)
            return None
        fresh = 0
        for task in unhandled:
            if str(task.task_id) in answered and self.restore is not None:
                await self.restore(task)
                self.restored += 1
            else:
                await self.handle(task)
                self.handled += 1
                fresh += 1
        return fresh
