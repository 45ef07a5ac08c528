"""Status Observations on the GESSCon Things, one per radial (T5/T8): pure payloads, one thin writer."""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from controllers.gesscon.replan import EssCheck, ReplanPolicy, deviates, is_stale
from sta_client.paths import EntityId, entity_path

log = logging.getLogger(__name__)


class StatusServer(Protocol):
    def create(self, path: str, body: Any, idempotency_key: str | None = None) -> EntityId: ...


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ess_overview(checks: Sequence[EssCheck], policy: ReplanPolicy, unavailable: frozenset[str]) -> list[dict[str, Any]]:
    """One entry per ESS: SoC measured and planned, its age, the Task's answer, the states the GUI shows."""
    return [{"ess": c.key, "socPct": c.soc_pct, "plannedSocPct": None if c.planned_soc_pct is None
             else round(c.planned_soc_pct, 2), "socAgeS": None if c.soc_age_s is None else round(c.soc_age_s, 1),
             "task": c.ack.value, "reachable": not is_stale(c, policy), "deviating": deviates(c, policy),
             "available": c.key not in unavailable} for c in checks]


class StatusWriter:
    """Writes a radial's status on that radial's own Datastreams (`streams[radial][key]`)."""

    def __init__(self, sta: StatusServer, streams: Mapping[str, Mapping[str, EntityId]]) -> None:
        self.sta = sta
        self.streams = streams

    def write(self, key: str, radial_id: str, at: datetime, result: Any, **parameters: Any) -> EntityId:
        body = {"phenomenonTime": iso(at), "resultTime": iso(at), "result": result,
                "parameters": {"radialId": radial_id, **parameters}}
        return self.sta.create(entity_path("Datastreams", self.streams[radial_id][key], "Observations"), body)
