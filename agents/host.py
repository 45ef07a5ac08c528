"""The SMX plug-in host: one asyncio process per site, all on the site's clock.

It polls every connector every `telemetry_s` of the clock, puts the readings in the shared data set
and the durable queue, runs each plug-in's `cycle` every `period_s`, hands Tasks to the plug-in that
owns their capability (its acknowledgement readings and the ledger's "handled" mark in one local
transaction) and routes plug-ins' `Command`s to connectors. A failing connector is logged, counted,
reported on its status Datastream and retried with back-off; it never stops the others.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from adapters.connector import Command, CommandResult, Connector, Reading
from agents.dataset import DataSet
from agents.observation_messages import StreamRef, UnknownStream, encode_readings, iso_time
from agents.outbox import Kind, Outbox, OutboxFull
from agents.plugin import Plugin, TaskMessage
from agents.task_ledger import TaskLedger
from clock import Clock

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 300.0


@dataclass(frozen=True)
class Poll:
    """A connector and how often it is read (clock seconds)."""

    connector: Connector
    telemetry_s: float = 10.0


@dataclass
class HostCounters:
    polls: int = 0
    poll_failures: int = 0
    readings: int = 0
    unknown_streams: int = 0
    cycles: int = 0
    cycle_failures: int = 0
    tasks: int = 0
    task_failures: int = 0
    commands: int = 0
    command_failures: int = 0
    full_queue_drops: int = 0
    failing: dict[str, int] = field(default_factory=dict)  # device → consecutive failures


class Host:
    """Implements `SiteContext` for its plug-ins."""

    def __init__(self, clock: Clock, outbox: Outbox, ledger: TaskLedger, streams: Mapping[str, StreamRef],
                 polls: Sequence[Poll], plugins: Sequence[Plugin],
                 status_streams: Mapping[str, str] | None = None,
                 ack_streams: Mapping[str, str] | None = None) -> None:
        self._clock = clock
        self.outbox = outbox
        self.ledger = ledger
        self.streams = dict(streams)
        self.polls = list(polls)
        self.plugins = list(plugins)
        self.status_streams = dict(status_streams or {})
        self.ack_streams = dict(ack_streams or {})  # capability -> its accepted/refused Datastream key
        self.dataset = DataSet()
        self.counters = HostCounters()
        self.connectors = {poll.connector.device: poll.connector for poll in self.polls}
        self.owners = {capability: plugin for plugin in self.plugins for capability in plugin.capabilities}
        self.wake_northbound: Callable[[], None] = lambda: None  # the north-bound's wake()
        self._reported: dict[str, str] = {}  # device -> the status last published

    # --- SiteContext -------------------------------------------------------------------------

    @property
    def clock(self) -> Clock:
        return self._clock

    def latest(self, datastream: str) -> Reading | None:
        return self.dataset.latest(datastream)

    def publish(self, reading: Reading, *, event: bool = False) -> None:
        """A plug-in's reading: a measurement (droppable under pressure) unless it is an `event`
        (a mode change: kept whatever the bound)."""
        self.accept([reading], Kind.EVENT if event else Kind.MEASUREMENT)

    async def command(self, command: Command) -> CommandResult:
        connector = self.connectors.get(command.device)
        self.counters.commands += 1
        if connector is None:
            self.counters.command_failures += 1
            return CommandResult(False, f"no connector for device {command.device!r}")
        try:
            return await connector.write(command)
        except Exception as error:  # a device fault must reach the plug-in as a refusal
            self.counters.command_failures += 1
            log.warning("command to %s failed: %s", command.device, error)
            return CommandResult(False, f"device error: {error}")

    # --- readings into the data set and the queue ---------------------------------------------

    def accept(self, readings: Sequence[Reading], kind: Kind = Kind.MEASUREMENT,
               task: TaskMessage | None = None) -> None:
        """Into the data set, and into the queue (durable on return); with `task`, its ledger mark
        goes in the same transaction."""
        self.dataset.update(readings)
        known = [reading for reading in readings if reading.datastream in self.streams]
        if len(known) < len(readings):
            self.counters.unknown_streams += len(readings) - len(known)
            log.debug("readings of unknown Datastream keys left out: %s",
                      sorted({r.datastream for r in readings} - set(self.streams)))
        try:
            messages = encode_readings(known, self.streams, kind)
        except UnknownStream as error:  # cannot happen after the filter; kept for the type checker
            raise AssertionError(error) from error
        try:
            self.outbox.put(messages, also=self.ledger.marker(task) if task is not None else None)
        except OutboxFull:
            if kind is Kind.ACKNOWLEDGEMENT:
                raise  # the Task stays unmarked and is answered after the disk has room again
            self.counters.full_queue_drops += len(known)
            if self.counters.full_queue_drops == len(known) or self.counters.full_queue_drops % 1000 < len(known):
                log.error("queue full: new %ss dropped (%d so far)", kind.value, self.counters.full_queue_drops)
            return
        self.counters.readings += len(known)
        if log.isEnabledFor(logging.DEBUG):  # what is durable from here on (the kill -9 test reads it)
            for reading in known:
                log.debug("accepted %s %s %r", reading.datastream, iso_time(reading.time), reading.value)
        self.wake_northbound()

    # --- the loops ------------------------------------------------------------------------------

    async def run(self, rebuild: bool = True) -> None:
        if rebuild:
            await self.rebuild()
        async with asyncio.TaskGroup() as group:
            for poll in self.polls:
                group.create_task(self._poll_loop(poll), name=f"poll {poll.connector.device}")
            for plugin in self.plugins:
                group.create_task(self._cycle_loop(plugin), name=f"plug-in {plugin.name}")

    async def rebuild(self) -> None:
        """Hand the recently handled Tasks to their plug-ins again; their readings are dropped."""
        for task in self.ledger.recent():
            plugin = self.owners.get(task.capability)
            if plugin is not None:
                try:
                    await plugin.on_task(task, self)
                except Exception:  # a plug-in's bug must not stop the site
                    log.exception("plug-in %s failed to rebuild from Task %s", plugin.name, task.task_id)

    async def restore_task(self, task: TaskMessage) -> None:
        """A Task the server shows answered (by this site before its queue file was lost): to its
        plug-in for state only, its readings dropped, marked handled."""
        plugin = self.owners.get(task.capability)
        if plugin is not None:
            try:
                await plugin.on_task(task, self)
            except Exception:  # a plug-in's bug must not stop the site
                log.exception("plug-in %s failed to rebuild from Task %s", plugin.name, task.task_id)
        self.ledger.mark(task)
        log.info("Task %s of %s was answered before this queue file: state rebuilt, not answered again",
                 task.task_id, task.capability)

    async def handle_task(self, task: TaskMessage) -> None:
        """A new Task: to its plug-in; acknowledgements queued and the Task marked handled at once."""
        plugin = self.owners.get(task.capability)
        if plugin is None:
            log.error("Task %s of capability %s: no plug-in takes it", task.task_id, task.capability)
            self.counters.task_failures += 1
            return
        try:
            readings = await plugin.on_task(task, self)
        except Exception as error:  # a plug-in's bug must not stop the site, nor leave the Task unanswered
            self.counters.task_failures += 1
            log.exception("plug-in %s failed on Task %s: answered accepted=false", plugin.name, task.task_id)
            readings = self._refusal(task, f"internal: {type(error).__name__}: {error}")
        try:
            self.accept(readings, Kind.ACKNOWLEDGEMENT, task=task)
        except OutboxFull:
            self.counters.task_failures += 1
            log.error("Task %s: no room to queue its answer; taken again later", task.task_id)
            return
        self.counters.tasks += 1

    def _refusal(self, task: TaskMessage, reason: str) -> list[Reading]:
        key = self.ack_streams.get(task.capability)
        if key is None:
            log.error("Task %s: capability %s has no acknowledgement stream; marked handled unanswered",
                      task.task_id, task.capability)
            return []
        return [Reading(key, False, self._clock.now(), {"taskId": task.task_id, "reason": reason})]

    async def _poll_loop(self, poll: Poll) -> None:
        connector, started = poll.connector, False
        due = self._clock.now()
        while True:
            try:
                if not started:
                    await connector.start()
                    started = True
                readings = await connector.read()
            except Exception as error:  # any device fault: count, report, back off, retry
                started = await self._failed(connector, error, started)
                failures = self.counters.failing[connector.device]
                await self._clock.sleep(min(poll.telemetry_s * 2 ** min(failures - 1, 10), MAX_BACKOFF_S))
                due = self._clock.now()
                continue
            self.counters.polls += 1
            self.counters.failing.pop(connector.device, None)
            self.accept(readings)
            self._status(connector.device, "ok")
            due = _next_due(due, poll.telemetry_s, self._clock.now())
            await self._clock.sleep_until(due)

    async def _failed(self, connector: Connector, error: Exception, started: bool) -> bool:
        self.counters.poll_failures += 1
        failures = self.counters.failing.get(connector.device, 0) + 1
        self.counters.failing[connector.device] = failures
        log.warning("device %s: %s (failure %d in a row)", connector.device, error, failures)
        self._status(connector.device, f"unreachable: {error}")
        if started:
            try:
                await connector.stop()
            except Exception as stop_error:  # already broken; a fresh start follows
                log.debug("device %s: stop after failure: %s", connector.device, stop_error)
        return False

    def _status(self, device: str, text: str) -> None:
        """A device's status reading, when it changed."""
        key = self.status_streams.get(device)
        if key is not None and self._reported.get(device) != text:
            self._reported[device] = text
            self.accept([Reading(key, text, self._clock.now())], Kind.EVENT)

    async def _cycle_loop(self, plugin: Plugin) -> None:
        due = self._clock.now()
        while True:
            try:
                await plugin.cycle(self)
                self.counters.cycles += 1
            except Exception:  # one plug-in's bug must not stop the others
                self.counters.cycle_failures += 1
                log.exception("plug-in %s: cycle failed", plugin.name)
            due = _next_due(due, plugin.period_s, self._clock.now())
            await self._clock.sleep_until(due)


def _next_due(previous: datetime, period_s: float, now: datetime) -> datetime:
    """The next slot of a fixed grid: late slots are skipped, never bunched."""
    due = previous + timedelta(seconds=period_s)
    if due <= now:
        missed = int((now - due).total_seconds() // period_s) + 1
        due += timedelta(seconds=period_s * missed)
    return due
