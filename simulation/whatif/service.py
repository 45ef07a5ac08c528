"""The thin runner of what-if jobs, on the project clock: it commissions the engine (a `simulation`
Thing with an Actuator, the "what-if study" and "what-if cancel" TaskingCapabilities, and its
`progress` and `status` Datastreams), polls new Tasks, keeps the queue (jobs.py) and runs one study at a
time in a worker thread. On start it takes back the jobs a stopped engine left without a final status, in
creation order, continuing a running one from its study Thing's checkpoint (results.py). Every state change
is a `status` Observation (result: the state; parameters: taskId, reason, queue position, the study's Thing,
`resumedAtStep` when continued), progress a `progress` Observation in %."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from clock import Clock
from simulation.whatif import registry
from simulation.whatif.jobs import FINAL, Job, JobQueue, JobState
from simulation.whatif.request import CANCEL_PARAMETERS, STUDY_PARAMETERS
from simulation.whatif.results import ResultWriter
from simulation.whatif.streams import PROGRESS, STATUS, datastream_body
from simulation.whatif.study import Cancelled, Study
from sta_client import ClientSettings, EntityId, Query, StaClient, StaError, TransportError, literal

log = logging.getLogger(__name__)
ROLE = "whatif-engine"


@dataclass(frozen=True)
class Engine:
    thing_id: EntityId
    study_capability: EntityId
    cancel_capability: EntityId
    progress_stream: EntityId
    status_stream: EntityId


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class WhatIfService:
    def __init__(self, client: ClientSettings, clock: Clock, name: str = "DSF-SE what-if engine",
                 position: tuple[float, float] = (11.3548, 46.4983), flush_every: int = 96) -> None:
        self.client, self.clock, self.name, self.position = client, clock, name, position
        self.flush_every = flush_every
        self.queue = JobQueue()
        self.engine: Engine | None = None
        self.last_task: int = 0
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None

    # -- commissioning ----------------------------------------------------------------------------
    def commission(self) -> Engine:
        """Find (by name and role) or create the engine's Thing, capabilities and Datastreams."""
        with StaClient(self.client) as sta:
            query = Query().filter(f"name eq {literal(self.name)} and properties/role eq {literal(ROLE)}")
            query = query.select("id").top(1)
            found = sta.page("Things", query).values
            thing_id = found[0]["@iot.id"] if found else self._create_engine(sta)
            capabilities = {row["properties"]["key"]: row["@iot.id"] for row in sta.iter(
                f"Things({thing_id})/TaskingCapabilities", Query().select("id", "properties"))}
            streams = {row["properties"]["key"]: row["@iot.id"] for row in sta.iter(
                f"Things({thing_id})/Datastreams", Query().select("id", "properties"))}
            self.engine = Engine(thing_id, capabilities["whatif_study"], capabilities["whatif_cancel"],
                                 streams[PROGRESS.key_prefix], streams[STATUS.key_prefix])
            latest = sta.page(f"Datastreams({self.engine.status_stream})/Observations",
                              Query().orderby("id desc").select("parameters").top(1)).values
            if latest:
                self.last_task = int((latest[0].get("parameters") or {}).get("taskId", 0))
            self._recover(sta)
        log.info("what-if engine %s: Thing %s, Tasks after %s", self.name, self.engine.thing_id, self.last_task)
        return self.engine

    def _recover(self, sta: StaClient) -> None:
        """Queue again, in creation order, every study Task whose last status is not final (the engine stopped
        while it was queued or running); each continues from its study Thing's checkpoint when it has one."""
        assert self.engine is not None
        latest: dict[int, str] = {}
        for row in sta.iter(f"Datastreams({self.engine.status_stream})/Observations",
                            Query().orderby("id").select("result", "parameters").top(10000)):
            task_id = (row.get("parameters") or {}).get("taskId")
            if isinstance(task_id, int):
                latest[task_id] = str(row["result"])
        self.last_task = max([self.last_task, *latest])  # the latest status may be an older Task's
        for task_id in sorted(task for task, state in latest.items() if state not in FINAL):
            try:
                task = sta.get(f"Tasks({task_id})", Query().select("id", "taskingParameters"))
            except StaError as err:
                log.warning("what-if %s: unfinished, but its Task cannot be read (%s): left", task_id, err)
                continue
            with self._lock:
                job = self.queue.submit(task_id, task.get("taskingParameters") or {}, resume=True)
            log.info("what-if %s: unfinished when the engine stopped (%s): queued again", task_id, latest[task_id])
            if job.state == "rejected":
                self.report(sta, job, job.state)

    def _create_engine(self, sta: StaClient) -> EntityId:
        sensor = registry.sensor(sta)
        properties = registry.observed_properties(sta, [PROGRESS, STATUS])
        actuator = {"name": f"{self.name} job runner", "description": "runs what-if studies",
                    "encodingType": "text/plain", "metadata": "python -m simulation.whatif"}
        lon, lat = self.position
        return sta.create("Things", {
            "name": self.name, "description": "S4G DSF-SE: what-if studies on SimBench grids",
            "properties": {"kind": "simulation", "role": ROLE},
            "Locations": [{"name": self.name, "description": "where the engine's results belong",
                           "encodingType": "application/geo+json",
                           "location": {"type": "Point", "coordinates": [lon, lat]}}],
            "Datastreams": [datastream_body(kind, kind.key_prefix, f"{self.name} {kind.key_prefix}", sensor,
                                            properties) for kind in (PROGRESS, STATUS)],
            "TaskingCapabilities": [
                {"name": "what-if study", "description": "run a what-if study (grid, period, penetrations, "
                 "placement, control mode)", "properties": {"key": "whatif_study"},
                 "taskingParameters": STUDY_PARAMETERS, "Actuator": actuator},
                {"name": "what-if cancel", "description": "cancel a queued or running what-if study",
                 "properties": {"key": "whatif_cancel"}, "taskingParameters": CANCEL_PARAMETERS,
                 "Actuator": {"name": f"{self.name} job canceller", "description": "cancels what-if studies",
                              "encodingType": "text/plain", "metadata": "python -m simulation.whatif"}}]})

    # -- observations -----------------------------------------------------------------------------
    def _observe(self, sta: StaClient, stream: EntityId, result: Any, parameters: dict[str, Any]) -> None:
        now = _iso(self.clock.now())
        sta.create(f"Datastreams({stream})/Observations",
                   {"phenomenonTime": now, "resultTime": now, "result": result, "parameters": parameters})

    def report(self, sta: StaClient, job: Job, state: JobState, **extra: Any) -> None:
        assert self.engine is not None
        parameters = {"taskId": job.task_id, **({"reason": job.reason} if job.reason else {}), **extra}
        self._observe(sta, self.engine.status_stream, state, parameters)
        log.info("what-if %s: %s %s", job.task_id, state, job.reason)

    # -- intake -----------------------------------------------------------------------------------
    def poll(self) -> None:
        """Read the Tasks created since the last poll (both capabilities, in id order) and act on them."""
        assert self.engine is not None
        with StaClient(self.client) as sta:
            tasks: list[tuple[int, EntityId, dict[str, Any]]] = []
            for capability in (self.engine.study_capability, self.engine.cancel_capability):
                query = Query().filter(f"id gt {self.last_task}").orderby("id").select("id", "taskingParameters")
                tasks += [(int(row["@iot.id"]), capability, row.get("taskingParameters") or {})
                          for row in sta.iter(f"TaskingCapabilities({capability})/Tasks", query.top(1000))]
            for task_id, capability, parameters in sorted(tasks, key=lambda task: task[0]):
                self._take(sta, task_id, capability, parameters)
                self.last_task = max(self.last_task, task_id)

    def _take(self, sta: StaClient, task_id: int, capability: EntityId, parameters: dict[str, Any]) -> None:
        assert self.engine is not None
        with self._lock:
            if capability == self.engine.cancel_capability:
                target = parameters.get("taskId")
                job = self.queue.cancel(target) if isinstance(target, int) else None
                if job is None:
                    log.info("what-if cancel %s: Task %s is not queued or running", task_id, target)
                elif job.state == "cancelled":
                    self.report(sta, job, "cancelled", cancelTask=task_id)
                return
            if task_id in self.queue.jobs:  # taken back at start (_recover): already reported
                return
            job = self.queue.submit(task_id, parameters)
            position = self.queue.position(task_id)
        self.report(sta, job, job.state, **({"position": position} if position is not None else {}))

    # -- running ----------------------------------------------------------------------------------
    def start_next(self) -> Job | None:
        """Start the next waiting job in a worker thread, unless one is running."""
        with self._lock:
            job = self.queue.start_next()
        if job is not None:
            self._worker = threading.Thread(target=self._run, args=(job,), name=f"whatif-{job.task_id}", daemon=True)
            self._worker.start()
        return job

    @property
    def busy(self) -> bool:
        return self.queue.running is not None

    def _run(self, job: Job) -> None:
        assert job.request is not None and self.engine is not None
        with StaClient(self.client) as sta:
            state: JobState = "failed"
            reason = ""
            try:
                state, reason = self._study(sta, job)
            except Exception as err:  # noqa: BLE001 (a worker thread: any failure is the job's, reported)
                log.exception("what-if %s failed", job.task_id)
                reason = f"{type(err).__name__}: {err}"
            with self._lock:
                self.queue.finish(job, state, reason)
            try:
                self.report(sta, job, state)
            except (StaError, TransportError):
                log.exception("what-if %s: the final status (%s) could not be written", job.task_id, state)

    def _study(self, sta: StaClient, job: Job) -> tuple[JobState, str]:
        assert job.request is not None and self.engine is not None
        study = Study(job.request)
        writer = ResultWriter(sta, study, job.task_id, self.clock.now(), self.flush_every)
        found = self._study_thing(sta, job.task_id) if job.resume else None
        start = 0
        if found is None:
            thing = writer.open()
            self.report(sta, job, "running", thing=thing)
        else:
            start, state = writer.resume(found)
            if state is not None:
                study.restore(state)
            thing = found["@iot.id"]
            self.report(sta, job, "running", thing=thing, resumedAtStep=start)
        progress_stream = self.engine.progress_stream

        def progress(done: int, total: int) -> None:
            if done % self.flush_every == 0 or done == total:
                self._observe(sta, progress_stream, round(100.0 * done / total, 2),
                              {"taskId": job.task_id, "steps": done, "of": total})

        try:
            kpis = study.run(writer.add, job.cancel.is_set, progress, start)
        except Cancelled as stop:
            writer.finish("cancelled", None)
            return "cancelled", str(stop)
        except Exception:
            with contextlib.suppress(StaError, TransportError):
                writer.finish("failed", None)
            raise
        writer.finish("done", kpis)
        return "done", ""

    @staticmethod
    def _study_thing(sta: StaClient, task_id: EntityId) -> dict[str, Any] | None:
        query = Query().filter(f"properties/role eq 'whatif-study' and properties/taskId eq {task_id}")
        rows = sta.page("Things", query.select("id", "properties").orderby("id desc").top(1)).values
        return rows[0] if rows else None

    def wait_idle(self, timeout_s: float) -> bool:
        """Join the worker (tests, shutdown); True when no job runs any more."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout_s)
        return not self.busy

    async def serve(self, poll_s: float, stop: asyncio.Event | None = None) -> None:
        """Poll and start jobs every `poll_s` seconds of the clock until `stop` is set."""
        while self.engine is None and (stop is None or not stop.is_set()):
            try:
                await asyncio.to_thread(self.commission)
            except StaError as err:  # the server not there yet: try again
                log.warning("what-if engine: commissioning failed: %s", err)
                await self.clock.sleep(poll_s)
        while stop is None or not stop.is_set():
            try:
                await asyncio.to_thread(self.poll)
            except StaError as err:  # the server away (TransportError included): try again next round
                log.warning("what-if engine: polling Tasks failed: %s", err)
            self.start_next()
            await self.clock.sleep(poll_s)
