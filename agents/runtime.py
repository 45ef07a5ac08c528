"""One site's field process put together: queue, host, north-bound, Task intake, counters.

`SiteRuntime.run()` opens the site's queue file, connects to the broker (sta_client's MqttSession:
persistent session, QoS 1) and the server (AsyncStaClient), then runs the host's loops, the drain
loop, the Task intake and a periodic counter line until cancelled. Nothing here knows the site
file: the CLI (agents/cli.py) commissions the site and hands in what it found.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agents.host import Host, Poll
from agents.northbound import Northbound
from agents.observation_messages import StreamRef
from agents.outbox import Bound, Outbox
from agents.plugin import Plugin
from agents.server_link import HttpTaskQuery, SessionPublisher
from agents.task_intake import CapabilityRef, TaskIntake
from agents.task_ledger import TaskLedger
from clock import Clock
from sta_client.http import AsyncStaClient
from sta_client.mqtt import MqttSession
from sta_client.settings import ClientSettings

log = logging.getLogger(__name__)

LEDGER_RETENTION = timedelta(days=30)


@dataclass(frozen=True)
class RuntimeOptions:
    queue_path: Path
    bound: Bound = Bound()
    synchronous: str = "FULL"
    window: int = 2000  # unacknowledged publishes at most
    report_s: float = 60.0  # period of the counter line (real seconds)
    client_id: str | None = None  # MQTT client id (persistent session: keep it stable per site)
    task_lookback: timedelta = timedelta(hours=24)  # a new queue file answers the unanswered Tasks this old


@dataclass
class SiteParts:
    """What commissioning and the site file give the runtime."""

    streams: Mapping[str, StreamRef]
    capabilities: Mapping[str, CapabilityRef] = field(default_factory=dict)
    polls: Sequence[Poll] = ()
    plugins: Sequence[Plugin] = ()
    status_streams: Mapping[str, str] = field(default_factory=dict)
    ack_streams: Mapping[str, str] = field(default_factory=dict)  # capability -> accepted/refused stream key


class SiteRuntime:
    def __init__(self, clock: Clock, settings: ClientSettings, parts: SiteParts, options: RuntimeOptions) -> None:
        self.clock = clock
        self.settings = settings
        self.parts = parts
        self.options = options
        self.outbox = Outbox(options.queue_path, options.bound, options.synchronous)
        self.ledger = TaskLedger(self.outbox.connection)
        self.host = Host(clock, self.outbox, self.ledger, parts.streams, parts.polls, parts.plugins,
                         parts.status_streams, parts.ack_streams)
        self.session = MqttSession(settings, options.client_id)
        self.northbound = Northbound(self.outbox, SessionPublisher(self.session), window=options.window)
        self.host.wake_northbound = self.northbound.wake
        self.intake: TaskIntake | None = None

    async def run(self) -> None:
        """Rebuild the plug-ins' state from the ledger first, so no new Task overtakes it."""
        # creationTime is the server's (wall) time, whatever the site's clock says
        pruned = self.ledger.forget_older_than(datetime.now(UTC) - LEDGER_RETENTION)
        if pruned:
            log.info("forgot %d handled Tasks older than %s", pruned, LEDGER_RETENTION)
        await self.host.rebuild()
        self.session.start()
        async with AsyncStaClient(self.settings) as http:
            self.intake = TaskIntake(self._capabilities(), HttpTaskQuery(http), self.ledger, self.host.handle_task,
                                     restore=self.host.restore_task, lookback=self.options.task_lookback)
            if self.intake.topics:
                SessionPublisher(self.session).subscribe(self.intake.topics, self.intake.notify)
            try:
                async with asyncio.TaskGroup() as group:
                    group.create_task(self.northbound.run(), name="north-bound")
                    group.create_task(self.host.run(rebuild=False), name="host")
                    if self.intake.topics:
                        group.create_task(self.intake.run(), name="task intake")
                    group.create_task(self._report(), name="counters")
            finally:
                self.log_counters()
                self.session.close()
                self.outbox.close()

    def _capabilities(self) -> dict[str, CapabilityRef]:
        """The capabilities with the server ids of the site's acknowledgement Datastreams (Task ids
        are unique on the server, so an acknowledgement in any of them names its Task)."""
        streams = [self.parts.streams.get(key) for key in self.parts.ack_streams.values()]
        ids = tuple(sorted({stream.id for stream in streams if stream is not None and not stream.multi}))
        return {key: replace(ref, ack_streams=ids) for key, ref in self.parts.capabilities.items()}

    async def _report(self) -> None:
        while True:
            await asyncio.sleep(self.options.report_s)
            self.log_counters()

    def log_counters(self) -> None:
        queue, north, host = self.outbox.counters, self.northbound.counters, self.host.counters
        log.info("counters: queued=%d sent=%d acked=%d replayed=%d refused=%d unrouted=%d dropped=%d pending=%d "
                 "polls=%d poll_failures=%d tasks=%d task_failures=%d cycles=%d cycle_failures=%d",
                 queue.queued, north.sent, north.acked, north.replayed, north.refused, north.unrouted,
                 queue.dropped + host.full_queue_drops,  # the oldest for the bound, or new ones on a full disk
                 self.outbox.rows, host.polls, host.poll_failures, host.tasks, host.task_failures,
                 host.cycles, host.cycle_failures)
