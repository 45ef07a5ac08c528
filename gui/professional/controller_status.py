"""A controller's status per radial (D3.1 tables 5 and 8). The GESSCon has one Thing per radial (its
`properties.radialId`), so the server shows a user exactly the radials it is granted; each Observation also
names its radial in `parameters.radialId`. The page shows the newest value of every stream for every radial
the Thing's Observations name (the Thing's own radial when they name none). Pure.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gui.professional.schedule import parse_time

# the order of the columns: the solution in force, the ESS, then the answers to commands (T5/T8)
PREFERRED = ("radialSolution", "essWithinBounds", "essOverview", "radialState", "commandError",
             "commandAccepted")
NO_RADIAL = "(all radials)"


@dataclass(frozen=True)
class Cell:
    time: datetime | None
    result: Any
    parameters: Mapping[str, Any]


@dataclass(frozen=True)
class RadialStatus:
    radial_id: str
    cells: Mapping[str, Cell]  # status key -> newest value


def columns(keys: Iterable[str]) -> list[str]:
    present = set(keys)
    return [k for k in PREFERRED if k in present] + sorted(present - set(PREFERRED))


def status_by_radial(observations: Mapping[str, Sequence[Mapping[str, Any]]],
                     default: str = NO_RADIAL) -> list[RadialStatus]:
    """`observations[key]` newest first (as read with `$orderby=phenomenonTime desc`); an Observation
    without `parameters.radialId` belongs to `default` (the Thing's own radial, if it has one)."""
    table: dict[str, dict[str, Cell]] = {}
    for key, rows in observations.items():
        for row in rows:
            parameters = row.get("parameters") or {}
            radial = str(parameters.get("radialId") or default)
            if key in table.setdefault(radial, {}):
                continue
            time = row.get("phenomenonTime")
            table[radial][key] = Cell(parse_time(time) if isinstance(time, str) else None, row.get("result"),
                                      parameters)
    return [RadialStatus(radial, table[radial]) for radial in sorted(table)]


def summary(result: Any) -> str:
    """A short text of a status result: objects and lists of objects as `name=value` pairs."""
    if isinstance(result, bool):
        return "yes" if result else "no"
    if isinstance(result, dict):
        return ", ".join(f"{k}={summary(v)}" for k, v in result.items() if not isinstance(v, dict | list))
    if isinstance(result, list):
        return "; ".join(summary(item) for item in result[:12]) + (" …" if len(result) > 12 else "")
    return "–" if result is None else str(result)


@dataclass(frozen=True)
class Answer:
    """What the controller, agent or engine answered to a Task (Observations with `parameters.taskId`):
    accepted/refused (a truth), or a job's state (a category: queued, running, done, ...)."""

    state: str
    reason: str
    time: datetime | None
    progress_pct: float | None = None

    @property
    def accepted(self) -> bool | None:
        return {"accepted": True, "refused": False}.get(self.state)


def answers(rows: Iterable[Mapping[str, Any]]) -> dict[str, Answer]:
    """Task id (as text) -> the newest true/false or text answer, with the newest number (a progress)
    beside it; a number alone (a set-point in force) is no answer."""
    found: dict[str, Answer] = {}
    progress: dict[str, float] = {}
    for row in sorted(rows, key=lambda r: str(r.get("phenomenonTime") or ""), reverse=True):
        parameters = row.get("parameters") or {}
        task_id, result = parameters.get("taskId"), row.get("result")
        if task_id is None:
            continue
        key = str(task_id)
        if isinstance(result, int | float) and not isinstance(result, bool):
            progress.setdefault(key, float(result))
            continue
        if key in found or not isinstance(result, bool | str):
            continue
        state = ("accepted" if result else "refused") if isinstance(result, bool) else result
        time = row.get("phenomenonTime")
        found[key] = Answer(state, str(parameters.get("reason") or parameters.get("error") or ""),
                            parse_time(time) if isinstance(time, str) else None)
    return {key: Answer(a.state, a.reason, a.time, progress.get(key)) for key, a in found.items()}
