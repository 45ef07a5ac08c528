"""The emulated charge point's own logic, pure: installed charging profiles, the composite schedule
(OCPP 1.6 §3.13: the TxProfile of the running transaction, else the TxDefaultProfile, capped by the
ChargePointMaxProfile; the highest stack level wins within a purpose) and the EV model it limits."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from adapters.ocpp.frames import parse_ocpp_time
from adapters.ocpp.profiles import Electrical, one_decimal_down
from adapters.simulated.ev import ChargePoint


@dataclass(frozen=True)
class Profile:
    profile_id: int
    connector_id: int
    stack_level: int
    purpose: str
    kind: str
    unit: str
    start: datetime | None
    duration_s: int | None
    periods: tuple[tuple[int, float, int | None], ...]  # (start_period s, limit, number_phases)
    transaction_id: int | None = None


def parse_profile(connector_id: int, data: Mapping[str, Any]) -> Profile:
    """A `cs_charging_profiles` as the library hands it to a handler (snake_case, limits as Decimal)."""
    schedule = data["charging_schedule"]
    periods = tuple(sorted((int(p["start_period"]), float(p["limit"]), p.get("number_phases"))
                           for p in schedule["charging_schedule_period"]))
    start = schedule.get("start_schedule")
    return Profile(int(data["charging_profile_id"]), connector_id, int(data["stack_level"]),
                   str(data["charging_profile_purpose"]), str(data["charging_profile_kind"]),
                   str(schedule["charging_rate_unit"]), parse_ocpp_time(start) if start else None,
                   schedule.get("duration"), periods, data.get("transaction_id"))


@dataclass
class Outlet:
    """One connector: the EV model, its availability and its transaction."""

    point: ChargePoint
    operative: bool = True
    transaction_id: int | None = None
    transaction_start: datetime | None = None


class Charger:
    def __init__(self, outlets: list[Outlet], electrical: Electrical, units: tuple[str, ...] = ("W", "A")) -> None:
        self.outlets = outlets
        self.electrical = electrical
        self.units = units
        self.profiles: dict[int, Profile] = {}

    def outlet(self, connector_id: int) -> Outlet | None:
        return self.outlets[connector_id - 1] if 1 <= connector_id <= len(self.outlets) else None

    def install(self, profile: Profile) -> str:
        """SetChargingProfile: the status answered."""
        if profile.unit not in self.units or profile.kind == "Recurring":
            return "Rejected"
        if profile.connector_id != 0 and self.outlet(profile.connector_id) is None:
            return "Rejected"
        if profile.purpose == "TxProfile":
            outlet = self.outlet(profile.connector_id)
            if outlet is None or outlet.transaction_id is None or profile.transaction_id != outlet.transaction_id:
                return "Rejected"
        if profile.purpose == "ChargePointMaxProfile" and profile.connector_id != 0:
            return "Rejected"
        self.profiles = {i: p for i, p in self.profiles.items()
                         if not (p.connector_id == profile.connector_id and p.purpose == profile.purpose
                                 and p.stack_level == profile.stack_level)}
        self.profiles[profile.profile_id] = profile
        return "Accepted"

    def end_transaction(self, connector_id: int) -> None:
        """TxProfiles end with their transaction."""
        self.profiles = {i: p for i, p in self.profiles.items()
                         if not (p.purpose == "TxProfile" and p.connector_id == connector_id)}

    def limit_w(self, connector_id: int, when: datetime) -> float:
        """The composite limit of a connector at `when` (its maximum when no profile applies)."""
        outlet = self.outlet(connector_id)
        assert outlet is not None
        limits = [outlet.point.max_power_w]
        tx = self._top("TxProfile", (connector_id,), when, outlet)
        default = self._top("TxDefaultProfile", (connector_id, 0), when, outlet)
        chosen = tx if tx is not None else default
        if chosen is not None:
            limits.append(chosen)
        cap = self._top("ChargePointMaxProfile", (0,), when, outlet)
        if cap is not None:
            limits.append(cap)
        return min(limits)

    def composite(self, connector_id: int, now: datetime, duration_s: int, unit: str) -> dict[str, Any]:
        """The GetCompositeSchedule `charging_schedule` from `now`, in `unit` (periods where it changes)."""
        offsets = sorted({0, *self._breaks(now, duration_s)})
        periods: list[dict[str, Any]] = []
        for offset in offsets:
            limit_w = self.limit_w(connector_id, now + timedelta(seconds=offset))
            limit = one_decimal_down(self.electrical.in_unit(limit_w, unit))
            if not periods or periods[-1]["limit"] != limit:
                periods.append({"start_period": offset, "limit": limit})
        return {"duration": duration_s, "charging_rate_unit": unit, "charging_schedule_period": periods}

    def _top(self, purpose: str, connectors: tuple[int, ...], when: datetime, outlet: Outlet) -> float | None:
        """The limit (W) of the highest-stack profile of `purpose` that applies at `when`."""
        for connector_id in connectors:  # a connector's own profiles before the charger-wide ones
            candidates = sorted((p for p in self.profiles.values()
                                 if p.purpose == purpose and p.connector_id == connector_id),
                                key=lambda p: -p.stack_level)
            for profile in candidates:
                limit = self._at(profile, when, outlet)
                if limit is not None:
                    return limit
        return None

    def _at(self, profile: Profile, when: datetime, outlet: Outlet) -> float | None:
        start = profile.start if profile.kind == "Absolute" else outlet.transaction_start
        if start is None:
            return None
        elapsed_s = (when - start).total_seconds()
        if elapsed_s < 0 or (profile.duration_s is not None and elapsed_s >= profile.duration_s):
            return None
        current = [p for p in profile.periods if p[0] <= elapsed_s]
        if not current:
            return None
        _, limit, phases = current[-1]
        return self.electrical.watts(limit, profile.unit, phases)

    def _breaks(self, now: datetime, duration_s: int) -> set[int]:
        breaks = set()
        for profile in self.profiles.values():
            if profile.start is None:
                continue
            for start_period, _, _ in profile.periods:
                offset = int((profile.start - now).total_seconds()) + start_period
                if 0 < offset < duration_s:
                    breaks.add(offset)
        return breaks
