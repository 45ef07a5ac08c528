"""One GESSCon Thing per radial, with authentication on (sta_process_auth): the Things commissioned by
`python -m controllers.gesscon commission` (which prints their ids) and labelled `radial:R1` and `radial:R2`;
an operator granted radial:R1 reads R1's status and commands R1, and reaches nothing of R2 — not by id,
`$filter`, `$expand` from the shared ObservedProperties or Sensor, nor a Task on R2's capability. A Task on
R1's capability that names R2 is refused by the command desk, answered on R1's Thing."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from controllers.gesscon.command_desk import CommandDesk
from controllers.gesscon.gesscon_thing import GessconIds, commission_gesscon
from controllers.gesscon.status import StatusWriter, iso
from sta_client import Query, StaClient, StaError, entity_path, string_literal
from tests.client.conftest import (  # noqa: F401 (fixtures)
    ADMIN,
    ADMIN_PASSWORD,
    RunningServer,
    client_auth_database_url,
    sta_process_auth,
    sta_secure_broker,
)
from tests.conftest import ROOT

NOW = datetime(2026, 6, 21, 12, tzinfo=UTC)
PASSWORD = "ops-secret"  # noqa: S105 (a test user)


@dataclass(frozen=True)
class Radials:
    r1: str
    r2: str
    things: dict[str, GessconIds]
    operator: str


@pytest.fixture(scope="module")
def radials(sta_process_auth: RunningServer) -> Radials:  # noqa: F811
    tag = uuid.uuid4().hex[:6]
    r1, r2 = f"R1-{tag}", f"R2-{tag}"
    env = dict(os.environ, GESSCON_RADIALS=f"{r1},{r2}", STA_CLIENT_BASE_URL=sta_process_auth.base_url,
               STA_CLIENT_USERNAME=ADMIN, STA_CLIENT_PASSWORD=ADMIN_PASSWORD, S4G_CLOCK="real")
    done = subprocess.run([sys.executable, "-m", "controllers.gesscon", "commission"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)  # what an orchestrator labels
    with StaClient(sta_process_auth.settings()) as admin:
        things = commission_gesscon(admin, [r1, r2], latitude=56.8, longitude=8.9)  # idempotent: found again
        assert printed == {r: ids.thing for r, ids in things.items()}
        status = StatusWriter(admin, {r: ids.streams for r, ids in things.items()})
        for radial, soc in ((r1, 41.0), (r2, 77.0)):
            status.write("essOverview", radial, NOW, [{"ess": f"ess-{radial}", "socPct": soc}])
            status.write("radialSolution", radial, NOW, "economic")
    for radial, thing in printed.items():
        sta_process_auth.admin_cli("label", "add", str(thing), "--label", f"radial:{radial}")
    operator = f"ops-{tag}"
    sta_process_auth.admin_cli("user", "add", operator, "--role", "grid_operator", "--grant", f"radial:{r1}",
                               "--password-stdin", stdin=PASSWORD + "\n")
    return Radials(r1, r2, things, operator)


@pytest.fixture(scope="module")
def operator(sta_process_auth: RunningServer, radials: Radials) -> Iterator[StaClient]:  # noqa: F811
    with StaClient(sta_process_auth.settings(username=radials.operator, password=PASSWORD)) as client:
        yield client


def _status(code: int, call: Any) -> None:
    with pytest.raises(StaError) as refused:
        call()
    assert refused.value.status == code


def test_each_radial_has_its_own_thing_streams_and_capability(sta_process_auth: RunningServer,  # noqa: F811
                                                             radials: Radials) -> None:
    one, two = radials.things[radials.r1], radials.things[radials.r2]
    assert len({one.thing, two.thing}) == 2 and len({one.capability, two.capability}) == 2
    assert not set(one.streams.values()) & set(two.streams.values())
    with StaClient(sta_process_auth.settings()) as admin:
        thing = admin.get(entity_path("Things", one.thing))
    assert thing["name"] == f"GESSCon {radials.r1}"
    assert thing["properties"] == {"kind": "controller", "key": "gesscon", "radialId": radials.r1}


def test_an_operator_of_r1_reads_r1_and_nothing_of_r2(operator: StaClient, radials: Radials) -> None:
    one, two = radials.things[radials.r1], radials.things[radials.r2]
    [overview] = operator.iter(entity_path("Datastreams", one.streams["essOverview"], "Observations"))
    assert overview["result"] == [{"ess": f"ess-{radials.r1}", "socPct": 41.0}]
    _status(404, lambda: operator.get(entity_path("Things", two.thing)))
    _status(404, lambda: operator.get(entity_path("Datastreams", two.streams["essOverview"])))
    _status(404, lambda: operator.get(entity_path("TaskingCapabilities", two.capability)))
    ours = f"properties/radialId in ({string_literal(radials.r1)}, {string_literal(radials.r2)})"
    things = list(operator.iter("Things", Query().filter(f"properties/key eq 'gesscon' and {ours}")))
    assert [t["@iot.id"] for t in things] == [one.thing]
    by_parameter = Query().filter(f"parameters/radialId eq {string_literal(radials.r2)}")
    assert list(operator.iter("Observations", by_parameter)) == []
    deep = Query().expand("Observations", Query().select("result", "parameters"))
    through = [*operator.iter("ObservedProperties", Query().filter("definition eq 'urn:s4g:op:gesscon-essOverview'")
                              .expand("Datastreams", deep)),
               *operator.iter("Sensors", Query().filter("name eq 'gesscon'").expand("Datastreams", deep))]
    streams = {d["@iot.id"]: d for entity in through for d in entity.get("Datastreams", [])}
    assert one.streams["essOverview"] in streams and set(streams) <= set(one.streams.values())
    seen = [o for d in streams.values() for o in d.get("Observations", [])]
    assert seen and all(o["parameters"]["radialId"] == radials.r1 for o in seen)


def test_an_operator_of_r1_commands_r1_only(sta_process_auth: RunningServer, operator: StaClient,  # noqa: F811
                                            radials: Radials) -> None:
    one, two = radials.things[radials.r1], radials.things[radials.r2]
    body = {"radialId": radials.r1, "solution": "peak_shaving", "startTime": iso(NOW + timedelta(hours=1))}
    accepted = operator.create_task(one.capability, body)
    aimed = operator.create_task(one.capability, {**body, "radialId": radials.r2})
    _status(404, lambda: operator.create_task(two.capability, {**body, "radialId": radials.r2}))
    with StaClient(sta_process_auth.settings()) as admin:
        desk = CommandDesk(admin, StatusWriter(admin, {r: ids.streams for r, ids in radials.things.items()}),
                           {r: ids.capability for r, ids in radials.things.items()})
        assert desk.take(NOW) == 2
        assert list(admin.iter(entity_path("TaskingCapabilities", two.capability, "Tasks"))) == []
        assert list(admin.iter(entity_path("Datastreams", two.streams["commandAccepted"], "Observations"))) == []
    answers = {o["parameters"]["taskId"]: (o["result"], o["parameters"]["reason"]) for o in operator.iter(
        entity_path("Datastreams", one.streams["commandAccepted"], "Observations"))}
    assert answers == {accepted: (True, "accepted"),
                       aimed: (False, f"wrong-radial: this capability commands radial {radials.r1}, "
                                      f"the Task names {radials.r2}")}
    assert [c.radial_id for c in desk.accepted] == [radials.r1]
