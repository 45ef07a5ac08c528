"""History of a household by day, month or year, from the server's aggregation (`$apply` with
`bucket(...)` and `timeweighted`, docs/aggregation.md), and its CSV/JSON export.

A bucket's energy is its time-weighted mean power × its length (an hour, a local day of 23 to 25 hours,
a month of 28 to 31 days)."""
from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sta_client import Query, StaClient, datetime_literal, string_literal


class Period(StrEnum):
    DAY = "day"
    MONTH = "month"
    YEAR = "year"


BUCKET = {Period.DAY: "PT1H", Period.MONTH: "P1D", Period.YEAR: "P1M"}
# A day's hours: time-weighted (irregular reporting, gaps); days and months: the plain mean, which the
# server answers from its hourly rollups (docs/aggregation.md) — the same for the regular 5-10 s
# readings of a site's meters, and 8 to 10 times faster over a week (docs/gui.md).
METHOD = {Period.DAY: "timeweighted", Period.MONTH: "average", Period.YEAR: "average"}
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


def series_query(period: Period, start: datetime, end: datetime, zone: str, stream_ids: list[int]) -> Query:
    """One request for every stream: time-weighted mean power per (Datastream, bucket)."""
    window = f"phenomenonTime ge {datetime_literal(start)} and phenomenonTime lt {datetime_literal(end)}"
    streams = f"Datastream/id in ({','.join(str(i) for i in stream_ids)})"
    bucket = f"bucket(phenomenonTime,{string_literal(BUCKET[period])},{string_literal(zone)})"
    return Query().apply(f"filter({streams} and {window})"
                         f"/groupby((Datastream/id,{bucket}),aggregate(result with {METHOD[period]} as mean))")


def bucket_end(period: Period, start: datetime) -> datetime:
    """The end of the bucket starting at `start` (aware, in the site's zone): an hour, or the next local
    day or month (23- and 25-hour days and months of any length come out right)."""
    if period is Period.DAY:
        return start + timedelta(hours=1)
    if period is Period.MONTH:
        following = start.date() + timedelta(days=1)
    else:
        following = (start.date().replace(day=1) + timedelta(days=32)).replace(day=1)
    return datetime(following.year, following.month, following.day, tzinfo=start.tzinfo)


def energy_kwh(period: Period, means: list[tuple[datetime, float | None]]) -> dict[datetime, float | None]:
    """Pure: bucket starts (aware, in the site's zone) and mean powers (W) -> energy per bucket (kWh)."""
    energies: dict[datetime, float | None] = {}
    for start, mean_w in means:
        # in UTC: Python subtracts two times of one zone as wall-clock times (a 23-hour day gives 24)
        hours = (bucket_end(period, start).astimezone(UTC) - start.astimezone(UTC)).total_seconds() / 3600.0
        energies[start] = None if mean_w is None else mean_w * hours / 1000.0
    return energies


def read_means(sta: StaClient, query: Query, zone: ZoneInfo) -> dict[int, list[tuple[datetime, float | None]]]:
    """Datastream id -> [(bucket start in `zone`, mean W)]."""
    means: dict[int, list[tuple[datetime, float | None]]] = {}
    for row in sta.get("Observations", query).get("value", []):
        mean = None if row.get("mean") is None else float(row["mean"])
        start = datetime.fromisoformat(str(row["phenomenonTime"])).astimezone(zone)
        means.setdefault(int(row["Datastream/id"]), []).append((start, mean))
    return means


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
