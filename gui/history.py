"""History of a household by day, month or year, from the server's aggregation (`$apply` with
`bucket(...)` and `timeweighted`, docs/aggregation.md), and its CSV/JSON export.

A bucket's energy is its time-weighted mean power × its length (the next bucket's start, or the
period's end, minus its start: local days of 23 or 25 hours and months of any length come out right)."""
from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sta_client import Query, StaClient, datetime_literal, string_literal


class Period(StrEnum):
    DAY = "day"
    MONTH = "month"
    YEAR = "year"


BUCKET = {Period.DAY: "PT1H", Period.MONTH: "P1D", Period.YEAR: "P1M"}
SERIES = {"consumption_kwh": ("P_load",), "grid_kwh": ("P_grid",), "pv_kwh": ("P_pv",)}


@dataclass(frozen=True)
class HistoryRow:
    start: str  # ISO 8601 with the site's offset
    consumption_kwh: float | None
    grid_kwh: float | None  # net: + import
    pv_kwh: float | None


def period_bounds(period: Period, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The local period holding `day`: [start, end) as aware datetimes in `zone`."""
    if period is Period.DAY:
        start, end = day, day + timedelta(days=1)
    elif period is Period.MONTH:
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    else:
        start, end = day.replace(month=1, day=1), day.replace(year=day.year + 1, month=1, day=1)
    return (datetime(start.year, start.month, start.day, tzinfo=zone),
            datetime(end.year, end.month, end.day, tzinfo=zone))


def series_query(period: Period, start: datetime, end: datetime, zone: str) -> Query:
    window = f"phenomenonTime ge {datetime_literal(start)} and phenomenonTime lt {datetime_literal(end)}"
    bucket = f"bucket(phenomenonTime,{string_literal(BUCKET[period])},{string_literal(zone)})"
    return Query().apply(f"filter({window})/groupby(({bucket}),aggregate(result with timeweighted as mean))")


def energy_kwh(means: list[tuple[datetime, float | None]], end: datetime) -> dict[datetime, float | None]:
    """Pure: bucket starts and mean powers (W) -> energy per bucket (kWh)."""
    ordered = sorted(means)
    energies: dict[datetime, float | None] = {}
    for index, (start, mean_w) in enumerate(ordered):
        stop = ordered[index + 1][0] if index + 1 < len(ordered) else end
        hours = (stop - start).total_seconds() / 3600.0
        energies[start] = None if mean_w is None else mean_w * hours / 1000.0
    return energies


def read_means(sta: StaClient, stream_id: int, query: Query) -> list[tuple[datetime, float | None]]:
    rows = sta.get(f"Datastreams({stream_id})/Observations", query).get("value", [])
    return [(datetime.fromisoformat(str(row["phenomenonTime"])),
             None if row.get("mean") is None else float(row["mean"])) for row in rows]


def history_rows(columns: dict[str, dict[datetime, float | None]]) -> list[HistoryRow]:
    """Pure: one row per bucket start found in any column."""
    starts = sorted({start for energies in columns.values() for start in energies})
    return [HistoryRow(start.isoformat(), *(columns.get(name, {}).get(start) for name in SERIES)) for start in starts]


def to_csv(rows: list[HistoryRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["start", *SERIES])
    for row in rows:
        writer.writerow([row.start, *("" if v is None else f"{v:.4f}" for v in
                                      (row.consumption_kwh, row.grid_kwh, row.pv_kwh))])
    return out.getvalue()


def to_json(rows: list[HistoryRow]) -> list[dict[str, object]]:
    return [asdict(row) for row in rows]


def chart_columns(rows: list[HistoryRow]) -> list[list[float | None]]:
    """uPlot's columns: unix seconds, then one column per series."""
    return [[datetime.fromisoformat(row.start).timestamp() for row in rows],
            [row.consumption_kwh for row in rows], [row.grid_kwh for row in rows], [row.pv_kwh for row in rows]]
