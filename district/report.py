"""The KPI and invariant report of a district period, read from the server through `sta_client` (as an
administrator): per site its streams' credibility, its Tasks and their acknowledgements, its PCC and
PV power; plus the children that failed. `render` gives the text, `as_json` the machine-readable form."""
from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from district.kpis import PowerKpis, SiteReport, Window, power_kpis, stream_stats, task_stats
from district.manifest import SiteFacts
from sta_client import Query, StaClient, entity_path, string_literal
from sta_client.query import datetime_literal

log = logging.getLogger("district.report")

ACK_PROPERTY = "setpoint-accepted"  # the ObservedProperty key of a Task's accepted/refused Datastream
PV_PROPERTY = "pv-power"
PAGE = 10_000
ANSWER_HORIZON = timedelta(days=2)


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.split("/", maxsplit=1)[0].replace("Z", "+00:00"))


def _window_filter(window: Window) -> str:
    return (f"phenomenonTime ge {datetime_literal(window.start)} "
            f"and phenomenonTime lt {datetime_literal(window.end)}")


def site_streams(client: StaClient, site_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                                           list[dict[str, Any]]]:
    """The site's Datastreams, MultiDatastreams and TaskingCapabilities (each with its `properties`)."""
    query = (Query().filter(f"properties/siteId eq {string_literal(site_id)}").select("id")
             .expand("Datastreams", Query().select("id", "properties").expand("ObservedProperty",
                                                                               Query().select("definition")))
             .expand("MultiDatastreams", Query().select("id", "properties"))
             .expand("TaskingCapabilities", Query().select("id", "properties")))
    streams: list[dict[str, Any]] = []
    multi: list[dict[str, Any]] = []
    capabilities: list[dict[str, Any]] = []
    for thing in client.iter("Things", query):
        streams += thing.get("Datastreams", [])
        multi += thing.get("MultiDatastreams", [])
        capabilities += thing.get("TaskingCapabilities", [])
    return streams, multi, capabilities


def observations(client: StaClient, entity_set: str, ident: Any, window: Window,
                 *select: str) -> Iterable[dict[str, Any]]:
    query = (Query().filter(_window_filter(window)).select("phenomenonTime", *select)
             .orderby("phenomenonTime asc").top(PAGE))
    return client.iter(entity_path(entity_set, ident, "Observations"), query)


def site_report(client: StaClient, facts: SiteFacts, window: Window, tolerated_gap_s: float) -> SiteReport:
    report = SiteReport(facts.site_id)
    streams, multi, capabilities = site_streams(client, facts.site_id)
    answers: dict[str, bool] = {}
    series: dict[str, list[tuple[datetime, float]]] = {}
    pv_keys = []
    for stream in streams:
        key = str(stream.get("properties", {}).get("key", stream["@iot.id"]))
        definition = str(stream.get("ObservedProperty", {}).get("definition", ""))
        acknowledgements = definition.endswith(ACK_PROPERTY)
        # a Task created late in the period is answered after its end: answers are read up to now
        read_window = dataclasses.replace(window, end=window.end + ANSWER_HORIZON) if acknowledgements else window
        rows = list(observations(client, "Datastreams", stream["@iot.id"], read_window, "resultTime",
                                 *(("result", "parameters") if acknowledgements else ("result",))))
        answer_rows = rows
        rows = [row for row in rows if _when(row["phenomenonTime"]) < window.end]
        times = [_when(row["phenomenonTime"]) for row in rows]
        report.streams.append(stream_stats(key, times, facts.telemetry_s.get(key), window, tolerated_gap_s,
                                           [row.get("resultTime") for row in rows]))
        if acknowledgements:
            for row in answer_rows:
                task = (row.get("parameters") or {}).get("taskId")
                if task is not None:
                    answers[str(task)] = bool(row.get("result"))
        if definition.endswith(PV_PROPERTY):
            pv_keys.append(key)
        if key == "P_grid" or definition.endswith(PV_PROPERTY):
            series[key] = [(moment, float(row["result"])) for moment, row in zip(times, rows, strict=True)
                           if isinstance(row.get("result"), int | float)]
    for stream in multi:
        key = str(stream.get("properties", {}).get("key", stream["@iot.id"]))
        rows = list(observations(client, "MultiDatastreams", stream["@iot.id"], window, "resultTime"))
        report.streams.append(stream_stats(key, [_when(row["phenomenonTime"]) for row in rows],
                                           facts.telemetry_s.get(key), window, tolerated_gap_s,
                                           [row.get("resultTime") for row in rows]))
    task_ids = []
    for capability in capabilities:
        query = Query().filter(f"creationTime ge {datetime_literal(window.tasks_since)}").select("id").top(PAGE)
        task_ids += [str(task["@iot.id"]) for task in
                     client.iter(entity_path("TaskingCapabilities", capability["@iot.id"], "Tasks"), query)]
    report.tasks = task_stats(task_ids, answers)
    report.power = power_kpis(series.get("P_grid", []), [series[key] for key in pv_keys],
                              facts.contract_in_w, facts.contract_out_w)
    return report


