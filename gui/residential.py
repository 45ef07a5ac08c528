"""The residential GUI (one household): `/home/<site id>` (live dashboard, mode switch, manual
set-point), `/home/<site id>/history` (day/month/year, CSV/JSON export). Every read and every Task is
made as the logged-in user: a site the server does not show them is a 404 here too."""
from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from gui import commands, dashboard, history
from gui.auth import login_required, sta
from gui.households import Household, load_household
from sta_client import Query, StaClient
from sta_client.errors import StaError

log = logging.getLogger(__name__)
blueprint = Blueprint("residential", __name__, url_prefix="/home")


def household_or_404(site_id: str) -> Household:
    found = load_household(sta(), site_id)
    if found is None:
        abort(404, description="No such household (or not yours).")
    return found


def zone_of(household: Household) -> ZoneInfo:
    for name in (household.timezone, current_app.config["GUI_TIMEZONE"], "UTC"):
        try:
            return ZoneInfo(str(name))
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


def site_now(household: Household) -> datetime:
    """The site's clock as the server last heard it (a demo runs in accelerated time on a recorded day),
    else the wall clock."""
    return dashboard.health(household).last_contact or datetime.now(UTC)


def read_history(client: StaClient, household: Household, period: history.Period,
                 day: date) -> list[history.HistoryRow]:
    zone = zone_of(household)
    start, end = history.period_bounds(period, day, zone)
    streams = {column: household.stream(*keys) for column, keys in history.SERIES.items()}
    ids = {column: stream.id for column, stream in streams.items() if stream is not None}
    if not ids:
        return []
    means = history.read_means(client, history.series_query(period, start, end, zone.key, sorted(ids.values())), zone)
    columns = {column: history.energy_kwh(period, means.get(stream_id, [])) for column, stream_id in ids.items()}
    return history.history_rows(columns)


def recent_tasks(client: StaClient, household: Household) -> list[dashboard.Order]:
    """The newest orders on the resident's capabilities, with the site's answers (`setpointAccepted`
    Observations naming the Task in `parameters.taskId`)."""
    ids = [c.id for c in (commands.setpoint_capability(household), commands.mode_capability(household)) if c]
    tasks: list[dict[str, Any]] = []
    for capability_id in ids:
        page = client.page(f"TaskingCapabilities({capability_id})/Tasks",
                           Query().orderby("creationTime desc").top(5))
        tasks.extend(page.values)
    tasks = sorted(tasks, key=lambda t: str(t.get("creationTime")), reverse=True)[:5]
    answers: list[dict[str, Any]] = []
    accepted = household.stream("setpointAccepted")
    if tasks and accepted is not None:
        task_ids = ",".join(str(int(t["@iot.id"])) for t in tasks)
        answers = client.page(f"Datastreams({accepted.id})/Observations",
                              Query().filter(f"parameters/taskId in ({task_ids})").select("result", "parameters")
                              .top(50)).values
    return dashboard.orders(tasks, answers)


@blueprint.route("/<site_id>", endpoint="dashboard")
@login_required
def dashboard_page(site_id: str) -> str:
    household = household_or_404(site_id)
    now = site_now(household)
    today = now.astimezone(zone_of(household)).date()
    rows = read_history(sta(), household, history.Period.DAY, today)
    split = dashboard.energy_split([r.consumption_kwh * 1000 if r.consumption_kwh is not None else None for r in rows],
                                   [r.grid_kwh * 1000 if r.grid_kwh is not None else None for r in rows])
    mode_stream = household.stream("lessagMode")
    return render_template(
        "residential/dashboard.html", household=household, today=today, split=split,
        power=dashboard.power_tiles(household), battery=dashboard.battery_tiles(household),
        ev=dashboard.ev_tiles(household), health=dashboard.health(household),
        setpoint=commands.setpoint_capability(household), mode=commands.mode_capability(household),
        modes=commands.MODES, current_mode=mode_stream.latest.value if mode_stream and mode_stream.latest else None,
        tasks=recent_tasks(sta(), household), ev_plugged=dashboard.ev_plugged)


def _send(site_id: str, capability_id: int, parameters: dict[str, object], what: str) -> BaseResponse:
    try:
        task_id = sta().create_task(capability_id, parameters)
    except StaError as error:
        log.info("%s refused by the server: %s", what, error)
        flash(f"The server refused the {what}: {error.message}", "error")
        return redirect(url_for("residential.dashboard", site_id=site_id), 303)
    flash(f"{what.capitalize()} sent (Task {task_id}).", "ok")
    return redirect(url_for("residential.dashboard", site_id=site_id), 303)


@blueprint.route("/<site_id>/setpoint", methods=["POST"])
@login_required
def post_setpoint(site_id: str) -> BaseResponse:
    household = household_or_404(site_id)
    capability = commands.setpoint_capability(household)
    if capability is None:
        abort(404, description="This household has no set-point capability.")
    try:
        power_kw = commands.parse_power_kw(request.form.get("power_kw", ""))
        duration_min = int(request.form.get("duration_min", "60"))
    except ValueError:
        flash("The power must be a number (kW) and the duration a whole number of minutes.", "error")
        return redirect(url_for("residential.dashboard", site_id=site_id), 303)
    parameters = commands.setpoint_parameters(power_kw, duration_min, site_now(household))
    return _send(site_id, capability.id, parameters, "set-point")


@blueprint.route("/<site_id>/mode", methods=["POST"])
@login_required
def post_mode(site_id: str) -> BaseResponse:
    household = household_or_404(site_id)
    capability = commands.mode_capability(household)
    if capability is None:
        abort(404, description="This household has no mode switch.")
    return _send(site_id, capability.id, commands.mode_parameters(request.form.get("mode", "")), "mode change")


@blueprint.route("/<site_id>/history")
@login_required
def history_page(site_id: str) -> str | Response:
    household = household_or_404(site_id)
    try:
        period = history.Period(request.args.get("period", "day"))
        day = date.fromisoformat(request.args["date"]) if request.args.get("date") else \
            site_now(household).astimezone(zone_of(household)).date()
    except ValueError:
        abort(400, description="period is day, month or year; date is YYYY-MM-DD")
    rows = read_history(sta(), household, period, day)
    export = request.args.get("format")
    name = f"{site_id}-{period.value}-{day.isoformat()}"
    if export == "csv":
        return Response(history.to_csv(rows), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    if export == "json":
        return current_app.response_class(
            current_app.json.dumps({"site": site_id, "period": period.value, "date": day.isoformat(),
                                    "rows": history.to_json(rows)}),
            mimetype="application/json", headers={"Content-Disposition": f'attachment; filename="{name}.json"'})
    return render_template("residential/history.html", household=household, period=period, day=day, rows=rows,
                           periods=list(history.Period), chart=history.chart_columns(rows),
                           zone=zone_of(household).key)
