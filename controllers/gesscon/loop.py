"""GESSCon's thin loop (OpenEMS style): on the project clock, per radial, read the server (server_reads),
decide (radial_data → decide), create the schedule Tasks (dispatch), check and re-plan (replan), and write
the status Observations (status) on the radial's own GESSCon Thing; the aggregator's commands (each radial's
own capability) through the command desk."""
from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from clock import Clock
from controllers.aggregator import Solution, command_at, solution_at
from controllers.gesscon import dispatch
from controllers.gesscon.command_desk import CommandDesk
from controllers.gesscon.decide import Decision, decide
from controllers.gesscon.gesscon_thing import GessconIds
from controllers.gesscon.radial_data import DAY, EssThing, problem_of
from controllers.gesscon.replan import AckState, EssCheck, Replan, should_replan, within_bounds
from controllers.gesscon.server_reads import ess_things, parse_time, read_radial, soc_reading
from controllers.gesscon.settings import GessconSettings
from controllers.gesscon.status import StatusWriter, ess_overview
from planning.inputs import Objective, RadialProblem, SolutionCode
from sta_client import StaClient
from sta_client.paths import EntityId
from sta_client.query import Query, string_literal

log = logging.getLogger(__name__)


@dataclass
class Dispatch:
    """What was sent for a radial from `start` (24 h): Tasks per ESS (id, creation on the clock), the plan
    behind them (None when adopted from the server after a restart: no deviation checks until the next plan)."""

    radial_id: str
    start: datetime
    tasks: dict[str, tuple[EntityId, datetime]]
    things: dict[str, EssThing]
    decision: Decision | None
    solution: Solution
    planned_at: datetime
    unavailable: frozenset[str] = frozenset()
    lost: frozenset[str] = frozenset()
    created: int = 0
    last_status: tuple[datetime, bool] | None = field(default=None)
    problem: RadialProblem | None = None  # the inputs the decision was made on (for reports and tests)

    def planned_soc_pct(self, key: str, now: datetime) -> float | None:
        if self.decision is None:
            return None
        schedule = next((s for s in self.decision.plan.schedules if s.ess_key == key), None)
        if schedule is None:
            return None
        step = math.floor((now - self.start).total_seconds() / schedule.resolution_s) - 1
        return schedule.soc_pct[step] if 0 <= step < len(schedule.soc_pct) else None


def day_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def ceil_to(moment: datetime, step_s: int) -> datetime:
    seconds = (moment - day_of(moment)).total_seconds()
    return day_of(moment) + timedelta(seconds=math.ceil(seconds / step_s) * step_s)