@dataclasses.dataclass
class DistrictReport:
    window: Window
    sites: list[SiteReport]
    child_failures: dict[str, list[int]]  # children other than field processes that exited unexpectedly
    left_out: list[str] = dataclasses.field(default_factory=list)  # parts not started (module missing)

    def failures(self) -> list[str]:
        found = [f"{site.site_id}: {failure}" for site in self.sites for failure in site.failures()]
        found += [f"{name}: exited {len(codes)} time(s) (status {', '.join(map(str, codes))})"
                  for name, codes in self.child_failures.items() if codes]
        return found


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def _kw(value: float | None) -> str:
    return "-" if value is None else f"{value / 1000:.1f} kW"


def render(report: DistrictReport, contracts: Mapping[str, tuple[float | None, float | None]]) -> str:
    lines = [f"District report: simulated {report.window.start.isoformat()} to {report.window.end.isoformat()} "
             f"({report.window.seconds / 3600:.2f} h); Tasks created since {report.window.tasks_since.isoformat()}",
             "",
             f"{'site':<14}{'obs expected':>13}{'received':>10}{'credib.':>9}{'dupl.':>7}{'gaps':>6}"
             f"{'tasks':>7}{'acked':>7}{'lost':>6}{'max imp.':>10}{'max exp.':>10}{'contract in/out':>19}"
             f"{'over':>8}{'self-cons.':>11}"]
    for site in report.sites:
        power: PowerKpis = site.power
        contract_in, contract_out = contracts.get(site.site_id, (None, None))
        lines.append(
            f"{site.site_id:<14}{site.expected:>13}{site.received:>10}{_pct(site.credibility):>9}"
            f"{sum(s.duplicates for s in site.streams):>7}{sum(s.missing_gaps for s in site.streams):>6}"
            f"{site.tasks.created:>7}{site.tasks.acknowledged:>7}{len(site.tasks.lost):>6}"
            f"{_kw(power.max_import_w):>10}{_kw(power.max_export_w):>10}"
            f" {_kw(contract_in) + ' / ' + _kw(contract_out):>18}{_pct(power.over_contract_share):>8}"
            f"{_pct(power.self_consumption):>11}")
    lines.append("")
    if report.left_out:
        lines.append("not started (module missing): " + ", ".join(report.left_out))
    failures = report.failures()
    lines.append("invariants: all hold" if not failures else "invariants FAILED:")
    lines += [f"  - {failure}" for failure in failures]
    return "\n".join(lines)


def as_json(report: DistrictReport) -> str:
    def convert(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        raise TypeError(type(value))

    body = {"window": dataclasses.asdict(report.window),
            "sites": [{**dataclasses.asdict(site), "expected": site.expected, "received": site.received,
                       "credibility": site.credibility, "failures": site.failures()} for site in report.sites],
            "child_failures": report.child_failures, "left_out": report.left_out, "failures": report.failures()}
    return json.dumps(body, indent=2, default=convert)
