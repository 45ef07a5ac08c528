"""What-if results as tables: the simulation engine's result Datastreams (its Things of kind
`simulation`) sorted into bus voltages, line loading, losses, KPIs, progress and the rest, by key and
unit. A JSON result (a KPI set, a sweep) becomes one row per member. Pure.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
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
