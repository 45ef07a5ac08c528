"""The LESSAg's decision, pure (OpenEMS style): a state snapshot and a plan in, a set-point out.

Local objectives (D4.3): self-consumption (the battery absorbs export and covers import: P_PCC → 0),
UniRCon (the same, and never export: what the battery cannot take is curtailed from the PV), and
follow-schedule (the grid's schedule; without one for the current period, self-consumption, said so).
Orders' claims are blended into the objective by priority (orders.py); the result is then held within
the battery's rating and SoC window and, as far as the battery can, the site's contract (limits.py)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from agents.lessag.limits import EssLimits, battery_window, contract_window, limit_ess_w, pv_limit_w
from agents.lessag.orders import Claim, Source

CURTAILED_TOLERANCE_W = 1.0


class Strategy(StrEnum):
    SELF_CONSUMPTION = "self-consumption"
    FOLLOW_SCHEDULE = "follow-schedule"
    UNIRCON = "unircon"


FALLBACK_MODE = "fallback:self-consumption"


@dataclass(frozen=True)
class EssState:
    """A snapshot of the site (consumer sign convention)."""

    time: datetime
    soc_pct: float
    ess_power_w: float  # measured battery power
    load_w: float  # household consumption, >= 0 (EV included if on the same PCC)
    pv_power_w: float  # <= 0, as measured (curtailed if a limit is in force)
    pv_limit_w: float | None = None  # the curtailment in force

    @property
    def base_w(self) -> float:
        """The PCC power without the battery."""
        return self.load_w + self.pv_power_w

    @property
    def curtailed(self) -> bool:
        return self.pv_limit_w is not None and -self.pv_power_w >= self.pv_limit_w - CURTAILED_TOLERANCE_W


@dataclass(frozen=True)
class Plan:
    strategy: Strategy
    limits: EssLimits
    cycle_s: float
    claims: Sequence[Claim] = ()
    import_margin_w: float = 0.0  # UniRCon: the import it keeps at the PCC, so a load drop between
    # two decisions does not export


@dataclass(frozen=True)
class EssSetPoint:
    power_w: float
    pv_limit_w: float | None
    priority: int  # of the claim that shaped it (0: the local objective alone)
    mode: str
    reason: str = ""
    task_id: int | str | None = None


def decide(state: EssState, plan: Plan) -> EssSetPoint:
    """The ESS set-point (and PV limit) for the coming cycle."""
    never_export = plan.strategy is Strategy.UNIRCON
    battery = battery_window(plan.limits, state.soc_pct, plan.cycle_s)
    objective_w = battery.high_w if state.curtailed else -state.base_w
    if never_export and not state.curtailed:
        objective_w += plan.import_margin_w
    target_w, claim = blend(objective_w, plan.claims)
    export_w = -plan.import_margin_w if never_export else plan.limits.contract_out_w
    contract = contract_window(plan.limits.contract_in_w, export_w, state.base_w)
    power_w = limit_ess_w(target_w, battery, contract)
    mode, reason = _mode(plan, claim)
    return EssSetPoint(power_w, pv_limit_w(state.load_w, power_w, export_w), claim.priority if claim else 0,
                       mode, reason, claim.task_id if claim else None)


def blend(objective_w: float, claims: Sequence[Claim]) -> tuple[float, Claim | None]:
    """Each claim, lowest source and priority first, pulls the value towards its power by its weight.
    Returns the value and the claim applied last (the one that shaped it most), if any."""
    value = objective_w
    last = None
    for claim in sorted(claims, key=lambda c: (c.source, c.weight)):
        value += claim.weight * (claim.power_w - value)
        last = claim
    return value, last


def _mode(plan: Plan, claim: Claim | None) -> tuple[str, str]:
    if plan.strategy is not Strategy.FOLLOW_SCHEDULE:
        return str(plan.strategy), ""
    if claim is None or claim.source is not Source.GRID:
        return FALLBACK_MODE, "no valid schedule for the current period"
    return str(plan.strategy), ""
