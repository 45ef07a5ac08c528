"""Schedule Tasks on the server (I/O): the ones already there for a period, creating the missing ones under
deterministic idempotency keys, and what each ESS answered (`setpointAccepted` with `parameters.taskId`)."""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from controllers.gesscon.replan import AckState
from controllers.gesscon.server_reads import parse_time
from sta_client.paths import EntityId, entity_path
from sta_client.query import Query

log = logging.getLogger(__name__)
RECENT_TASKS = 100


class TaskServer(Protocol):
    def iter(self, path: str, query: Query | None = None) -> Iterable[dict[str, Any]]: ...

    def create_task(self, capability_id: EntityId, parameters: Mapping[str, Any], key: str | None = None
                    ) -> EntityId: ...


def task_key(radial_id: str, ess_key: str, parameters: Mapping[str, Any]) -> str:
    """The same radial, ESS and parameters give the same key: a re-run cannot store a second copy."""
    digest = hashlib.sha256(json.dumps(parameters, sort_keys=True).encode()).hexdigest()[:16]
    return f"gesscon:{radial_id}:{ess_key}:{parameters.get('startTime')}:{digest}"


def existing_task(sta: TaskServer, capability: EntityId, since: datetime, until: datetime
                  ) -> tuple[EntityId, Mapping[str, Any]] | None:
    """The newest Task of `capability` whose `startTime` lies in [since, until), with its parameters."""
    query = Query().orderby("id desc").top(RECENT_TASKS).select("id", "taskingParameters")
    for row in sta.iter(entity_path("TaskingCapabilities", capability, "Tasks"), query):
        parameters = row.get("taskingParameters") or {}
        start = parameters.get("startTime")
        try:
            moment = parse_time(str(start))
        except ValueError:
            continue
        if moment.tzinfo is not None and since <= moment < until:
            return row["@iot.id"], parameters
    return None


def create_schedule_task(sta: TaskServer, capability: EntityId, radial_id: str, ess_key: str,
                         parameters: Mapping[str, Any]) -> EntityId:
    task = sta.create_task(capability, parameters, key=task_key(radial_id, ess_key, parameters))
    log.info("radial %s: schedule Task %s for %s from %s", radial_id, task, ess_key, parameters.get("startTime"))
    return task


def ack_state(sta: TaskServer, ack_stream: EntityId | None, task: EntityId) -> tuple[AckState, str | None]:
    """accepted / refused (with the ESS's reason) / pending."""
    if ack_stream is None:
        return AckState.PENDING, None
    query = (Query().filter(f"parameters/taskId eq {task}").orderby("phenomenonTime desc").top(1)
             .select("result", "parameters"))
    for row in sta.iter(entity_path("Datastreams", ack_stream, "Observations"), query):
        reason = (row.get("parameters") or {}).get("reason")
        return (AckState.ACCEPTED if row["result"] is True else AckState.REFUSED), reason
    return AckState.PENDING, None
