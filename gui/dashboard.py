"""The household's dashboard as data (pure): what to show of a `Household` at a given time — the
live values and their topics, today's consumption split into grid and self-produced, battery, EV,
mode and system health."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gui.households import Household, Stream

STALE_AFTER = timedelta(minutes=15)  # a stream this much older than the site's newest reading is "silent"


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    value: Any
    unit: str
    topic: str | None  # the MQTT topic of the stream's new Observations
    time: datetime | None
    scale: float = 1.0
    digits: int = 0

    @property
    def shown(self) -> str:
        if isinstance(self.value, (int, float)) and not isinstance(self.value, bool):
            return f"{self.value * self.scale:.{self.digits}f}"
        return "–" if self.value is None else str(self.value)


@dataclass(frozen=True)
class EnergySplit:
    consumption_kwh: float
    grid_kwh: float

    @property
    def self_produced_kwh(self) -> float:
        return max(self.consumption_kwh - self.grid_kwh, 0.0)

    @property
    def self_share_pct(self) -> float:
        return 100.0 * self.self_produced_kwh / self.consumption_kwh if self.consumption_kwh > 0 else 0.0


@dataclass(frozen=True)
class Health:
    last_contact: datetime | None
    streams: int
    fresh: int
    device_status: tuple[tuple[str, str], ...]  # (stream name, latest status)

    @property
    def credibility_pct(self) -> float:
        """Share of the site's streams that reported within STALE_AFTER of its newest reading (the site's
        own time: a demo's accelerated clock runs on a recorded day, far from the wall clock)."""
        return 100.0 * self.fresh / self.streams if self.streams else 0.0


def topic_of(stream: Stream) -> str:
    return f"v1.1/Datastreams({stream.id})/Observations"


def tile(household: Household, label: str, keys: tuple[str, ...], *, unit: str | None = None,
         scale: float = 1.0, digits: int = 0) -> Tile | None:
    stream = household.stream(*keys)
    if stream is None:
        return None
    latest = stream.latest
    return Tile(stream.key, label, latest.value if latest else None, unit if unit is not None else stream.unit or "",
                topic_of(stream), latest.time if latest else None, scale, digits)


def power_tiles(household: Household) -> list[Tile]:
    wanted = [("Grid (PCC, + import)", ("P_grid",)), ("House consumption", ("P_load",)),
              ("PV production", ("P_pv",)), ("Battery power (+ charge)", ("P_ess",))]
    tiles = [tile(household, label, keys, unit="kW", scale=0.001, digits=2) for label, keys in wanted]
    return [t for t in tiles if t is not None]


def battery_tiles(household: Household) -> list[Tile]:
    tiles = [tile(household, "State of charge", ("SoC",), digits=1), tile(household, "Inverter status", ("essStatus",)),
             tile(household, "Set-point in force", ("P_dc_setpoint",), unit="kW", scale=0.001, digits=2),
             tile(household, "Set-point priority", ("setpointPriority",)), tile(household, "Mode", ("lessagMode",))]
    return [t for t in tiles if t is not None]


def ev_tiles(household: Household) -> list[Tile]:
    tiles: list[Tile] = []
    for status in household.streams_ending("cpStatus"):
        prefix = status.key[: -len("cpStatus")]
        found = [tile(household, f"Charge point {prefix.rstrip('.') or ''} status".replace("  ", " "), (status.key,)),
                 tile(household, "Charging power", (prefix + "P_ev",), unit="kW", scale=0.001, digits=2)]
        tiles.extend(t for t in found if t is not None)
    return tiles


def ev_plugged(status: object) -> bool | None:
    """OCPP 1.6 status: a car is plugged in Preparing/Charging/SuspendedEV/SuspendedEVSE/Finishing."""
    if not isinstance(status, str):
        return None
    return status in {"Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing"}


def health(household: Household) -> Health:
    times = [s.latest.time for s in household.streams.values() if s.latest is not None]
    fresh = sum(1 for t in times if max(times) - t <= STALE_AFTER)
    statuses = tuple((s.name, str(s.latest.value)) for s in sorted(household.streams.values(), key=lambda s: s.key)
                     if s.is_device_status and s.latest is not None)
    return Health(max(times) if times else None, len(household.streams), fresh, statuses)


def energy_split(load_w_by_hour: list[float | None], grid_w_by_hour: list[float | None]) -> EnergySplit:
    """Today's consumption (kWh) and the part that came from the grid, from hourly mean powers (W):
    an hour's energy is its mean power × 1 h; grid energy counts imports only (consumer sign)."""
    consumption = sum(max(p, 0.0) for p in load_w_by_hour if p is not None) / 1000.0
    grid = sum(max(p, 0.0) for p in grid_w_by_hour if p is not None) / 1000.0
    return EnergySplit(consumption, min(grid, consumption) if consumption > 0 else grid)


@dataclass(frozen=True)
class Order:
    task_id: int
    created: str
    parameters: dict[str, Any]
    answer: str  # "accepted", "refused: <reason>", or "waiting"


def orders(tasks: list[dict[str, Any]], answers: list[dict[str, Any]]) -> list[Order]:
    """Pure: Tasks with the site's answer to each (the newest answer naming the Task wins)."""
    by_task: dict[int, str] = {}
    for answer in answers:
        parameters = answer.get("parameters") or {}
        task_id = parameters.get("taskId")
        if task_id is None:
            continue
        reason = parameters.get("reason")
        by_task[int(task_id)] = "accepted" if answer.get("result") is True else \
            f"refused: {reason}" if reason else "refused"
    return [Order(int(t["@iot.id"]), str(t.get("creationTime", "")), dict(t.get("taskingParameters") or {}),
                  by_task.get(int(t["@iot.id"]), "waiting")) for t in tasks]
