"""What writing a set of runs changes on the server (pure): a re-run of the same run id keeps the
Observations whose value is unchanged, deletes those that changed or are no longer part of the run,
and creates the rest. A first run deletes nothing and creates every step; an identical re-run
changes nothing (so "re-running the same run replaces, never duplicates" costs no writes)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from adapters.forecasts.runs import ForecastRun, rows_of
from sta_client.paths import EntityId


@dataclass(frozen=True)
class StoredStep:
    """An Observation of the run already on the server."""

    datastream: EntityId
    observation: EntityId
    start: pd.Timestamp
    result: Any


@dataclass(frozen=True)
class WritePlan:
    deletes: tuple[EntityId, ...]
    groups: tuple[tuple[EntityId, tuple[list[Any], ...]], ...]  # (Datastream, dataArray rows to create)

    @property
    def creates(self) -> int:
        return sum(len(rows) for _, rows in self.groups)


def plan_write(runs: Sequence[tuple[EntityId, ForecastRun]], stored: Sequence[StoredStep]) -> WritePlan:
    """The deletes and creates that make the server hold exactly `runs` (call `check_run` first)."""
    by_key = {(str(step.datastream), step.start): step for step in stored}
    keep: set[tuple[str, pd.Timestamp]] = set()
    groups = []
    for stream, run in runs:
        rows = rows_of(run)
        missing = []
        for start, row in zip(run.values.index, rows, strict=True):
            key = (str(stream), pd.Timestamp(start))
            old = by_key.get(key)
            if old is not None and _same(old.result, row[1]):
                keep.add(key)
            else:
                missing.append(row)
        if missing:
            groups.append((stream, tuple(missing)))
    deletes = tuple(step.observation for key, step in by_key.items() if key not in keep)
    return WritePlan(deletes, tuple(groups))


def _same(stored: Any, value: float) -> bool:
    return isinstance(stored, int | float) and math.isclose(float(stored), value, rel_tol=1e-12, abs_tol=1e-9)
