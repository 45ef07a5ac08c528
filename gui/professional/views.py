"""The professional GUI's pages (DSO grid operators, aggregators): `blueprint`, mounted at /pro.

Every read and every Task is made as the logged-in user (`gui.auth.sta()`), so a page shows exactly what
the server lets that user see. Views are thin: read (reads.py), shape (overview, svgmap, schedule,
commands: pure), render or export (export.py).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for

from gui.auth import login_required, sta
from gui.professional import reads
from gui.professional.commands import form_fields, task_parameters
from gui.professional.controller_status import (
    NO_RADIAL,
    Answer,
    RadialStatus,
    answers,
    columns,
    status_by_radial,
    summary,
)
from gui.professional.export import to_csv
from gui.professional.gridresults import read_results
from gui.professional.overview import ess_summaries, radial_rows, site_statuses
from gui.professional.schedule import compare, latest_plan, parse_time
from gui.professional.svgmap import draw
from gui.professional.topology import read_grid
from gui.professional.whatif import result_tables, sweep
from sta_client import StaClient, StaError

log = logging.getLogger(__name__)
blueprint = Blueprint("professional", __name__, url_prefix="/pro", template_folder="templates",
                      static_folder="static", static_url_path="/static/professional")
CONTROLLER_KINDS = ("controller",)
ESS_KINDS = ("ess", "grid-ess")
SIMULATION_KINDS = ("simulation",)
CHART_POINTS = 120  # the PCC power already measured, shown in the live chart when the page opens
STATUS_DEPTH = 200  # Observations read per controller status stream: the newest of each radial is among them


def _csv(text: str, name: str) -> Response:
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


def _local_path(target: str | None) -> str | None:
    """A path of this site only (no scheme, no `//host`): the "Back" link never leaves the GUI."""
    return target if target and target.startswith("/") and not target.startswith("//") else None


@blueprint.errorhandler(StaError)
def server_failed(error: StaError) -> tuple[str, int]:
    """A read the server refused or did not answer: say so (never a traceback), 502."""
    log.warning("professional page %s: the server answered %s", request.path, error)
    return render_template("professional/unavailable.html", error=error), 502


def chart_points(observations: Iterable[dict[str, Any]]) -> list[tuple[float, float]]:
    """(epoch seconds, value) of numeric Observations, oldest first."""
    points = [(parse_time(o["phenomenonTime"]).timestamp(), float(o["result"])) for o in observations
              if isinstance(o.get("phenomenonTime"), str) and isinstance(o.get("result"), int | float)
              and not isinstance(o.get("result"), bool)]
    return sorted(points)


def _data_now(rows: list[reads.Latest]) -> datetime:
    """'Now' for staleness is the newest Observation on the page: the platform may run on an
    accelerated or stepped clock, which this process does not share."""
    times = [row.time for row in rows if row.time is not None]
    return max(times) if times else datetime.now(UTC)


def _grid_view() -> dict[str, Any]:
    client = sta()
    grid = read_grid(reads.read_things_geojson(client))
    latest = reads.read_latest(client)
    statuses = site_statuses(latest, _data_now(latest))
    buses, lines = read_results(reads.read_simulated_grid(client))
    ess = ess_summaries(latest)
    live: list[dict[str, Any]] = [{"topic": row.topic, "site": row.site_id, "key": row.key, "name": row.name}
                                  for row in latest if row.site_id and row.multi]
    live += [{"topic": row.topic, "site": row.site_id, "key": row.key, "name": row.name,
              "history": chart_points(row.recent)}
             for row in reads.read_history(client, "P_grid", CHART_POINTS) if row.site_id]
    live += [{"topic": bus.topic, "site": None, "key": "vm", "bus": bus.key} for bus in buses]
    return {"grid": grid, "statuses": statuses, "drawing": draw(grid, statuses, buses, lines), "ess": ess,
            "radials": radial_rows(grid, statuses, ess), "live": live}


@blueprint.route("/")
@login_required
def index() -> str:
    return render_template("professional/map.html", **_grid_view())


@blueprint.route("/sites.csv")
@login_required
def sites_csv() -> Response:
    view = _grid_view()
    rows = []
    for site in view["grid"].sites:
        status = view["statuses"].get(site.site_id)
        values = ((status.voltage_v, status.band.value, status.state.value, status.power_w, status.soc_pct,
                   status.last_contact) if status else (None,) * 6)
        rows.append((site.site_id, site.name, site.radial_id, site.position[1], site.position[0], *values))
    header = ("siteId", "name", "radialId", "latitude", "longitude", "voltage_V", "voltageBand", "state",
              "P_grid_W", "SoC_pct", "lastContact")
    return _csv(to_csv(header, rows), "sites")


def _answers(client: StaClient, tasks: Iterable[dict[str, Any]]) -> dict[str, Answer]:
    return answers(reads.read_answers(client, [int(task["@iot.id"]) for task in tasks]))


def _capabilities(things: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"thing": thing, "capability": capability,
             "fields": form_fields(capability.get("taskingParameters") or {})}
            for thing in things for capability in thing.get("TaskingCapabilities") or []]


@dataclass(frozen=True)
class ControllerTable:
    """One controller's status: its name, the columns (status keys) and a row per radial."""

    thing_id: int
    name: str
    columns: list[str]
    rows: list[RadialStatus]


