"""When to re-plan a radial during the day, and with what state (pure; docs/controllers.md "Re-planning").

Each check the loop gives, per ESS of the dispatched plan: its latest SoC and age, the SoC the plan expected
now, and what became of its schedule Task (accepted, refused, still pending and since when). The rules:

- **never acknowledged / refused**: a Task with no answer `ack_timeout_s` after it was created, or refused,
  makes its ESS *unavailable* for the rest of the plan's day; the others are re-dispatched at once without it;
- **unreachable**: a SoC older than `stale_s` (15 min) or none makes the ESS *unavailable* while it lasts (the
  others are re-planned at once, conservatively: they do not count on it; it is sent nothing it could not
  take); when its SoC is fresh again it is planned in again (rate-limited as a deviation);
- **deviation**: |measured − planned SoC| above `deviation_pct` → re-plan from the measured SoC of every ESS;
- **solution change**: the aggregator's solution in force differs from the plan's → re-plan at once.

Deviations and recoveries wait `min_interval_s` after the last plan (no churn on a noisy battery);
losing an ESS and a new solution do not wait.
"""
from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum


class AckState(StrEnum):
    ACCEPTED = "accepted"
    REFUSED = "refused"
    PENDING = "pending"
    NONE = "none"  # no Task sent to it (unavailable when the plan was made)


@dataclass(frozen=True)
class EssCheck:
    """One ESS at a check: latest SoC (None: none) and its age, the plan's SoC now, its Task's answer."""

    key: str
    soc_pct: float | None
    soc_age_s: float | None
    planned_soc_pct: float | None
    ack: AckState
    task_age_s: float = 0.0


@dataclass(frozen=True)
class ReplanPolicy:
    deviation_pct: float = 10.0
    stale_s: float = 900.0
    ack_timeout_s: float = 600.0
    min_interval_s: float = 900.0


@dataclass(frozen=True)
class Replan:
    """Re-plan now: why, and which ESS to leave out (the others are re-dispatched)."""

    reasons: tuple[str, ...]
    unavailable: frozenset[str]
    lost: frozenset[str]  # left out for the rest of the day (never acknowledged or refused)


def is_stale(check: EssCheck, policy: ReplanPolicy) -> bool:
    return check.soc_pct is None or check.soc_age_s is None or check.soc_age_s > policy.stale_s


def lost_for_the_day(check: EssCheck, policy: ReplanPolicy) -> str | None:
    """Why an ESS is out for the rest of the day (refused, or silent past the timeout), else None."""
    if check.ack == AckState.REFUSED:
        return f"refused:{check.key}"
    if check.ack == AckState.PENDING and check.task_age_s > policy.ack_timeout_s:
        return f"no-ack:{check.key}"
    return None


def deviates(check: EssCheck, policy: ReplanPolicy) -> bool:
    return (check.soc_pct is not None and check.planned_soc_pct is not None
            and abs(check.soc_pct - check.planned_soc_pct) > policy.deviation_pct)


def should_replan(checks: Sequence[EssCheck], *, unavailable: Collection[str], lost: Collection[str],
                  solution_changed: bool, since_plan_s: float, policy: ReplanPolicy) -> Replan | None:
    """The re-plan to make now, or None. `unavailable` is the set the current plan left out, `lost` the ESS
    out for the rest of the day."""
    urgent: list[str] = ["solution-changed"] if solution_changed else []
    waiting: list[str] = []
    now_lost = set(lost)
    for check in checks:
        reason = None if check.key in now_lost else lost_for_the_day(check, policy)
        if reason is not None:
            now_lost.add(check.key)
            urgent.append(reason)
    now_unavailable = set(now_lost)
    for check in checks:
        if check.key in now_lost:
            continue
        if is_stale(check, policy):
            now_unavailable.add(check.key)
            if check.key not in unavailable:
                urgent.append(f"unreachable:{check.key}")
        elif check.key in unavailable:
            waiting.append(f"recovered:{check.key}")
        elif deviates(check, policy):
            waiting.append(f"deviation:{check.key}")
    if urgent or (waiting and since_plan_s >= policy.min_interval_s):
        return Replan(tuple(urgent + waiting), frozenset(now_unavailable), frozenset(now_lost))
    return None


def within_bounds(checks: Sequence[EssCheck], policy: ReplanPolicy) -> bool:
    """T5/T8 "all ESS within bounds": every ESS reachable, its Task accepted, its SoC near the plan."""
    return all(c.ack == AckState.ACCEPTED and not is_stale(c, policy) and not deviates(c, policy) for c in checks)
