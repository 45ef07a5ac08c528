"""What-if studies as tables. The engine (simulation/whatif) makes one `simulation` Thing per job
(`properties.role = "whatif-study"`, with the job's `taskId`, its `request`, `status` and, at the end,
`kpis`): the studies side by side are the penetration sweep; one study's result Datastreams are sorted
into bus voltages, line loading, losses, KPIs, progress and the rest, by key and unit. A JSON result
(a KPI set) becomes one row per member. Pure.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gui.professional.reads import Latest

Row = tuple[str, str, str, datetime | None, Any]
VOLTAGE_UNITS = ("pu", "/", "%EL", "V")


def _last(key: str) -> str:
    """The quantity of a key such as `bus7.vm` or `line3.loading` (simulation/entities.py)."""
    return key.rsplit(".", 1)[-1].lower()


TABLES: tuple[tuple[str, Callable[[str, str], bool]], ...] = (
    ("Voltages per bus", lambda key, unit: _last(key) in ("vm", "v", "v_max", "v_min") or unit in VOLTAGE_UNITS),
    ("Line loading", lambda key, unit: "loading" in _last(key)),
    ("Losses", lambda key, unit: "loss" in _last(key)),
    ("KPIs", lambda key, unit: _last(key).startswith("kpi")),
    ("Progress and status", lambda key, unit: _last(key) in ("progress", "status", "jobstatus", "jobstate")),
)


@dataclass(frozen=True)
class Table:
    title: str
    rows: tuple[Row, ...]


def _rows(stream: Latest) -> list[Row]:
    if isinstance(stream.result, dict):
        return [(f"{stream.name} · {member}", stream.key, stream.unit, stream.time, value)
                for member, value in sorted(stream.result.items())]
    return [(stream.name, stream.key, stream.unit, stream.time, stream.result)]


def result_tables(streams: Iterable[Latest]) -> list[Table]:
    grouped: dict[str, list[Row]] = {title: [] for title, _ in TABLES}
    grouped["Other results"] = []
    for stream in streams:
        title = next((title for title, matches in TABLES if matches(stream.key, stream.unit)), "Other results")
        grouped[title].extend(_rows(stream))
    return [Table(title, tuple(rows)) for title, rows in grouped.items() if rows]


REQUEST_COLUMNS = ("grid", "pvPenetration", "evPenetration", "essPenetration", "placement", "controlMode",
                   "startTime", "stopTime")


@dataclass(frozen=True)
class Sweep:
    """The studies side by side: request parameters, status and every scalar KPI."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]  # (thing id, task id, *columns)


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


def sweep(studies: Iterable[Mapping[str, Any]]) -> Sweep:
    """Study Things (newest first) → one row each."""
    things = [(thing, thing.get("properties") or {}) for thing in studies]
    kpi_names = sorted({name for _, props in things for name, value in (props.get("kpis") or {}).items()
                        if _scalar(value)})
    columns = (*REQUEST_COLUMNS, "status", *kpi_names)
    rows = []
    for thing, props in things:
        request = props.get("request") or {}
        kpis = props.get("kpis") or {}
        values = [request.get(name) for name in REQUEST_COLUMNS] + [props.get("status")]
        values += [kpis.get(name) for name in kpi_names]
        rows.append((thing.get("@iot.id"), props.get("taskId"), *values))
    return Sweep(columns, tuple(rows))
