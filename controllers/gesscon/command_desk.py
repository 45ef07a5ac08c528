"""The aggregator's commands as the GESSCon takes them (I/O around controllers/aggregator's pure rule):
read the `radial_service` Tasks of every radial's own capability, answer each new one on that radial's
`commandAccepted` (`parameters.taskId`, `reason`), and keep the accepted ones for `solution_at`. A Task on
radial R's capability that names another radial is refused ("wrong-radial"): a command reaches a radial only
through that radial's Thing, which the server shows only to users granted it. Stateless across restarts: a
Task with an answer on the server is not answered again, and the accepted ones are rebuilt from the answers."""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from controllers.aggregator import Command, CommandRefused, Solution, judge, parse_command
from controllers.gesscon.server_reads import parse_time
from controllers.gesscon.status import StatusWriter
from sta_client.paths import EntityId, entity_path
from sta_client.query import Query

log = logging.getLogger(__name__)
SUPPORTED = tuple(Solution)  # each is a term of the LP (planning/inputs.py Objective)
RECENT = 500


class Reader(Protocol):
    def iter(self, path: str, query: Query | None = None) -> Iterable[dict[str, Any]]: ...


def wrong_radial(capability_radial: str, named: str) -> str:
    return f"wrong-radial: this capability commands radial {capability_radial}, the Task names {named}"


class CommandDesk:
    def __init__(self, sta: Reader, status: StatusWriter, capabilities: Mapping[str, EntityId]) -> None:
        """`capabilities`: radial id -> that radial's `radial_service` TaskingCapability."""
        self.sta = sta
        self.status = status
        self.capabilities = dict(capabilities)
        self.accepted: list[Command] = []
        self.answered: set[str] = set()
        self.read_answers = False

    def _answers(self) -> dict[str, bool]:
        query = Query().orderby("id desc").top(RECENT).select("result", "parameters")
        found: dict[str, bool] = {}
        for radial in self.capabilities:
            stream = self.status.streams[radial]["commandAccepted"]
            for row in self.sta.iter(entity_path("Datastreams", stream, "Observations"), query):
                found[str((row.get("parameters") or {}).get("taskId"))] = row["result"] is True
        return found

    def _tasks(self) -> list[tuple[str, dict[str, Any]]]:
        """(radial of the capability, Task), oldest first over all radials."""
        query = Query().orderby("id desc").top(RECENT).select("id", "taskingParameters", "creationTime")
        tasks = [(radial, task) for radial, capability in self.capabilities.items()
                 for task in self.sta.iter(entity_path("TaskingCapabilities", capability, "Tasks"), query)]
        return sorted(tasks, key=lambda t: (str(t[1].get("creationTime")), str(t[1]["@iot.id"]).rjust(20)))

    def take(self, now: datetime) -> int:
        """Answer the new command Tasks (oldest first); how many were answered."""
        tasks = self._tasks()
        answers = {} if self.read_answers else self._answers()
        self.read_answers = True
        fresh = 0
        for radial, task in tasks:
            task_id = task["@iot.id"]
            if str(task_id) in self.answered:
                continue
            created = parse_time(str(task.get("creationTime") or "1970-01-01T00:00:00Z"))
            parameters = task.get("taskingParameters") or {}
            try:
                command: Command | None = parse_command(task_id, parameters, created)
            except CommandRefused as refused:
                command, accepted, reason = None, False, str(refused)
            if command is not None and command.radial_id != radial:
                accepted, reason = False, wrong_radial(radial, command.radial_id)
                command = None
            if str(task_id) in answers:  # answered before a restart: rebuild only
                self.answered.add(str(task_id))
                if command is not None and answers[str(task_id)]:
                    self.accepted.append(command)
                continue
            if command is not None:
                verdict = judge(command, radials={radial}, supported=SUPPORTED, now=now, accepted=self.accepted)
                accepted, reason = verdict.accepted, verdict.reason
                if accepted:
                    self.accepted.append(command)
            # the answer goes on the Thing whose capability was tasked, whatever radial the Task names
            self.status.write("commandAccepted", radial, now, accepted, taskId=task_id, reason=reason)
            self.answered.add(str(task_id))
            fresh += 1
            (log.info if accepted else log.warning)("radial %s, command Task %s: %s", radial, task_id, reason)
        return fresh
