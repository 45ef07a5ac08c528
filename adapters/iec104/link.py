"""The SCADA link as a plug-in of the site process (structurally an agents.plugin.Plugin, without importing
agents): each cycle copies the site's latest readings into the outstation's points and publishes the link's
status on change; a SCADA command becomes a Task of the site's capability (through sta_client, highest
priority), so it reaches the ESS agent like any other Task and is answered, read back and observed.

Options (plug-in `iec104`): `host` (127.0.0.1; 0.0.0.0 to face a real SCADA), `port` (2404), `cycle_s` (2),
`status_key` (a category Datastream for the link's status, e.g. `scadaLink`; none: log only),
`command_timeout_s` (5: Task creation within this, else a negative confirmation), and the point map
(variables.py).
"""
from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Collection, Mapping
from typing import Any, Protocol

from adapters.connector import Reading
from adapters.iec104.commands import CommandRefused, ScadaCommand, task_parameters
from adapters.iec104.outstation import Outstation
from adapters.iec104.tasks import TaskSink
from adapters.iec104.variables import PointMap, monitor_value, point_map
from clock import Clock

log = logging.getLogger(__name__)


class DataSet(Protocol):
    """The part of the host's SiteContext the link uses."""

    @property
    def clock(self) -> Clock: ...

    def latest(self, datastream: str) -> Reading | None: ...

    def publish(self, reading: Reading, *, event: bool = False) -> None: ...


class ScadaLink:
    def __init__(self, points: PointMap, tasks: TaskSink, host: str = "127.0.0.1", port: int = 2404,
                 period_s: float = 2.0, status_key: str | None = None, command_timeout_s: float = 5.0) -> None:
        self.points, self.tasks, self.status_key = points, tasks, status_key
        self.command_timeout_s = command_timeout_s
        self._period_s = period_s
        self.outstation = Outstation(points, host, port, self._command, self._event)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clock: Clock | None = None
        self._events: collections.deque[str] = collections.deque(maxlen=100)
        self._connected: bool | None = None
        self.tasks_created: list[Any] = []

    @property
    def name(self) -> str:
        return "iec104"

    @property
    def period_s(self) -> float:
        return self._period_s

    @property
    def capabilities(self) -> Collection[str]:
        return ()  # it makes Tasks; it answers none

    async def on_task(self, task: object, site: object) -> list[Reading]:
        return []

    async def cycle(self, site: DataSet) -> None:
        if self._loop is None:
            self._loop, self._clock = asyncio.get_running_loop(), site.clock
            self.outstation.start()
        now = site.clock.now()
        for point in self.points.monitors:
            reading = site.latest(point.key)
            value = None if reading is None else monitor_value(point, reading.value)
            if value is not None and reading is not None:
                self.outstation.update(point.ioa, value, reading.time)
        connected = self.outstation.connections > 0
        if connected != self._connected:
            self._connected = connected
            self._events.append("SCADA connected" if connected else "no SCADA connection")
        while self._events:
            text = self._events.popleft()
            log.log(logging.INFO if text.startswith(("SCADA connected", "task")) else logging.WARNING,
                    "iec104: %s", text)
            if self.status_key:
                site.publish(Reading(self.status_key, text, now), event=True)

    def close(self) -> None:
        self.outstation.stop()

    def _event(self, text: str) -> None:  # c104's thread
        self._events.append(text)

    def _command(self, command: ScadaCommand) -> bool:  # c104's thread: wait for the Task's creation
        if self._loop is None:
            return False
        future = asyncio.run_coroutine_threadsafe(self._take(command), self._loop)
        try:
            return future.result(self.command_timeout_s)
        except Exception as error:  # a timeout or the server refusing: a negative confirmation
            future.cancel()
            self._events.append(f"refused ioa {command.ioa}: task not created: {type(error).__name__} {error}")
            return False

    async def _take(self, command: ScadaCommand) -> bool:
        point = self.points.command(command.ioa)
        assert point is not None and self._clock is not None  # c104 routes only mapped addresses here
        try:
            parameters = task_parameters(point, command, self._clock.now(), self.points.priority)
        except CommandRefused as error:
            self._events.append(f"refused {error}")
            return False
        task_id = await self.tasks.create(point.capability, parameters)
        self.tasks_created.append(task_id)
        self._events.append(f"task {task_id} on {point.capability} from ioa {command.ioa}: {parameters}")
        return True


def build_scada_link(site_id: str, options: Mapping[str, Any], tasks: TaskSink) -> ScadaLink:
    status = options.get("status_key")
    return ScadaLink(point_map(options), tasks, str(options.get("host", "127.0.0.1")), int(options.get("port", 2404)),
                     float(options.get("cycle_s", 2.0)), str(status) if status else None,
                     float(options.get("command_timeout_s", 5.0)))
