"""What a whole-site test reads back from the server: a site's Observations by stream key, unit symbols,
and the checks every telemetry stream must pass (its declared period on the clock)."""
from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from agents.commissioning import SiteIds
from sta_client import Query, StaClient


async def until(condition: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Wait for `condition` (run in a thread) to return something truthy, at most `timeout_s` real seconds."""
    deadline = time.monotonic() + timeout_s
    while not (found := await asyncio.to_thread(condition)):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.5)
    return found


def moment(row: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(row["phenomenonTime"]).split("/")[0].replace("Z", "+00:00"))


class SiteObservations:
    def __init__(self, client: StaClient, ids: SiteIds) -> None:
        self.client, self.ids = client, ids

    def path(self, key: str) -> str:
        if key in self.ids.multidatastreams:
            return f"MultiDatastreams({self.ids.multidatastreams[key]})"
        return f"Datastreams({self.ids.datastreams[key]})"

    def rows(self, key: str) -> list[dict[str, Any]]:
        query = Query().select("phenomenonTime", "result").orderby("phenomenonTime asc").top(1000)
        return list(self.client.iter(f"{self.path(key)}/Observations", query))

    def units(self, keys: Iterable[str]) -> dict[str, Any]:
        """Key -> the unit symbol of a Datastream, the set of symbols of a MultiDatastream."""
        found: dict[str, Any] = {}
        for key in keys:
            entity = self.client.get(self.path(key))
            found[key] = ({u["symbol"] for u in entity["unitOfMeasurements"]} if key in self.ids.multidatastreams
                          else entity["unitOfMeasurement"]["symbol"])
        return found

    def at_least(self, keys: Iterable[str], count: int) -> dict[str, list[dict[str, Any]]] | None:
        rows = {key: self.rows(key) for key in keys}
        return rows if all(len(found) >= count for found in rows.values()) else None

    def after(self, key: str, since: datetime, keep: Callable[[Any], bool] = lambda _: True) -> list[dict[str, Any]]:
        return [row for row in self.rows(key) if moment(row) > since and keep(row["result"])]


def check_periods(rows: dict[str, list[dict[str, Any]]], period_s: float) -> None:
    """Every stream's Observations are `period_s` apart on the clock (median), and never more than 10 s
    (D3.1: 2-10 s); the first gap may include the wait for a device's connection."""
    for key, found in rows.items():
        gaps = [(moment(b) - moment(a)).total_seconds() for a, b in zip(found, found[1:], strict=False)]
        assert 0.8 * period_s <= statistics.median(gaps) <= 1.4 * period_s, (key, gaps)
        assert all(1 <= gap <= 10 for gap in gaps[1:]), (key, gaps)


def nearest(rows: list[dict[str, Any]], when: datetime, within_s: float) -> float:
    best = min(rows, key=lambda row: abs((moment(row) - when).total_seconds()))
    assert abs((moment(best) - when).total_seconds()) <= within_s, (when, best)
    return float(best["result"])
