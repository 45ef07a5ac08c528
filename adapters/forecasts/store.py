"""Forecast runs on the server, through `sta_client`: find-or-create the forecast Datastreams,
write runs whole (replacing a re-run), mark a stream stale, read the latest / an earlier run.

Writing a set of runs is one JSON `$batch` atomicity group (one transaction): a DELETE of every
Observation that carries the same `parameters.run` on the same Datastreams (a re-run), then one
`CreateObservations` with a dataArray group per Datastream. Runs are checked whole before anything
is sent (`runs.check_run`); should the server still refuse single rows (CreateObservations keeps the
others), the rows it stored are deleted again in one change set and `ForecastError` is raised, so a
half-written run never stays.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

import pandas as pd

from adapters.forecasts import queries
from adapters.forecasts.rerun import StoredStep, plan_write
from adapters.forecasts.runs import COMPONENTS, ForecastError, ForecastRun, check_run
from adapters.forecasts.streams import StreamSpec
from sta_client.paths import EntityId, entity_path, id_from_link
from sta_client.query import Query, string_literal
from sta_client.requests import BatchItem
from sta_client.responses import Page

log = logging.getLogger(__name__)

OM_MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
SENSOR_NAME = "S4G forecast adapters"


class ForecastServer(Protocol):
    """What the forecasts need of `sta_client.StaClient`."""

    def create(self, path: str, body: Any, idempotency_key: str | None = None) -> EntityId: ...

    def page(self, path: str, query: Query | None = None) -> Page: ...

    def iter(self, path: str, query: Query | None = None) -> Iterator[dict[str, Any]]: ...

    def patch(self, path: str, body: Any) -> None: ...

    def batch(self, items: Sequence[BatchItem]) -> list[dict[str, Any]]: ...


def find_or_create_stream(sta: ForecastServer, thing_id: EntityId, spec: StreamSpec) -> EntityId:
    found = sta.page(entity_path("Things", thing_id, "Datastreams"), queries.by_key(spec.key)).values
    if found:
        return _id(found[0])
    created = sta.create("Datastreams", _stream_body(thing_id, spec, _sensor(sta), _observed_property(sta, spec)))
    log.info("created forecast Datastream %s (%s) on Thing %s", created, spec.key, thing_id)
    return created


def create_streams(sta: ForecastServer, thing_ids: Sequence[EntityId], spec: StreamSpec) -> list[EntityId]:
    """The `spec` Datastream on Things known to lack it: the first created alone (it may create the
    Sensor and ObservedProperty), the others in one `$batch` linking those."""
    if not thing_ids:
        return []
    first = find_or_create_stream(sta, thing_ids[0], spec)
    entity = _links_of(sta, first)
    sensor, observed = {"@iot.id": entity["Sensor"]["@iot.id"]}, {"@iot.id": entity["ObservedProperty"]["@iot.id"]}
    items = [BatchItem("POST", "Datastreams", body=_stream_body(thing, spec, sensor, observed), id=f"s{i}")
             for i, thing in enumerate(thing_ids[1:])]
    answers = sta.batch(items) if items else []
    created = [first]
    for answer in answers:
        location = (answer.get("headers") or {}).get("location")
        if int(answer.get("status", 0)) != 201 or not location:
            raise ForecastError(f"a forecast Datastream was not created: {answer}")
        created.append(id_from_link(str(location)))
    log.info("created %s forecast Datastreams (%s)", len(created), spec.key)
    return created


def _links_of(sta: ForecastServer, datastream_id: EntityId) -> dict[str, Any]:
    query = Query().filter(f"id eq {datastream_id}").expand("Sensor", Query().select("id"))
    return sta.page("Datastreams", query.expand("ObservedProperty", Query().select("id")).select("id")).values[0]


def _stream_body(thing_id: EntityId, spec: StreamSpec, sensor: dict[str, Any],
                 observed: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {"key": spec.key, "forecast": True}
    if spec.sign_convention:
        properties["signConvention"] = spec.sign_convention
    return {"name": spec.name, "description": f"forecast: {spec.name}", "observationType": OM_MEASUREMENT,
            "unitOfMeasurement": {"name": spec.unit_name, "symbol": spec.unit_symbol,
                                  "definition": spec.unit_definition},
            "properties": properties, "Thing": {"@iot.id": thing_id}, "Sensor": sensor, "ObservedProperty": observed}


def find_or_create_forecast_thing(sta: ForecastServer, key: str, name: str,
                                  latitude: float | None = None, longitude: float | None = None) -> EntityId:
    """A `forecast` Thing (weather point, price zone) by `properties.key`. Its Location (a position is
    needed: the server derives each Observation's FeatureOfInterest from it) is added when it is
    known and missing."""
    query = Query().filter(f"properties/kind eq 'forecast' and properties/key eq {string_literal(key)}")
    found = sta.page("Things", query.select("id").expand("Locations", Query().select("id")).top(1)).values
    location = None
    if latitude is not None and longitude is not None:
        location = {"name": name, "description": key, "encodingType": "application/geo+json",
                    "location": {"type": "Point", "coordinates": [longitude, latitude]}}
    if found:
        thing = _id(found[0])
        if location is not None and not found[0].get("Locations"):
            sta.create(entity_path("Things", thing, "Locations"), location)
        return thing
    body: dict[str, Any] = {"name": name, "description": f"forecast source {key}",
                            "properties": {"kind": "forecast", "key": key}}
    if location is not None:
        body["Locations"] = [location]
    return sta.create("Things", body)


def write_runs(sta: ForecastServer, runs: Sequence[tuple[EntityId, ForecastRun]]) -> int:
    """Store runs whole (see module doc); returns the number of steps the runs hold on the server."""
    if not runs:
        return 0
    for _, run in runs:
        check_run(run)
    plan = plan_write(runs, stored_steps(sta, runs))
    if not plan.deletes and not plan.groups:
        log.info("run(s) %s already stored unchanged", sorted({r.run_id for _, r in runs}))
        return sum(len(run.values) for _, run in runs)
    items = [BatchItem("DELETE", f"Observations({oid})", atomicity_group="run") for oid in plan.deletes]
    if plan.groups:
        body = [{"Datastream": {"@iot.id": stream}, "components": list(COMPONENTS), "dataArray": list(rows)}
                for stream, rows in plan.groups]
        items.append(BatchItem("POST", "CreateObservations", body=body, id="create", atomicity_group="run"))
    answers = sta.batch(items)
    links = _created_links(answers) if plan.groups else []
    refused = [link for link in links if link == "error"]
    if refused:
        _remove(sta, [link for link in links if link != "error"])
        raise ForecastError(f"the server refused {len(refused)} of {len(links)} forecast rows; the run was removed")
    if not plan.groups:
        _check_answers(answers)
    log.info("run(s) %s: %s steps created, %s replaced steps deleted", sorted({r.run_id for _, r in runs}),
             len(links), len(plan.deletes))
    return sum(len(run.values) for _, run in runs)


def stored_steps(sta: ForecastServer, runs: Sequence[tuple[EntityId, ForecastRun]]) -> list[StoredStep]:
    """The Observations already on the server under these runs' ids and Datastreams (dataArray pages)."""
    by_run: dict[tuple[str, datetime], list[EntityId]] = {}
    for stream, run in runs:
        by_run.setdefault((run.run_id, run.issued_at), []).append(stream)
    found: list[StoredStep] = []
    for (run_id, issued_at), streams in by_run.items():
        for group in sta.iter("Observations", queries.run_members(run_id, issued_at, streams)):
            stream = id_from_link(str(group.get("Datastream@iot.navigationLink", "")))
            found += [StoredStep(stream, row[0], pd.Timestamp(str(row[1]).split("/")[0]), row[2])
                      for row in group.get("dataArray", [])]
    return found


def mark_stale(sta: ForecastServer, datastream_id: EntityId, since: datetime, reason: str) -> None:
    """Keep the last good run and flag the Datastream: `properties.stale = true`, `staleSince`, `staleReason`."""
    _merge_properties(sta, datastream_id, {"stale": True, "staleSince": since.isoformat(), "staleReason": reason})


def mark_fresh(sta: ForecastServer, datastream_id: EntityId, run_id: str) -> None:
    _merge_properties(sta, datastream_id, {"stale": False, "staleSince": None, "staleReason": None, "lastRun": run_id})


def read_run(sta: ForecastServer, datastream_id: EntityId, issued_at: datetime) -> pd.Series:
    """The steps of the run issued at `issued_at` (index: step start, UTC)."""
    rows = sta.page(entity_path("Datastreams", datastream_id, "Observations"), queries.run_steps(issued_at)).values
    starts = [pd.Timestamp(str(row["phenomenonTime"]).split("/")[0]) for row in rows]
    return pd.Series([float(row["result"]) for row in rows], index=pd.DatetimeIndex(starts, tz="UTC"), dtype="float64")


def read_latest(sta: ForecastServer, datastream_id: EntityId, at_or_before: datetime | None = None
                ) -> tuple[datetime, pd.Series] | None:
    """The latest run (issued at or before `at_or_before` if given): (issue time, steps), or None."""
    query = queries.latest_issue() if at_or_before is None else queries.issue_at_or_before(at_or_before)
    rows = sta.page(entity_path("Datastreams", datastream_id, "Observations"), query).values
    if not rows:
        return None
    issued = pd.Timestamp(rows[0]["resultTime"]).to_pydatetime()
    return issued, read_run(sta, datastream_id, issued)


def _check_answers(answers: list[dict[str, Any]]) -> None:
    failed = [a for a in answers if int(a.get("status", 0)) >= 400]
    if failed:
        raise ForecastError(f"forecast replacement refused, nothing changed: {failed[0]}")


def _created_links(answers: list[dict[str, Any]]) -> list[str]:
    create = next((a for a in answers if a.get("id") == "create"), None)
    if create is None or int(create.get("status", 0)) != 201:
        failed = next((a for a in answers if int(a.get("status", 0)) >= 400), create)
        raise ForecastError(f"forecast write refused, nothing stored: {failed}")
    body = create.get("body")
    if not isinstance(body, list):
        raise ForecastError(f"CreateObservations answered {body!r}")
    return [str(link) for link in body]


def _remove(sta: ForecastServer, links: list[str]) -> None:
    items = [BatchItem("DELETE", f"Observations({id_from_link(link)})", atomicity_group="undo") for link in links]
    if items:
        sta.batch(items)


def _merge_properties(sta: ForecastServer, datastream_id: EntityId, changes: Mapping[str, Any]) -> None:
    path = entity_path("Datastreams", datastream_id)
    current = sta.page("Datastreams", Query().filter(f"id eq {datastream_id}").select("properties")).values
    properties = dict((current[0].get("properties") or {}) if current else {})
    properties.update(changes)
    sta.patch(path, {"properties": {k: v for k, v in properties.items() if v is not None}})


def _sensor(sta: ForecastServer) -> dict[str, Any]:
    found = sta.page("Sensors", Query().filter(f"name eq {string_literal(SENSOR_NAME)}").select("id").top(1)).values
    if found:
        return {"@iot.id": _id(found[0])}
    return {"name": SENSOR_NAME, "description": "DSF adapters: weather, PV, price, load and EV forecasts",
            "encodingType": "text/html", "metadata": "docs/forecasts.md"}


def _observed_property(sta: ForecastServer, spec: StreamSpec) -> dict[str, Any]:
    query = Query().filter(f"definition eq {string_literal(spec.property_uri)}").select("id").top(1)
    found = sta.page("ObservedProperties", query).values
    if found:
        return {"@iot.id": _id(found[0])}
    return {"name": spec.property_name, "definition": spec.property_uri, "description": spec.property_name}


def _id(entity: Mapping[str, Any]) -> EntityId:
    value = entity.get("@iot.id", entity.get("id"))
    if not isinstance(value, int | str):
        raise ForecastError(f"entity without an id: {entity}")
    return value
