"""What the professional pages read from the server, as the logged-in user (gui.auth.sta()).

Thin: each function is one or two queries through `sta_client`, returning plain records; the row-level
security of the server decides what the user sees, so nothing here filters by role.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gui.professional.schedule import parse_time
from sta_client import Query, StaClient, string_literal

JSON = dict[str, Any]
MAX_THINGS = 2000
SITE_KEYS = ("P_grid", "SoC", "P_ess", "essStatus", "cpStatus", "status", "erStatus")
VOLTAGE_KEYS = ("V_grid",)
LATEST = Query().orderby("phenomenonTime desc").top(1).select("phenomenonTime", "result", "parameters")


@dataclass(frozen=True)
class Latest:
    """A stream and its newest Observation."""

    stream_id: int
    multi: bool  # a MultiDatastream (its topic is MultiDatastreams(id)/Observations)
    key: str
    name: str
    unit: str
    thing_id: int
    thing_properties: JSON
    properties: JSON
    time: datetime | None
    result: Any
    parameters: JSON = field(default_factory=dict)
    recent: tuple[JSON, ...] = ()  # the newest Observations read, newest first (the first is `result`)

    @property
    def site_id(self) -> str | None:
        value = self.thing_properties.get("siteId")
        return value if isinstance(value, str) else None

    @property
    def topic(self) -> str:
        kind = "MultiDatastreams" if self.multi else "Datastreams"
        return f"v1.1/{kind}({self.stream_id})/Observations"


def read_things_geojson(client: StaClient) -> JSON:
    query = Query().select("id", "name", "properties").orderby("id").top(MAX_THINGS).result_format("GeoJSON")
    return client.get("Things", query)


def _in(keys: Iterable[str]) -> str:
    return "properties/key in (" + ", ".join(string_literal(key) for key in keys) + ")"


def _latest(row: Mapping[str, Any], multi: bool) -> Latest:
    observations = row.get("Observations") or []
    newest = observations[0] if observations else {}
    unit = row.get("unitOfMeasurement") or {}
    if multi:
        units = row.get("unitOfMeasurements") or []
        unit = units[0] if units else {}
    thing = row.get("Thing") or {}
    time = newest.get("phenomenonTime")
    return Latest(int(row["@iot.id"]), multi, str((row.get("properties") or {}).get("key") or row.get("name")),
                  str(row.get("name") or ""), str(unit.get("symbol") or ""), int(thing.get("@iot.id", 0)),
                  dict(thing.get("properties") or {}), dict(row.get("properties") or {}),
                  parse_time(time) if isinstance(time, str) else None, newest.get("result"),
                  dict(newest.get("parameters") or {}), tuple(observations))


def _streams(client: StaClient, entity_set: str, query: Query, newest: int = 1) -> list[Latest]:
    query = query.expand("Thing", Query().select("id", "properties")).expand("Observations", LATEST.top(newest))
    return [_latest(row, entity_set == "MultiDatastreams") for row in client.iter(entity_set, query)]


def read_latest(client: StaClient, keys: Sequence[str] = SITE_KEYS,
                voltage_keys: Sequence[str] = VOLTAGE_KEYS) -> list[Latest]:
    """The newest value of every visible stream with one of these keys (Datastreams and MultiDatastreams)."""
    common = ("id", "name", "properties")
    found = _streams(client, "Datastreams", Query().filter(_in(keys)).select(*common, "unitOfMeasurement"))
    return found + _streams(client, "MultiDatastreams",
                            Query().filter(_in(voltage_keys)).select(*common, "unitOfMeasurements"))


def read_history(client: StaClient, key: str, newest: int) -> list[Latest]:
    """Every visible Datastream with this key and its `newest` Observations (in `recent`, newest first)."""
    query = Query().filter(_in([key])).select("id", "name", "properties", "unitOfMeasurement")
    return _streams(client, "Datastreams", query, newest)


def read_thing_streams(client: StaClient, thing_id: int, newest: int = 1) -> list[Latest]:
    """Every Datastream of one Thing with its newest value (and up to `newest` recent Observations)."""
    query = Query().select("id", "name", "properties", "unitOfMeasurement").orderby("id")
    return _streams(client, f"Things({thing_id})/Datastreams", query, newest)


def read_things(client: StaClient, kinds: Sequence[str]) -> list[JSON]:
    """Things of these kinds (`properties.kind`), with their TaskingCapabilities."""
    kinds_filter = "properties/kind in (" + ", ".join(string_literal(k) for k in kinds) + ")"
    query = (Query().filter(kinds_filter).select("id", "name", "description", "properties").orderby("id")
             .expand("TaskingCapabilities", Query().select("id", "name", "description", "properties",
                                                           "taskingParameters")))
    return list(client.iter("Things", query))


def read_thing(client: StaClient, thing_id: int) -> JSON:
    query = (Query().select("id", "name", "description", "properties")
             .expand("TaskingCapabilities", Query().select("id", "name", "properties", "taskingParameters")))
    return client.get(f"Things({thing_id})", query)


def read_capability(client: StaClient, capability_id: int) -> JSON:
    query = Query().select("id", "name", "description", "properties", "taskingParameters").expand(
        "Thing", Query().select("id", "name", "properties"))
    return client.get(f"TaskingCapabilities({capability_id})", query)


def read_tasks(client: StaClient, capability_id: int, top: int = 10) -> list[JSON]:
    """The newest Tasks of a capability, newest first."""
    query = Query().orderby("creationTime desc", "id desc").top(top).select("id", "creationTime",
                                                                          "taskingParameters")
    return list(client.page(f"TaskingCapabilities({capability_id})/Tasks", query).values)


def read_series(client: StaClient, datastream_id: int, since: datetime | None, until: datetime | None,
                top: int = 5000) -> list[tuple[datetime, Any]]:
    """(phenomenonTime, result) of a Datastream between two instants (the newest `top` when unbounded)."""
    query = Query().select("phenomenonTime", "result").top(top)
    bounds = []
    if since is not None:
        bounds.append(f"phenomenonTime ge {since.isoformat().replace('+00:00', 'Z')}")
    if until is not None:
        bounds.append(f"phenomenonTime le {until.isoformat().replace('+00:00', 'Z')}")
    if bounds:
        query = query.filter(" and ".join(bounds)).orderby("phenomenonTime")
    else:
        query = query.orderby("phenomenonTime desc")
    rows = client.page(f"Datastreams({datastream_id})/Observations", query).values
    series = [(parse_time(row["phenomenonTime"]), row["result"]) for row in rows]
    return sorted(series, key=lambda pair: pair[0])


CLOSED_LOOP = "dsf-se"  # `properties.managedBy` of the closed-loop simulation's streams (simulation/entities.py)


def read_simulated_grid(client: StaClient) -> list[JSON]:
    """The closed-loop simulation's Datastreams (not the what-if studies'), each with its newest
    Observation and that Observation's FeatureOfInterest (the bus or line geometry)."""
    newest = (Query().orderby("phenomenonTime desc").top(1).select("phenomenonTime", "result")
              .expand("FeatureOfInterest", Query().select("feature")))
    query = (Query().filter(f"Thing/properties/kind eq 'simulation' and properties/managedBy eq "
                            f"{string_literal(CLOSED_LOOP)}").select("id", "properties").orderby("id")
             .expand("Observations", newest))
    return list(client.iter("Datastreams", query))


def read_answers(client: StaClient, task_ids: Sequence[int]) -> list[JSON]:
    """The visible Observations that answer these Tasks (`parameters.taskId`, a number or its text)."""
    if not task_ids:
        return []
    numbers = ", ".join(str(int(task_id)) for task_id in task_ids)
    texts = ", ".join(string_literal(str(int(task_id))) for task_id in task_ids)
    query = (Query().filter(f"parameters/taskId in ({numbers}) or parameters/taskId in ({texts})")
             .select("phenomenonTime", "result", "parameters").orderby("phenomenonTime desc").top(1000))
    return list(client.page("Observations", query).values)


def read_studies(client: StaClient, top: int = 50) -> list[JSON]:
    """The newest what-if studies (one Thing per job), newest first."""
    query = (Query().filter("properties/kind eq 'simulation' and properties/role eq 'whatif-study'")
             .select("id", "name", "properties").orderby("id desc").top(top))
    return list(client.page("Things", query).values)


def read_engines(client: StaClient) -> list[JSON]:
    """Simulation Things offering capabilities (the what-if engine), with them."""
    return [thing for thing in read_things(client, ("simulation",)) if thing.get("TaskingCapabilities")]
