"""GESSCon's decision for one radial and day (pure): the plan, one `ess_schedule` Task per battery, and the
report the loop publishes on the GESSCon Thing (S4G-SYSTEM.md T5/T8: `commandError`, `essWithinBounds`)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from controllers.gesscon.plan import schedule_parameters
from planning.inputs import RadialProblem
from planning.model import solve_day_ahead
from planning.schedule import DayPlan

CAPABILITY = "ess_schedule"


@dataclass(frozen=True)
class TaskOrder:
    """A Task to create: on the `capability` of the ESS `ess_key`, with these tasking parameters."""

    ess_key: str
    capability: str
    parameters: Mapping[str, Any]


@dataclass(frozen=True)
class Decision:
    plan: DayPlan
    tasks: tuple[TaskOrder, ...]
    report: Mapping[str, Any]

    @property
    def command_error(self) -> str | None:
        """None when the day is planned within every limit from complete inputs, else why not."""
        problems = [f"{k}: {v:.0f} Wh above its limits" for k, v in self.plan.slack_wh.items() if v > 1e-3]
        problems += list(self.report["flags"])
        return "; ".join(problems) or None


def decide(problem: RadialProblem, *, resolution_s: Mapping[str, int] | None = None, priority: int = 2,
           flags: tuple[str, ...] = ()) -> Decision:
    """Plan the day; every available battery gets a schedule Task at its capability's resolution (60 s default)."""
    plan = solve_day_ahead(problem)
    resolutions = resolution_s or {}
    tasks = tuple(
        TaskOrder(s.ess_key, CAPABILITY, schedule_parameters(s, resolutions.get(s.ess_key, 60), priority))
        for s, ess in zip(plan.schedules, problem.batteries, strict=True) if ess.available)
    flags = flags + tuple(f for site in problem.sites for f in site.flags)
    report = {"radialId": problem.radial_id, "status": plan.status, "costEur": round(plan.costs.total_eur, 4),
              "slackWh": {k: round(v, 1) for k, v in plan.slack_wh.items()}, "flags": list(flags),
              "unavailable": [b.key for b in problem.batteries if not b.available],
              "maxOverlapW": round(plan.max_overlap_w, 3), "solveS": round(plan.solve_s, 3)}
    return Decision(plan, tasks, report)
