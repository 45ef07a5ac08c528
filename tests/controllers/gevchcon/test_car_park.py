"""Issue 18 "Done when" (GEVChCon): a Bolzano-like car park (sites/bolzano-commercial.yaml: five wall boxes,
149 kWp PV, a 75 kWh commercial battery under the LESSAg, a 90 kW contract) runs an evening and a night on
a stepped clock with a real server, the site runtime (LESSAg + LEVChAg) and its simulated devices.
GEVChCon reads the site only through the server and sends a load-reduction Task per charge point every
30 minutes (16:00 to 08:00, 32 cycles); a professional `avoid_overload` command caps the radial at 30 kW
from 17:00 to 07:00 (the fleet's 7.4 kW cars cannot reach the 90 kW contract, so the command is what
binds). The site stays under both, every EV that leaves gets its energy, every Task is acknowledged, and a
bad command is refused."""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import pathlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.simulated.connectors import SimulatedChargePoint
from agents.cli import site_parts
from agents.commissioning import SiteIds, commission
from agents.runtime import RuntimeOptions, SiteRuntime
from agents.site import PluginSpec, SiteSpec, parse_site
from clock import SteppedClock
from controllers.gevchcon.decide import Policy, SiteDecision
from controllers.gevchcon.loop import CycleResult, Gevchcon
from controllers.gevchcon.settings import Settings
from controllers.gevchcon.site_reader import parse_time
from sta_client import EntityId, Query, StaClient
from tests.agents.commission.conftest import site_text
from tests.client.conftest import RunningServer, client_database_url, sta_broker, sta_process  # noqa: F401

log = logging.getLogger(__name__)

RADIAL = "bz-lv-semiurb4-1"
# today (the server makes Observation partitions from the current month on)
START = datetime.now(UTC).replace(hour=16, minute=0, second=0, microsecond=0)
END = START + timedelta(hours=16)  # 08:00 the next morning
COMMAND_START, COMMAND_STOP = START + timedelta(hours=1), START + timedelta(hours=15)
COMMAND_CAP_W, CONTRACT_W = 30_000.0, 90_000.0
STEP_S, LEAD_S, TELEMETRY_S = 1800, 60, 300


def car_park() -> SiteSpec:
    """The Bolzano commercial file under its own id, every device read every 5 minutes, the LESSAg in
    self-consumption and the LEVChAg applying limits every 5 minutes (no IEC 104 outstation)."""
    site = parse_site(site_text("bolzano-commercial"), "car-park")  # under an id of its own
    devices = tuple(d if d.connector is None else dataclasses.replace(
        d, connector=dataclasses.replace(d.connector, options={**d.connector.options, "telemetry_s": TELEMETRY_S}))
        for d in site.devices)
    plugins = (PluginSpec("lessag", {"strategy": "self-consumption", "cycle_s": 60, "device": "ess"}),
               PluginSpec("levchag", {"cycle_s": 300, "horizon_steps": 96}))
    return dataclasses.replace(site, devices=devices, plugins=plugins)


async def until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not await asyncio.to_thread(condition):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.05)


class Server:
    """What the server holds (over HTTP)."""

    def __init__(self, client: StaClient, ids: SiteIds) -> None:
        self.client = client
        self.ids = ids

    def rows(self, stream: EntityId, since: datetime | None = None) -> list[dict[str, Any]]:
        query = Query().select("phenomenonTime", "result", "parameters").orderby("phenomenonTime asc").top(10_000)
        if since is not None:
            query = query.filter(f"phenomenonTime ge {since.strftime('%Y-%m-%dT%H:%M:%SZ')}")
        return list(self.client.iter(f"Datastreams({stream})/Observations", query))

    def has_poll(self, keys: list[str], at: datetime) -> bool:
        """Every stream of `keys` has its reading of the poll at `at` (the streams found are not asked again)."""
        while keys:
            query = Query().select("phenomenonTime").orderby("phenomenonTime desc").top(1)
            rows = self.client.get(f"Datastreams({self.ids.datastreams[keys[0]]})/Observations", query)["value"]
            if not rows or parse_time(rows[0]["phenomenonTime"]) < at:
                return False
            keys.pop(0)
        return True

    def acks(self, since: datetime) -> dict[Any, bool]:
        rows = self.rows(self.ids.datastreams["setpointAccepted"], since)
        return {r["parameters"]["taskId"]: r["result"] for r in rows}


