"""Pure encoding of charging profiles (SetChargingProfile) and reading back the composite schedule.

Spec traps handled here: the limit has one decimal (rounded down, so it is never above the order),
the first `startPeriod` is 0, chargers may take only A (W → A with the site's voltage and phases), and
"Accepted" proves nothing: the limit in force is what GetCompositeSchedule answers."""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.ocpp.frames import format_ocpp_time

PURPOSES = ("TxDefaultProfile", "TxProfile", "ChargePointMaxProfile")
UNITS = ("W", "A")


@dataclass(frozen=True)
class Electrical:
    """How a charge point turns A into W."""

    voltage_v: float = 230.0
    phases: int = 1

    def watts(self, limit: float, unit: str, phases: int | None = None) -> float:
        return limit if unit == "W" else limit * self.voltage_v * (phases or self.phases)

    def in_unit(self, limit_w: float, unit: str) -> float:
        return limit_w if unit == "W" else limit_w / (self.voltage_v * self.phases)


def one_decimal_down(value: float) -> float:
    return math.floor(round(value * 10, 6)) / 10


def encode_charging_profile(limit_w: float, *, profile_id: int, stack_level: int, purpose: str, unit: str,
                            electrical: Electrical, start: datetime,
                            transaction_id: int | None = None) -> dict[str, Any]:
    """The `cs_charging_profiles` of a SetChargingProfile holding one limit from `start` on (the
    charger's clock: pass its time, not ours)."""
    if purpose not in PURPOSES or unit not in UNITS:
        raise ValueError(f"purpose {purpose!r} / unit {unit!r}: not one of {PURPOSES} / {UNITS}")
    if purpose == "TxProfile" and transaction_id is None:
        raise ValueError("a TxProfile needs the transaction it applies to")
    limit = one_decimal_down(max(0.0, electrical.in_unit(limit_w, unit)))
    profile: dict[str, Any] = {
        "charging_profile_id": profile_id, "stack_level": stack_level, "charging_profile_purpose": purpose,
        "charging_profile_kind": "Absolute",
        "charging_schedule": {"charging_rate_unit": unit, "start_schedule": format_ocpp_time(start),
                              "charging_schedule_period": [{"start_period": 0, "limit": limit,
                                                            "number_phases": electrical.phases}]}}
    if purpose == "TxProfile":
        profile["transaction_id"] = transaction_id
    return profile


def encoded_limit_w(profile: Mapping[str, Any], electrical: Electrical) -> float:
    """The limit a profile from `encode_charging_profile` carries, in W."""
    schedule = profile["charging_schedule"]
    period = schedule["charging_schedule_period"][0]
    return electrical.watts(float(period["limit"]), str(schedule["charging_rate_unit"]), period.get("number_phases"))


def composite_limit_w(charging_schedule: Mapping[str, Any] | None, electrical: Electrical) -> float | None:
    """The limit in force at the start of a GetCompositeSchedule answer (its period at offset 0), in W;
    None when the answer has no schedule."""
    if not charging_schedule:
        return None
    periods = sorted(charging_schedule.get("charging_schedule_period", []), key=lambda p: int(p["start_period"]))
    current = [p for p in periods if int(p["start_period"]) <= 0]
    if not current:
        return None
    period = current[-1]
    return electrical.watts(float(period["limit"]), str(charging_schedule["charging_rate_unit"]),
                            period.get("number_phases"))
