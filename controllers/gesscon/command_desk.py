"""The aggregator's commands as the GESSCon takes them (I/O around controllers/aggregator's pure rule):
read the `radial_service` Tasks, answer each new one on `commandAccepted` (`parameters.taskId`, `reason`),
and keep the accepted ones for `solution_at`. Stateless across restarts: a Task with an answer on the server
is not answered again, and the accepted ones are rebuilt from the answers."""
from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any, Protocol

from controllers.aggregator import Command, CommandRefused, Solution, judge, parse_command
from controllers.gesscon.server_reads import parse_time
from controllers.gesscon.status import StatusWriter
from sta_client.paths import EntityId, entity_path
from sta_client.query import Query

log = logging.getLogger(__name__)
SUPPORTED = (Solution.ECONOMIC, Solution.PEAK_SHAVING)  # what the LP models (controllers/gesscon/inputs.py)
RECENT = 500


class Reader(Protocol):
    def iter(self, path: str, query: Query | None = None) -> Iterable[dict[str, Any]]: ...


class CommandDesk:
    def __init__(self, sta: Reader, status: StatusWriter, capability: EntityId, radials: Collection[str]) -> None:
        self.sta = sta
        self.status = status
        self.capability = capability
        self.radials = set(radials)
        self.accepted: list[Command] = []
        self.answered: set[str] = set()

    def _answers(self) -> dict[str, bool]:
        query = Query().orderby("id desc").top(RECENT).select("result", "parameters")
        rows = self.sta.iter(entity_path("Datastreams", self.status.streams["commandAccepted"], "Observations"), query)
        return {str((r.get("parameters") or {}).get("taskId")): r["result"] is True for r in rows}

    def take(self, now: datetime) -> int:
        """Answer the new command Tasks (oldest first); how many were answered."""
        query = Query().orderby("id desc").top(RECENT).select("id", "taskingParameters", "creationTime")
        tasks = sorted(self.sta.iter(entity_path("TaskingCapabilities", self.capability, "Tasks"), query),
                       key=lambda t: (str(t.get("creationTime")), str(t["@iot.id"]).rjust(20)))
        answers = self._answers() if not self.answered else {}
        fresh = 0
        for task in tasks:
            task_id = task["@iot.id"]
            created = parse_time(str(task.get("creationTime") or "1970-01-01T00:00:00Z"))
            if str(task_id) in self.answered:
                continue
            try:
                command: Command | None = parse_command(task_id, task.get("taskingParameters") or {}, created)
            except CommandRefused as refused:
                command, accepted, reason = None, False, str(refused)
            if str(task_id) in answers:  # answered before a restart: rebuild only
                self.answered.add(str(task_id))
                if command is not None and answers[str(task_id)]:
                    self.accepted.append(command)
                continue
            if command is not None:
                verdict = judge(command, radials=self.radials, supported=SUPPORTED, now=now, accepted=self.accepted)
                accepted, reason = verdict.accepted, verdict.reason
                if accepted:
                    self.accepted.append(command)
            radial = command.radial_id if command else str((task.get("taskingParameters") or {}).get("radialId"))
            self.status.write("commandAccepted", radial, now, accepted, taskId=task_id, reason=reason)
            self.answered.add(str(task_id))
            fresh += 1
            (log.info if accepted else log.warning)("command Task %s: %s", task_id, reason)
        return fresh
