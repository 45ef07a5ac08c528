"""The job queue as a state machine (pure, no I/O, no threads): Tasks come in as jobs, one runs at a
time, the others wait in creation order; a cancel takes a waiting job out at once and asks a running
one to stop (the study checks between steps).

    queued ──start──▶ running ──▶ done | failed | cancelled
      └──cancel──▶ cancelled          rejected (parameters the engine cannot run)"""
from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from simulation.whatif.request import RequestError, StudyRequest, parse_request
from sta_client import EntityId

JobState = Literal["queued", "running", "done", "failed", "cancelled", "rejected"]
FINAL: frozenset[str] = frozenset({"done", "failed", "cancelled", "rejected"})


@dataclass
class Job:
    task_id: EntityId
    request: StudyRequest | None
    state: JobState
    reason: str = ""
    cancel: threading.Event = field(default_factory=threading.Event)
    resume: bool = False  # found unfinished when the engine started: continue its study Thing if it has one


class JobQueue:
    def __init__(self) -> None:
        self.jobs: dict[EntityId, Job] = {}
        self._waiting: list[EntityId] = []
        self.running: Job | None = None

    def submit(self, task_id: EntityId, parameters: Mapping[str, Any], resume: bool = False) -> Job:
        """A new job: queued, or rejected with the reason (a Task seen twice is the same job)."""
        if task_id in self.jobs:
            return self.jobs[task_id]
        try:
            job = Job(task_id, parse_request(parameters), "queued", resume=resume)
            self._waiting.append(task_id)
        except RequestError as err:
            job = Job(task_id, None, "rejected", str(err))
        self.jobs[task_id] = job
        return job

    def position(self, task_id: EntityId) -> int | None:
        """1 for the next job to run, None when not waiting."""
        return self._waiting.index(task_id) + 1 if task_id in self._waiting else None

    def cancel(self, task_id: EntityId) -> Job | None:
        """A waiting job is cancelled now; a running one is asked to stop (it ends `cancelled` when the
        study sees it); a finished or unknown one: None (nothing to do)."""
        job = self.jobs.get(task_id)
        if job is None or job.state in FINAL:
            return None
        job.cancel.set()
        if job.state == "queued":
            self._waiting.remove(task_id)
            job.state, job.reason = "cancelled", "cancelled before it started"
        return job

    def start_next(self) -> Job | None:
        if self.running is not None or not self._waiting:
            return None
        job = self.jobs[self._waiting.pop(0)]
        job.state = "running"
        self.running = job
        return job

    def finish(self, job: Job, state: JobState, reason: str = "") -> None:
        job.state, job.reason = state, reason
        if self.running is job:
            self.running = None
