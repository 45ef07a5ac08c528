"""Commissioning runs at the same time (a restart while the old process still commissions, two
boxes with one site file) leave one entity per key; what slipped through is retired by the next run."""
from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime

from agents.commissioning import commission
from agents.site import SiteSpec
from sta_client import StaClient, entity_path
from tests.agents.commission.conftest import Counted, example_site
from tests.client.conftest import RunningServer, client_database_url, sta_broker, sta_process  # noqa: F401 (fixtures)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _live_keys(client: StaClient, site: SiteSpec, entity_set: str) -> Counter[str]:
    """Keys of the site's live (not retired) entities of a set, counted."""
    path = "Things" if entity_set == "Things" else f"{entity_set}"
    found: Counter[str] = Counter()
    for entity in client.iter(path):
        properties = entity.get("properties") or {}
        if properties.get("siteId") == site.id and not properties.get("retired"):
            found[properties["key"]] += 1
    return found


def test_three_runs_at_once_create_each_entity_once(sta_process: RunningServer) -> None:  # noqa: F811
    site = example_site("fur-house")
    start = threading.Barrier(3)
    errors: list[BaseException] = []

    def run() -> None:
        with StaClient(sta_process.settings()) as client:
            start.wait()
            try:
                commission(site, client, NOW)
            except BaseException as error:  # reported below, not swallowed
                errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    with StaClient(sta_process.settings()) as client:
        for entity_set in ("Things", "Datastreams", "MultiDatastreams", "TaskingCapabilities"):
            counts = _live_keys(client, site, entity_set)
            assert counts and set(counts.values()) == {1}, (entity_set, counts)


def test_a_duplicate_stream_is_retired_and_gives_up_its_senml_name(sta: Counted) -> None:
    site = example_site("fur-house")
    ids = commission(site, sta.client, NOW)
    original = sta.client.get(entity_path("Datastreams", ids.datastreams["P_ess"]))
    thing_id = ids.things[next(device.key for device, stream in site.datastreams() if stream.key == "P_ess")]
    copy = {name: original[name] for name in ("name", "description", "unitOfMeasurement", "observationType",
                                              "properties")}
    links = sta.client.get(entity_path("Datastreams", ids.datastreams["P_ess"]), None)
    sensor = sta.client.get(entity_path("Datastreams", links["@iot.id"], "Sensor"))
    observed = sta.client.get(entity_path("Datastreams", links["@iot.id"], "ObservedProperty"))
    duplicate = sta.client.create("Datastreams", {**copy, "Thing": {"@iot.id": thing_id},
                                                  "Sensor": {"@iot.id": sensor["@iot.id"]},
                                                  "ObservedProperty": {"@iot.id": observed["@iot.id"]}})
    again = commission(site, sta.client, NOW)
    assert again == ids  # the older stream is the one kept
    retired = sta.client.get(entity_path("Datastreams", duplicate))["properties"]
    assert retired["retired"] is True and "senmlName" not in retired
    assert retired["retiredSenmlName"] == original["properties"]["senmlName"]
    sta.client.post_senml([{"bn": f"{site.id}/", "bt": NOW.timestamp(), "n": "P_ess", "u": "W", "v": 700.0}])
    stored = list(sta.client.iter(entity_path("Datastreams", ids.datastreams["P_ess"], "Observations")))
    assert [observation["result"] for observation in stored] == [700.0]
    assert commission(site, sta.client, NOW) == ids