def _controller_table(client: StaClient, thing: dict[str, Any]) -> tuple[ControllerTable, list[reads.Latest]]:
    """Everything the server shows of the Thing: no hiding here (the GESSCon has a Thing per radial, labelled
    `radial:…`, so the server decides which radials' status the user reads)."""
    streams = reads.read_thing_streams(client, int(thing["@iot.id"]), STATUS_DEPTH)
    own = (thing.get("properties") or {}).get("radialId")
    rows = status_by_radial({s.key: s.recent for s in streams}, str(own) if own else NO_RADIAL)
    return ControllerTable(int(thing["@iot.id"]), str(thing.get("name")), columns(s.key for s in streams),
                           rows), streams


def _control_view() -> dict[str, Any]:
    client = sta()
    controllers = reads.read_things(client, CONTROLLER_KINDS)
    view = _grid_view()
    tables, topics = [], {}
    for thing in controllers:
        table, streams = _controller_table(client, thing)
        tables.append(table)
        topics.update({s.topic: {"key": s.key, "controller": table.thing_id} for s in streams})
    commands = _capabilities(controllers)
    tasks = {c["capability"]["@iot.id"]: reads.read_tasks(client, int(c["capability"]["@iot.id"]), 5)
             for c in commands}
    return {**view, "controllers": controllers, "tables": tables, "commands": commands, "tasks": tasks,
            "answers": _answers(client, (t for listed in tasks.values() for t in listed)), "summary": summary,
            "status_topics": topics}


@blueprint.route("/control")
@login_required
def control() -> str:
    return render_template("professional/control.html", **_control_view())


@blueprint.route("/control.csv")
@login_required
def control_csv() -> Response:
    view = _control_view()
    rows: list[tuple[Any, ...]] = [(table.name, key, radial.radial_id, cell.time, summary(cell.result))
                                   for table in view["tables"] for radial in table.rows
                                   for key, cell in radial.cells.items()]
    rows += [("measured", "overview", r.radial_id, None,
              f"sites={r.sites} band={r.band.value} essWithinBounds={r.ess_within_bounds}")
             for r in view["radials"]]
    return _csv(to_csv(("source", "key", "radialId", "time", "result"), rows), "gesscon-status")


@blueprint.route("/task/<int:capability_id>", methods=["POST"])
@login_required
def create_task(capability_id: int) -> tuple[str, int]:
    """A command from any form: the capability's fields → the Task's parameters → the server. Its
    refusal (400: the parameters do not match the capability) is shown as the server wrote it."""
    client = sta()
    try:
        capability = reads.read_capability(client, capability_id)
    except StaError as error:
        abort(404 if error.status == 404 else 502)
    parameters = task_parameters(form_fields(capability.get("taskingParameters") or {}),
                                 {key: request.form.getlist(key) for key in request.form})
    back = _local_path(request.form.get("back")) or url_for("professional.control")
    try:
        task_id = client.create_task(capability_id, parameters)
    except StaError as error:
        log.info("task on capability %s refused (%s): %s", capability_id, error.status, error.message)
        return render_template("professional/task.html", capability=capability, parameters=parameters,
                               error=error, task_id=None, back=back), error.status if 400 <= error.status < 500 else 502
    return render_template("professional/task.html", capability=capability, parameters=parameters, error=None,
                           task_id=task_id, back=back), 201