def energy_wh(rows: list[dict[str, Any]], begin: datetime, end: datetime) -> float:
    """Each P_ev reading is the mean power over the poll interval it ends."""
    total = 0.0
    for row in rows:
        at = parse_time(row["phenomenonTime"])
        if begin < at <= end + timedelta(seconds=TELEMETRY_S):
            start = max(begin, at - timedelta(seconds=TELEMETRY_S))
            total += float(row["result"]) * max(0.0, (min(at, end) - start).total_seconds()) / 3600
    return total


def command(capability: EntityId, radial: str, client: StaClient, **extra: Any) -> EntityId:
    timespan = {"startTime": COMMAND_START.isoformat(), "stopTime": COMMAND_STOP.isoformat()}
    return client.create_task(capability, {"action": "avoid_overload", "radialId": radial, **extra, **timespan})


def last_poll(now: datetime) -> datetime:
    return START + timedelta(seconds=(now - START).total_seconds() // TELEMETRY_S * TELEMETRY_S)


async def run_night(clock: SteppedClock, runtime: SiteRuntime, controller: Gevchcon,
                    server: Server) -> list[CycleResult]:
    """The clock to a minute before each 30-minute step; once the server has the last poll, a GEVChCon cycle;
    once the LEVChAg has acknowledged its Tasks, on to the next step."""
    points = [f"cp{n}" for n in range(1, 6)]
    poll_keys = ["P_load", "P_pv", "P_ess", "P_grid", *(f"{p}.{key}" for p in points for key in ("P_ev", "cpStatus"))]
    cycles: list[CycleResult] = []
    running = asyncio.create_task(runtime.run())
    await until(runtime.session.connected.is_set, 15, "the MQTT connection")
    boundary = START + timedelta(seconds=STEP_S)
    while boundary <= END:
        await clock.advance_to(boundary - timedelta(seconds=LEAD_S))
        polled, keys = last_poll(clock.now()), list(poll_keys)
        await until(lambda: server.has_poll(keys, polled), 60, f"the poll of {polled}")  # noqa: B023
        result = await asyncio.to_thread(controller.cycle, clock.now())
        cycles.append(result)
        sent, since = set(result.tasks.values()), clock.now()
        await until(lambda: sent <= set(server.acks(since)), 60, f"the acknowledgements at {since}")  # noqa: B023
        boundary += timedelta(seconds=STEP_S)
    await until(lambda: runtime.outbox.rows == 0, 60, "the queue drained")
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    return cycles


def test_a_car_park_stays_under_its_limits_while_the_evs_are_served(sta_process: RunningServer,  # noqa: F811
                                                                     tmp_path: pathlib.Path) -> None:
    site, clock = car_park(), SteppedClock(START)
    # a second site id nobody commissioned: skipped (logged) every cycle, the car park still controlled
    policy = Policy(step_s=STEP_S, horizon_steps=48, margin_w=3000, lead_s=LEAD_S)
    settings = Settings((site.id, "no-such-site"), policy)
    with StaClient(sta_process.settings()) as client:
        ids = commission(site, client, clock.now())
        server = Server(client, ids)
        parts = site_parts(site, ids, clock)
        chargers = [p.connector for p in parts.polls if isinstance(p.connector, SimulatedChargePoint)]
        runtime = SiteRuntime(clock, sta_process.settings(), parts, RuntimeOptions(tmp_path / "park.sqlite"))
        controller = Gevchcon(client, settings)
        good = command(controller.ids.capability, RADIAL, client, maxPower=COMMAND_CAP_W)
        bad = command(controller.ids.capability, "elsewhere", client)
        began = time.monotonic()
        cycles = asyncio.run(run_night(clock, runtime, controller, server))
        log.info("%d GEVChCon cycles in %.0f s", len(cycles), time.monotonic() - began)

        answers = {r["parameters"]["taskId"]: r for r in server.rows(controller.ids.streams["commandResult"])}
        assert answers[good]["result"] == "accepted" and answers[bad]["result"] == "rejected"
        assert answers[bad]["parameters"]["reason"].startswith("unknown-radial: ")
        assert [r["result"] for r in server.rows(controller.ids.streams["errorCode"])] == ["unknown-radial"]
        acks, sent = server.acks(START), [task for result in cycles for task in result.tasks.values()]
        assert len(sent) == 5 * len(cycles) and all(acks[task] is True for task in sent)
        assert all(set(result.decisions) == {site.id} for result in cycles)
        assert_binding(cycles)
        assert_under_limits(server, ids)
        assert_served(server, ids, chargers)
        assert_reported(server, controller, len(cycles))
        again = Gevchcon(client, settings)  # a restart: the same entities, the commands not answered twice
        assert again.ids == controller.ids and again.answered == {good: True, bad: False}


def assert_binding(cycles: list[CycleResult]) -> None:
    """The command mattered: at some step the EVs plugged in could have drawn more (7.4 kW cars) than allowed."""
    def wanted_w(decision: SiteDecision) -> float:
        return 7400.0 * sum(1 for p in decision.report["points"].values() if p["remainingWh"] > 0)

    assert any(d.headroom_w[0] < wanted_w(d) for c in cycles for d in c.decisions.values())


def assert_under_limits(server: Server, ids: SiteIds) -> None:
    grid = [(parse_time(r["phenomenonTime"]), float(r["result"])) for r in server.rows(ids.datastreams["P_grid"])]
    during = [power for at, power in grid if COMMAND_START < at <= COMMAND_STOP]
    max_site_w, max_during_w = max(power for _, power in grid), max(during)
    log.info("max site power %.0f W (contract %.0f W); under the command %.0f W (cap %.0f W)",
             max_site_w, CONTRACT_W, max_during_w, COMMAND_CAP_W)
    assert max_site_w <= CONTRACT_W and max_during_w <= COMMAND_CAP_W


def assert_served(server: Server, ids: SiteIds, chargers: list[SimulatedChargePoint]) -> None:
    """Every EV that left during the run had its energy (the P_ev readings integrated over its stay)."""
    asked_wh = served_wh = 0.0
    for charger in chargers:
        rows = server.rows(ids.datastreams[f"{charger.device}.P_ev"])
        for session in (s for s in charger.point.sessions if s.arrival < END):
            got = energy_wh(rows, max(session.arrival, START), min(session.departure, END))
            log.info("%s: %s to %s, asked %.0f Wh, served %.0f Wh", charger.device, session.arrival,
                     session.departure, session.energy_need_wh, got)
            if session.departure <= END:
                asked_wh, served_wh = asked_wh + session.energy_need_wh, served_wh + got
                assert got >= session.energy_need_wh * 0.99 - 1, (charger.device, session, got)
    log.info("EVs that left: %.0f Wh asked, %.0f Wh served", asked_wh, served_wh)
    assert asked_wh > 0


def assert_reported(server: Server, controller: Gevchcon, cycles: int) -> None:
    """A shortfall report per cycle (none expected here) and the day's EV load profile, one value per step,
    published when the run began, for the new day, and when the command ended."""
    site = controller.settings.sites[0]
    shortfalls = server.rows(controller.ids.streams[f"{site}.evShortfall"])
    assert len(shortfalls) == cycles and all(float(r["result"]) < 1 for r in shortfalls)
    assert {"askedWh", "points", "headroomNowW"} <= set(shortfalls[-1]["parameters"])
    profiles = server.rows(controller.ids.streams[f"{site}.evLoadProfile"])
    assert len(profiles) == 3 * controller.settings.policy.horizon_steps
