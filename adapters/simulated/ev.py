"""EVs at a charge point: sessions drawn from arrival/departure/energy distributions (seeded), a charge
point that delivers energy within its own, the car's and the load-reduction limit, and the expected
daily EV load profile (the LEVChAg's forecast).

Defaults follow the Bolzano PROFEV model (S4G-SYSTEM.md §2.2): plug-in 18.76 +- 1.3 h, unplug
7.32 +- 0.78 h the next morning, 18.7 kWh batteries. Consumer sign convention: charging power >= 0."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class EvFleetSpec:
    arrival_mean_h: float = 18.76
    arrival_sd_h: float = 1.3
    departure_mean_h: float = 7.32  # the next day
    departure_sd_h: float = 0.78
    energy_mean_wh: float = 9000.0
    energy_sd_wh: float = 3500.0
    battery_wh: float = 18700.0
    car_max_power_w: float = 7400.0
    presence_probability: float = 0.9  # a car comes home that day


@dataclass(frozen=True)
class EvSession:
    arrival: datetime
    departure: datetime
    energy_need_wh: float
    car_max_power_w: float


def draw_session(spec: EvFleetSpec, rng: random.Random, day: date) -> EvSession | None:
    """The session that starts on `day` (UTC), or None when no car comes home."""
    if rng.random() >= spec.presence_probability:
        return None
    midnight = datetime.combine(day, time(0), tzinfo=UTC)
    arrival_h = min(23.9, max(12.0, rng.gauss(spec.arrival_mean_h, spec.arrival_sd_h)))
    departure_h = 24 + min(11.0, max(4.0, rng.gauss(spec.departure_mean_h, spec.departure_sd_h)))
    energy_wh = min(spec.battery_wh, max(500.0, rng.gauss(spec.energy_mean_wh, spec.energy_sd_wh)))
    return EvSession(midnight + timedelta(hours=arrival_h), midnight + timedelta(hours=departure_h),
                     energy_wh, spec.car_max_power_w)


def draw_sessions(spec: EvFleetSpec, rng: random.Random, first_day: date, days: int) -> list[EvSession]:
    """Sessions starting on `days` consecutive days (a day without a car has none)."""
    sessions = (draw_session(spec, rng, first_day + timedelta(days=n)) for n in range(days))
    return [s for s in sessions if s is not None]


def expected_load_profile_w(spec: EvFleetSpec, cp_max_power_w: float, start: datetime, step_s: int,
                            steps: int, rng: random.Random, draws: int = 200) -> list[float]:
    """Mean charging power per step over `draws` simulated sessions (uncontrolled charging on arrival),
    for the sessions starting on `start`'s day and the one before (whose cars may still charge)."""
    totals = [0.0] * steps
    day = start.astimezone(UTC).date()
    for _ in range(draws):
        for session in draw_sessions(spec, rng, day - timedelta(days=1), 2):
            point = ChargePoint(cp_max_power_w, [session], start)
            for n in range(steps):
                point.advance_to(start + timedelta(seconds=(n + 1) * step_s))
                totals[n] += point.power_w
    return [total / draws for total in totals]


class ChargePoint:
    """One connector: plugs in the sessions in turn, charges within the limits, integrates over time."""

    def __init__(self, max_power_w: float, sessions: list[EvSession], now: datetime) -> None:
        self.max_power_w = max_power_w
        self.limit_w = max_power_w  # the load-reduction limit in force
        self.enabled = True
        self.power_w = 0.0  # mean power over the last interval
        self.delivered_wh = 0.0  # to the current session
        self._sessions = sorted(sessions, key=lambda s: s.arrival)
        self._now = now

    @property
    def sessions(self) -> tuple[EvSession, ...]:
        return tuple(self._sessions)

    def session(self, when: datetime) -> EvSession | None:
        """The session plugged in at `when`."""
        return next((s for s in self._sessions if s.arrival <= when < s.departure), None)

    def status(self) -> str:
        """OCPP-like status: Available, Charging, SuspendedEVSE (limited to 0), SuspendedEV (full)."""
        session = self.session(self._now)
        if session is None:
            return "Available"
        if self.delivered_wh >= session.energy_need_wh:
            return "SuspendedEV"
        if not self.enabled or self.limit_w <= 0:
            return "SuspendedEVSE"
        return "Charging"

    def set_limit(self, limit_w: float) -> float:
        """Take a charging limit; returns the limit in force (0..max)."""
        self.limit_w = min(self.max_power_w, max(0.0, limit_w))
        return self.limit_w

    def advance_to(self, when: datetime) -> None:
        dt_s = (when - self._now).total_seconds()
        if dt_s <= 0:
            return
        before = self.session(self._now)
        self.power_w = self._power_for(before, dt_s)
        self.delivered_wh += self.power_w * dt_s / SECONDS_PER_HOUR
        self._now = when
        if self.session(when) is not before:
            self.delivered_wh = 0.0

    def _power_for(self, session: EvSession | None, dt_s: float) -> float:
        if session is None or not self.enabled:
            return 0.0
        remaining_wh = max(0.0, session.energy_need_wh - self.delivered_wh)
        return min(self.limit_w, session.car_max_power_w, remaining_wh * SECONDS_PER_HOUR / dt_s)
