"""Paging, CreateObservations, `$batch`, SenML packs and typed errors against a real server."""
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from sta_client import AsyncStaClient, BadRequest, BatchItem, Datastream, NotFound, Query, StaClient, entity_path
from sta_client.senml import pack_from_tuples
from tests.client.bodies import WATT, datastream, location, make_datastream, unique
from tests.client.conftest import RunningServer

T0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def sta(sta_process: RunningServer) -> Iterator[StaClient]:
    with StaClient(sta_process.settings()) as client:
        yield client


def _times(n: int) -> list[str]:
    return [(T0 + timedelta(minutes=i)).isoformat().replace("+00:00", "Z") for i in range(n)]


def test_create_observations_and_paging_over_next_links(sta: StaClient) -> None:
    stream = make_datastream(sta)
    ids = sta.create_observations(stream, ["phenomenonTime", "result"], [[t, i] for i, t in enumerate(_times(25))])
    assert len(ids) == 25 and all(isinstance(i, int) for i in ids)
    path = entity_path("Datastreams", stream, "Observations")
    first = sta.page(path, Query().top(10).orderby("phenomenonTime"))
    assert len(first.values) == 10 and first.next_link is not None
    results = [row["result"] for row in sta.iter(path, Query().top(10).orderby("phenomenonTime"))]
    assert results == list(range(25))


def test_create_observations_reports_bad_rows(sta: StaClient) -> None:
    stream = make_datastream(sta)
    ids = sta.create_observations(stream, ["phenomenonTime", "result"],
                                  [[_times(1)[0], 1], ["not a time", 2], [_times(2)[1], 3]])
    assert isinstance(ids[0], int) and ids[1] == "error" and isinstance(ids[2], int)


def test_async_client_pages_the_same(sta_process: RunningServer, sta: StaClient) -> None:
    stream = make_datastream(sta)
    sta.create_observations(stream, ["phenomenonTime", "result"], [[t, i] for i, t in enumerate(_times(7))])

    async def read() -> list[int]:
        async with AsyncStaClient(sta_process.settings()) as client:
            query = Query().top(3).orderby("phenomenonTime").select("result")
            return [row["result"] async for row in client.iter(entity_path("Datastreams", stream, "Observations"),
                                                                 query)]
    assert asyncio.run(read()) == list(range(7))


def test_json_batch_with_references_and_change_set(sta: StaClient) -> None:
    name = unique("Batch thing")
    responses = sta.batch([
        BatchItem("POST", "Things", {"name": name, "description": "d"}, id="t"),
        BatchItem("GET", "$t?$select=name", depends_on=("t",)),
        BatchItem("POST", "Things", {"name": unique("ok"), "description": "d"}, atomicity_group="g"),
        BatchItem("POST", "Things", {"description": "no name"}, atomicity_group="g"),
    ])
    statuses = [r["status"] for r in responses]
    assert statuses[:2] == [201, 200] and responses[1]["body"] == {"name": name}
    assert 400 in statuses[2:] and 424 in statuses[2:]


def test_senml_pack_is_stored_by_name_and_unit(sta: StaClient) -> None:
    device = unique("house").replace(" ", "-")
    stream = make_datastream(sta, properties={"senmlName": f"{device}/P_Akku"})
    pack = pack_from_tuples([(f"{device}/P_Akku", "W", -1200.0, T0), (f"{device}/P_Akku", "W", -1100.0,
                                                                      T0 + timedelta(seconds=60))])
    assert pack[0]["bn"] == f"{device}/" and pack[1]["t"] == 60
    report = sta.post_senml(pack)
    assert len(report.accepted) == 2 and report.rejected == []
    refused = sta.post_senml(pack_from_tuples([(f"{device}/unknown", "W", 1.0, T0)]))
    assert refused.accepted == [] and len(refused.rejected) == 1
    rows = list(sta.iter(entity_path("Datastreams", stream, "Observations"), Query().orderby("phenomenonTime")))
    assert [row["result"] for row in rows] == [-1200.0, -1100.0]


def test_errors_are_typed_with_the_servers_body(sta: StaClient) -> None:
    with pytest.raises(NotFound) as missing:
        sta.get("Things(999999999)")
    assert missing.value.status == 404 and missing.value.body["error"]["message"]
    with pytest.raises(BadRequest) as bad:
        sta.get("Things", Query().filter("name eq"))
    assert bad.value.code and bad.value.body["error"]["code"] == bad.value.code
    with pytest.raises(BadRequest) as incomplete:
        sta.create("Datastreams", {**datastream().to_json(), "unitOfMeasurement": None})
    assert incomplete.value.status == 400


def test_apply_aggregates_on_the_server(sta: StaClient) -> None:
    stream = make_datastream(sta)
    sta.create_observations(stream, ["phenomenonTime", "result"], [[t, i] for i, t in enumerate(_times(120))])
    hourly_average = "groupby((bucket(phenomenonTime,'PT1H','UTC')),aggregate(result with average as avg))"
    hourly = sta.page(entity_path("Datastreams", stream, "Observations"), Query().apply(hourly_average))
    assert [row["avg"] for row in hourly.values] == [29.5, 89.5]


def test_async_client_has_the_same_operations(sta_process: RunningServer) -> None:
    async def run() -> None:
        async with AsyncStaClient(sta_process.settings()) as sta:
            thing_id = await sta.create("Things", {"name": unique("async"), "description": "d",
                                                   "Locations": [location().to_json()]})
            stream = await sta.create("Datastreams", datastream(thing_id))
            assert (await sta.get_entity(Datastream, stream)).unit_of_measurement == WATT
            ids = await sta.create_observations(stream, ["phenomenonTime", "result"], [[_times(1)[0], 4]])
            await sta.patch(entity_path("Observations", ids[0]), {"result": 5})
            assert (await sta.get(entity_path("Observations", ids[0])))["result"] == 5
            responses = await sta.batch([BatchItem("DELETE", f"Observations({ids[0]})")])
            assert responses[0]["status"] == 200
            await sta.delete(entity_path("Datastreams", stream))
            with pytest.raises(NotFound):
                await sta.get(entity_path("Datastreams", stream))
    asyncio.run(run())
