"""What the resident can order (D3.1 T11 and the mode switch), as Task parameters for the site's
TaskingCapabilities (pure). The server checks them against the capability's SWE Common description
and answers 400 with its message when they do not fit; the page shows that message."""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from gui.households import Capability, Household

# The resident's set-point has the lowest priority: any grid order (DSO, aggregator) of a higher
# priority wins at the LESSAg (docs/agents.md, "Orders and priority").
RESIDENT_PRIORITY = 1
MODES = {"self-consumption": "Self-consumption", "minimum-bill": "Minimum bill",
         "minimum-grid-exchange": "Minimum grid exchange"}
MODE_TEMPLATE = "lessag-mode"


def setpoint_capability(household: Household) -> Capability | None:
    """The resident's set-point capability: an `ess-setpoint` one whose `taskedBy` names residents (the
    server lets residents task only those), else role `user-setpoint`, else key `user_setpoint`, else the
    ESS's `ess-setpoint` capability (where the resident's order is one of lower priority)."""
    ranked = sorted(household.capabilities, key=_setpoint_rank)
    return ranked[0] if ranked and _setpoint_rank(ranked[0]) < 3 else None


def _setpoint_rank(capability: Capability) -> int:
    if capability.template == "ess-setpoint" and "resident" in (capability.tasked_by or ()):
        return 0
    if capability.role == "user-setpoint" or capability.key.endswith("user_setpoint"):
        return 1
    return 2 if capability.template == "ess-setpoint" else 3


def mode_capability(household: Household) -> Capability | None:
    return next((c for c in household.capabilities if c.template == MODE_TEMPLATE), None)


def parse_power_kw(text: str) -> float:
    """The form's power in kW (a comma as decimal separator is accepted); ValueError if not a number."""
    value = float(text.strip().replace(",", "."))
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def setpoint_parameters(power_kw: float, duration_min: int, now: datetime) -> dict[str, object]:
    """`ess-setpoint` parameters (P > 0: charge) from now for `duration_min` minutes."""
    start = now.replace(microsecond=0)
    return {"powerSetpoint": round(power_kw * 1000.0, 1), "priority": RESIDENT_PRIORITY,
            "startTime": start.isoformat(), "stopTime": (start + timedelta(minutes=duration_min)).isoformat()}


def mode_parameters(mode: str) -> dict[str, object]:
    """The mode switch's parameters; the server checks the token against the capability."""
    return {"mode": mode}