@blueprint.route("/ess")
@login_required
def ess_list() -> str:
    things = reads.read_things(sta(), ESS_KINDS)
    return render_template("professional/ess_list.html", things=things)


def _ess_view(thing_id: int) -> dict[str, Any]:
    client = sta()
    try:
        thing = reads.read_thing(client, thing_id)
    except StaError as error:
        abort(404 if error.status == 404 else 502)
    streams = {row.key: row for row in reads.read_thing_streams(client, thing_id)}
    capabilities = thing.get("TaskingCapabilities") or []
    schedule_caps = [c for c in capabilities if (c.get("properties") or {}).get("key") == "ess_schedule"]
    tasks = [t for c in schedule_caps for t in reads.read_tasks(client, int(c["@iot.id"]), 20)]
    steps = latest_plan(sorted(tasks, key=lambda t: str(t.get("creationTime")), reverse=True))
    since, until = (steps[0].start, steps[-1].start) if steps else (None, None)

    def series(key: str) -> list[tuple[datetime, float]]:
        row = streams.get(key)
        if row is None:
            return []
        return [(t, float(v)) for t, v in reads.read_series(client, row.stream_id, since, until)
                if isinstance(v, int | float)]

    rows = compare(steps, series("P_ess"), series("SoC"))
    others = [c for c in capabilities if c not in schedule_caps]
    chart = {"time": [r.time.timestamp() for r in rows], "planned": [r.planned_w for r in rows],
             "actual": [r.actual_w for r in rows], "soc": [r.soc_pct for r in rows],
             "topics": {key: streams[key].topic for key in ("P_ess", "SoC") if key in streams}}
    return {"thing": thing, "rows": rows, "streams": streams, "tasks": tasks, "chart": chart,
            "answers": _answers(client, tasks),
            "commands": _capabilities([{**thing, "TaskingCapabilities": others}])}


@blueprint.route("/ess/<int:thing_id>")
@login_required
def ess(thing_id: int) -> str:
    return render_template("professional/ess.html", **_ess_view(thing_id))


@blueprint.route("/ess/<int:thing_id>.csv")
@login_required
def ess_csv(thing_id: int) -> Response:
    rows = [(r.time, r.planned_w, r.actual_w, r.soc_pct) for r in _ess_view(thing_id)["rows"]]
    return _csv(to_csv(("time", "planned_W", "actual_W", "SoC_pct"), rows), f"ess-{thing_id}")


def _whatif_view() -> dict[str, Any]:
    client = sta()
    engines = reads.read_engines(client)
    commands = _capabilities(engines)
    jobs = {c["capability"]["@iot.id"]: reads.read_tasks(client, int(c["capability"]["@iot.id"]), 10)
            for c in commands}
    studies = reads.read_studies(client)
    chosen = request.args.get("study", type=int) or (int(studies[0]["@iot.id"]) if studies else None)
    study = next((s for s in studies if int(s["@iot.id"]) == chosen), None)
    results = reads.read_thing_streams(client, int(study["@iot.id"])) if study is not None else []
    return {"engines": engines, "commands": commands, "jobs": jobs, "sweep": sweep(studies), "study": study,
            "tables": result_tables(results),
            "study_of_task": {str((s.get("properties") or {}).get("taskId")): s["@iot.id"] for s in studies},
            "answers": _answers(client, (t for listed in jobs.values() for t in listed))}


@blueprint.route("/whatif")
@login_required
def whatif() -> str:
    return render_template("professional/whatif.html", **_whatif_view())


@blueprint.route("/whatif.csv")
@login_required
def whatif_csv() -> Response:
    """The shown study's results."""
    view = _whatif_view()
    study = view["study"]["@iot.id"] if view["study"] else None
    rows = [(table.title, study, *row) for table in view["tables"] for row in table.rows]
    return _csv(to_csv(("table", "study", "name", "key", "unit", "time", "value"), rows), f"whatif-{study}")


@blueprint.route("/whatif-sweep.csv")
@login_required
def whatif_sweep_csv() -> Response:
    """The studies side by side (the penetration sweep)."""
    table = _whatif_view()["sweep"]
    return _csv(to_csv(("study", "taskId", *table.columns), table.rows), "whatif-sweep")