class GessconLoop:
    def __init__(self, sta: StaClient, clock: Clock, settings: GessconSettings,
                 things: Mapping[str, GessconIds]) -> None:
        """`things`: radial id -> that radial's GESSCon Thing (commission_gesscon), one for each planned radial."""
        missing = set(settings.radials) - set(things)
        if missing:
            raise ValueError(f"no GESSCon Thing for radial(s) {', '.join(sorted(missing))}")
        self.sta = sta
        self.clock = clock
        self.settings = settings
        self.things = {r: things[r] for r in settings.radials}
        self.status = StatusWriter(sta, {r: ids.streams for r, ids in self.things.items()})
        self.desk = CommandDesk(sta, self.status, {r: ids.capability for r, ids in self.things.items()})
        self.dispatches: dict[tuple[str, datetime], Dispatch] = {}  # (radial, day) -> the newest dispatch

    def solution(self, radial_id: str, moment: datetime) -> Solution:
        return solution_at(self.desk.accepted, radial_id, moment)

    def objective(self, radial_id: str, moment: datetime) -> Objective:
        """The LP's objective for the command in force at `moment`: its solution, voltage_control's band from
        the command or else the settings."""
        command, settings = command_at(self.desk.accepted, radial_id, moment), self.settings
        export_band = settings.voltage_export_w if command is None or command.export_band_w is None \
            else command.export_band_w
        import_band = settings.voltage_import_w if command is None or command.import_band_w is None \
            else command.import_band_w
        return Objective(SolutionCode(self.solution(radial_id, moment).value), peak_eur_per_kw=settings.peak_eur_per_kw,
                         voltage_eur_per_kwh=settings.voltage_eur_per_kwh,
                         voltage_peak_eur_per_kw=settings.voltage_peak_eur_per_kw, voltage_export_w=export_band,
                         voltage_import_w=import_band)

    def plan(self, radial_id: str, start: datetime, now: datetime, *, unavailable: frozenset[str] = frozenset(),
             lost: frozenset[str] = frozenset(), reasons: tuple[str, ...] = ()) -> Dispatch:
        """Plan the radial from `start` over 24 h and create a schedule Task per available ESS (none that
        the server holds already for that start)."""
        data = read_radial(self.sta, radial_id, start, now, hold_s=self.settings.plan.hold_s,
                           price_key=self.settings.price_key)
        solution = self.solution(radial_id, start)
        objective = self.objective(radial_id, start)
        things = {e.key: e for e in data.batteries}
        left_out = unavailable | {k for k, e in things.items() if e.schedule_capability is None}
        problem, flags = problem_of(data, start, objective, self.settings.plan, unavailable=left_out)
        decision = decide(problem, resolution_s={k: e.resolution_s for k, e in things.items()},
                          priority=self.settings.priority, flags=flags)
        done = Dispatch(radial_id, start, {}, things, decision, solution, now, left_out, lost, problem=problem)
        for order in decision.tasks:
            capability = things[order.ess_key].schedule_capability
            assert capability is not None
            found = dispatch.existing_task(self.sta, capability, start, start + timedelta(seconds=1))
            if found is None or dict(found[1]) != dict(order.parameters):  # reused only when identical
                task = dispatch.create_schedule_task(self.sta, capability, radial_id, order.ess_key, order.parameters)
                done.created += 1
            else:
                task = found[0]
            done.tasks[order.ess_key] = (task, now)
        self.dispatches[(radial_id, day_of(start))] = done
        self._report(done, now, reasons)
        return done

    def adopt(self, radial_id: str, day: datetime, now: datetime) -> Dispatch | None:
        """The Tasks the server holds already for `day` (a restart): adopted, nothing created."""
        sites = [str(t.get("properties", {}).get("siteId")) for t in self.sta.iter(
            "Things", _sites_query(radial_id))]
        things = {e.key: e for e in ess_things(self.sta, sites)}
        tasks: dict[str, tuple[EntityId, datetime]] = {}
        start = None
        for key, thing in things.items():
            found = None if thing.schedule_capability is None else dispatch.existing_task(
                self.sta, thing.schedule_capability, day, day + DAY)
            if found is not None:
                tasks[key] = (found[0], now)
                start = max(start or day, _start_of(found[1], day))
        if not tasks or start is None:
            return None
        adopted = Dispatch(radial_id, start, tasks, things, None, self.solution(radial_id, start), now,
                           frozenset(things) - set(tasks))
        self.dispatches[(radial_id, day)] = adopted
        log.info("radial %s: %d schedule Task(s) for %s found on the server; none created", radial_id, len(tasks),
                 day.date())
        return adopted

    def ensure_day(self, radial_id: str, day: datetime, now: datetime) -> Dispatch:
        """The radial's dispatch for `day`: in memory, adopted from the server, or planned now."""
        known = self.dispatches.get((radial_id, day)) or self.adopt(radial_id, day, now)
        if known is not None:
            return known
        return self.plan(radial_id, max(day, ceil_to(now, self.settings.plan.step_s)), now,
                         reasons=("day-ahead",) if day > now else ("late-start",))

    def checks(self, done: Dispatch, now: datetime) -> list[EssCheck]:
        result = []
        for key, thing in sorted(done.things.items()):
            soc = soc_reading(self.sta, thing.soc_stream, now)
            ack, age = AckState.NONE, 0.0
            if key in done.tasks:
                task, sent = done.tasks[key]
                ack = dispatch.ack_state(self.sta, thing.ack_stream, task)[0]
                age = (now - sent).total_seconds()
            result.append(EssCheck(key, None if soc is None else soc.soc_pct, None if soc is None else soc.age_s,
                                   done.planned_soc_pct(key, now), ack, age))
        return result

    def check(self, radial_id: str, now: datetime) -> Replan | None:
        """Re-plan the day in force if the rules say so; write the ESS status (on change or every status_s)."""
        done = self.dispatches.get((radial_id, day_of(now)))
        if done is None:  # a re-plan starting at the next step is checked already (its planned SoC: none yet)
            return None
        checks = self.checks(done, now)
        tracked = [c for c in checks if done.things[c.key].schedule_capability is not None]
        replan = should_replan(tracked, unavailable=done.unavailable, lost=done.lost,
                               solution_changed=self.solution(radial_id, now) != done.solution,
                               since_plan_s=(now - done.planned_at).total_seconds(),
                               policy=self.settings.policy)
        self._ess_status(done, checks, now)
        if replan is not None:
            log.info("radial %s: re-planning (%s)", radial_id, ", ".join(replan.reasons))
            self.plan(radial_id, ceil_to(now, self.settings.plan.step_s), now, unavailable=replan.unavailable,
                      lost=replan.lost, reasons=replan.reasons)
        return replan

    def _ess_status(self, done: Dispatch, checks: list[EssCheck], now: datetime) -> None:
        bounded = within_bounds([c for c in checks if c.key not in done.unavailable], self.settings.policy)
        last = done.last_status
        if last is None or last[1] != bounded or (now - last[0]).total_seconds() >= self.settings.status_s:
            self.status.write("essOverview", done.radial_id, now,
                              ess_overview(checks, self.settings.policy, done.unavailable))
            self.status.write("essWithinBounds", done.radial_id, now, bounded)
            done.last_status = (now, bounded)

    def _report(self, done: Dispatch, now: datetime, reasons: tuple[str, ...]) -> None:
        assert done.decision is not None
        error = done.decision.command_error
        state = {**done.decision.report, "planStart": done.start.isoformat(), "reasons": list(reasons),
                 "tasks": {k: t for k, (t, _) in done.tasks.items()}, "created": done.created}
        self.status.write("radialSolution", done.radial_id, now, done.solution.value)
        self.status.write("commandError", done.radial_id, now, error or "none")
        self.status.write("radialState", done.radial_id, now, state)

    def tick(self, now: datetime) -> None:
        """One round: commands, then per radial the day in force, the next day once within the lead, checks."""
        self.desk.take(now)
        for radial_id in self.settings.radials:
            try:
                self.round(radial_id, now)
            except Exception:  # one radial's bad data or an unreachable server: the others go on
                log.exception("radial %s: round at %s failed; the next round tries again", radial_id, now)

    def round(self, radial_id: str, now: datetime) -> None:
        today = day_of(now)
        if (today + DAY - now).total_seconds() <= self.settings.lead_s:
            self.ensure_day(radial_id, today + DAY, now)  # the rest of today stays as it is
        else:
            self.ensure_day(radial_id, today, now)
        self.check(radial_id, now)

    async def run(self) -> None:
        while True:
            now = self.clock.now()
            try:
                await asyncio.to_thread(self.tick, now)
            except Exception:  # the server or a solver failing: logged, the next round tries again
                log.exception("GESSCon round at %s failed", now.isoformat())
            await self.clock.sleep(self.settings.check_s)


def _sites_query(radial_id: str) -> Query:
    return Query().filter(f"properties/kind eq 'site' and properties/radialId eq {string_literal(radial_id)}"
                          ).select("properties").top(1000)


def _start_of(parameters: Mapping[str, Any], default: datetime) -> datetime:
    try:
        return parse_time(str(parameters.get("startTime")))
    except ValueError:
        return default
