"""Aggregator commands against a real server: Tasks on the GESSCon's `radial_service` capability are
answered on `commandAccepted` (accepted / refused with a reason / overriding), answered once across a
restart, and a new solution in force re-plans the radial with it."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from controllers.aggregator.capability import radial_service
from controllers.gesscon.status import iso
from sta_client import StaClient
from sta_client.errors import ClientError
from tests.client.conftest import RunningServer
from tests.controllers.gesscon.radial_builder import Radial, acknowledge, build_radial, post_soc, tasks
from tests.controllers.gesscon.test_loop_server import BEFORE, DAY, MIN, gesscon


@pytest.fixture
def sta(sta_process: RunningServer) -> Iterator[StaClient]:
    with StaClient(sta_process.settings()) as client:
        yield client


@pytest.fixture
def radial(sta: StaClient) -> Radial:
    built = build_radial(sta, DAY, BEFORE - timedelta(hours=2))
    for ids in built.ess.values():
        post_soc(sta, ids, BEFORE - MIN, 50.0)
    return built


def command(radial_id: str, solution: str = "peak_shaving", start: datetime = DAY, hours: int | None = None,
            action: str = "start") -> dict[str, Any]:
    body = {"radialId": radial_id, "solution": solution, "action": action, "startTime": iso(start)}
    return body if hours is None else {**body, "stopTime": iso(start + timedelta(hours=hours))}


def answers(sta: StaClient, stream: Any) -> dict[Any, tuple[bool, str]]:
    rows = sta.iter(f"Datastreams({stream})/Observations", None)
    return {r["parameters"]["taskId"]: (r["result"], r["parameters"]["reason"]) for r in rows}


def test_commands_are_accepted_refused_or_override_with_their_reason(sta: StaClient, radial: Radial) -> None:
    loop, ids = gesscon(sta, radial)
    r = radial.radial_id
    made = {name: sta.create_task(ids.capability, body) for name, body in [
        ("peak", command(r, "peak_shaving", DAY, 24)),
        ("unknown", command("no-such-feeder")),
        ("voltage", command(r, "voltage_control", DAY + timedelta(hours=12), 2)),
        ("backwards", {**command(r), "stopTime": iso(DAY - timedelta(hours=1))}),
        ("economic", command(r, "economic", DAY + timedelta(hours=17), 4))]}
    assert loop.desk.take(BEFORE) == 5
    got = answers(sta, ids.streams["commandAccepted"])
    assert got[made["peak"]] == (True, "accepted")
    assert got[made["unknown"]] == (False, f"wrong-radial: this capability commands radial {r}, "
                                           "the Task names no-such-feeder")
    assert got[made["voltage"]] == (True, f"accepted: overrides task(s) {made['peak']} where their spans overlap")
    assert got[made["backwards"]][0] is False and got[made["backwards"]][1].startswith("wrong-time: ")
    assert got[made["economic"]] == (True, f"accepted: overrides task(s) {made['peak']} where their spans overlap")
    assert [loop.solution(r, DAY + timedelta(hours=h)).value for h in (1, 13, 18, 22)] == [
        "peak_shaving", "voltage_control", "economic", "peak_shaving"]
    restarted, _ = gesscon(sta, radial)  # answers rebuilt from the server, none written twice
    assert restarted.desk.take(BEFORE + MIN) == 0 and len(answers(sta, ids.streams["commandAccepted"])) >= 5
    assert restarted.solution(r, DAY + timedelta(hours=18)).value == "economic"


def test_a_new_solution_in_force_replans_the_radial_with_it(sta: StaClient, radial: Radial) -> None:
    loop, ids = gesscon(sta, radial)
    loop.tick(BEFORE)  # planned economic
    for ess in radial.ess.values():
        acknowledge(sta, ess, tasks(sta, ess)[0]["@iot.id"], BEFORE + MIN)
    start = DAY + timedelta(hours=2)
    sta.create_task(ids.capability, command(radial.radial_id, "peak_shaving", start))
    at = start + MIN
    for ess in radial.ess.values():
        post_soc(sta, ess, at - MIN, 50.0)
    loop.desk.take(at)
    replan = loop.check(radial.radial_id, at)
    assert replan is not None and replan.reasons == ("solution-changed",)
    assert all(len(tasks(sta, ess)) == 2 for ess in radial.ess.values())
    solutions = [o["result"] for o in sta.iter(f"Datastreams({ids.streams['radialSolution']})/Observations", None)
                 if o["parameters"]["radialId"] == radial.radial_id]
    assert solutions == ["economic", "peak_shaving"]
    assert loop.check(radial.radial_id, at + MIN) is None
    stop = sta.create_task(ids.capability, command(radial.radial_id, action="stop", start=at + 2 * MIN))
    loop.desk.take(at + 2 * MIN)
    assert answers(sta, ids.streams["commandAccepted"])[stop][0] is True
    assert loop.check(radial.radial_id, at + 3 * MIN) is not None  # back to economic


def test_a_voltage_command_sets_the_band_of_the_plans_objective(sta: StaClient, radial: Radial) -> None:
    """The band travels in the Task (`exportBand_W`, validated by the server against the capability's
    description); a command without one takes the GESSCon's setting (GESSCON_VOLTAGE_EXPORT_W, here 0 W)."""
    loop, ids = gesscon(sta, radial)
    r = radial.radial_id
    sta.create_task(ids.capability, {**command(r, "voltage_control", DAY, 6), "exportBand_W": 42_000})
    sta.create_task(ids.capability, command(r, "voltage_control", DAY + timedelta(hours=6), 6))
    assert loop.desk.take(BEFORE) == 2
    banded, default, economic = (loop.objective(r, DAY + timedelta(hours=h)) for h in (1, 7, 13))
    assert (banded.solution.value, banded.voltage_export_w) == ("voltage_control", 42_000.0)
    assert (default.solution.value, default.voltage_export_w) == ("voltage_control", 0.0)
    assert economic.solution.value == "economic"
    with pytest.raises(ClientError):  # the server refuses a band that is not a number
        sta.create_task(ids.capability, {**command(r, "voltage_control", DAY, 6), "exportBand_W": "high"})


def test_an_older_capability_gets_the_band_fields_when_commissioned_again(sta: StaClient, radial: Radial) -> None:
    _, ids = gesscon(sta, radial)
    current = radial_service()
    old = {**current, "field": [f for f in current["field"] if not f["name"].endswith("Band_W")]}
    sta.patch(f"TaskingCapabilities({ids.capability})", {"taskingParameters": old})
    banded = {**command(radial.radial_id, "voltage_control", DAY, 6), "exportBand_W": 42_000}
    with pytest.raises(ClientError):  # the old description knows no band
        sta.create_task(ids.capability, banded)
    _, again = gesscon(sta, radial)
    assert again.capability == ids.capability
    assert sta.get(f"TaskingCapabilities({ids.capability})")["taskingParameters"] == current
    assert sta.create_task(ids.capability, banded)
