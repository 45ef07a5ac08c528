"""`python -m district run | report | check` (docs/district.md).

- `run`: the platform with the simulated district (the default of `bash scripts/run.sh`); `--no-district`
  runs the server alone (a real deployment: field boxes connect from outside); `--server` starts
  `sta-server` as a supervised child (run.sh does).
- `report --period 2h`: the district for a fixed simulated period, then the KPI and invariant report;
  exit status 1 when an invariant fails.
- `check --from T --to T`: the report over data already on the server (no process started).

Environment: `STA_CLIENT_BASE_URL`, `STA_CLIENT_MQTT_URL` and an administrator's `STA_CLIENT_USERNAME` /
`STA_CLIENT_PASSWORD(_FILE)` (sta_client/settings.py); `STA_AUTH` (`off`: no users are made);
`STA_DATABASE_URL` and `STA_MQTT_AUTH_DIR` for `sta-admin` (users, labels); `DISTRICT_FILE` (default
`sites/district/district.yaml`), `DISTRICT_CLOCK_FACTOR`, `DISTRICT_CLOCK_START`, `DISTRICT_LOG_LEVEL`.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import pathlib
import re
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from district.kpis import Window
from district.manifest import District, ManifestError, load_district
from district.orchestrator import Options, Orchestrator, print_banner, wall_now
from district.provision import ProvisionError
from district.report import DistrictReport, as_json, render
from sta_client import ClientSettings, StaClient, StaError

log = logging.getLogger("district")

ROOT = pathlib.Path(__file__).resolve().parent.parent
DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d)$")


def duration(text: str) -> timedelta:
    """`90s`, `30m`, `2h`, `1d`."""
    match = DURATION.match(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"a duration such as 90s, 30m, 2h or 1d, not {text!r}")
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    return timedelta(seconds=float(match.group(1)) * unit)


def moment(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"a time with its zone, not {text!r}")
    return value


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m district", description=(__doc__ or "").split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--district", type=pathlib.Path, help="the district file (default: $DISTRICT_FILE or "
                        "sites/district/district.yaml)")
    common.add_argument("--run-dir", type=pathlib.Path, default=ROOT / ".run", help="logs, queues, secrets")
    common.add_argument("--stall-s", type=float, default=5.0,
                        help="wall seconds of machine stall a periodic stream's gap may come from (default 5)")
    run_like = argparse.ArgumentParser(add_help=False, parents=[common])
    run_like.add_argument("--server", action="store_true", help="start sta-server as a supervised child")
    run_like.add_argument("--no-forecasts", action="store_true", help="leave out python -m adapters.forecasts")
    run_like.add_argument("--no-optional", action="store_true", help="leave out controllers, simulation, GUIs")
    run_like.add_argument("--optional", type=lambda text: frozenset(t.strip() for t in text.split(",") if t.strip()),
                          metavar="NAMES", help="only these optional parts (comma-separated: gesscon, gevchcon, "
                                                "simulation, gui; default all that exist)")
    run_like.add_argument("--factor", type=float, help="clock acceleration (default: the district file's)")
    run = commands.add_parser("run", parents=[run_like], help="the platform and the simulated district")
    run.add_argument("--no-district", action="store_true", help="the platform alone (a real deployment)")
    report = commands.add_parser("report", parents=[run_like], help="a fixed simulated period, then the report")
    report.add_argument("--period", type=duration, required=True, help="simulated time reported on (e.g. 2h)")
    report.add_argument("--json", type=pathlib.Path, help="also write the report as JSON here")
    report.add_argument("--ready-timeout-s", type=float, default=180.0,
                        help="wall seconds for every site's first Observation")
    report.add_argument("--settle-s", type=float, default=35.0,
                        help="wall seconds between every site's first Observation and the period's start: "
                             "emulators that connect to their field process (OCPP charge points) retry with "
                             "a back-off of up to 30 s (default 35)")
    report.add_argument("--drain-timeout-s", type=float, default=120.0,
                        help="wall seconds after the period for late Observations and acknowledgements")
    report.add_argument("--no-probe-tasks", action="store_true",
                        help="no set-point Task per battery at mid-period")
    check = commands.add_parser("check", parents=[common], help="the report over data already on the server")
    check.add_argument("--from", dest="start", type=moment, required=True, help="simulated start (ISO)")
    check.add_argument("--to", dest="end", type=moment, required=True, help="simulated end (ISO)")
    check.add_argument("--tasks-since", type=moment, help="wall time since which Tasks count (default: --from)")
    check.add_argument("--factor", type=float, help="the clock acceleration the data was made at")
    check.add_argument("--json", type=pathlib.Path)
    return parser.parse_args(argv)


def _district(args: argparse.Namespace, env: Mapping[str, str]) -> District:
    path = args.district or pathlib.Path(env.get("DISTRICT_FILE") or ROOT / "sites/district/district.yaml")
    district = load_district(path, ROOT)
    factor = getattr(args, "factor", None) or (float(env["DISTRICT_CLOCK_FACTOR"])
                                               if env.get("DISTRICT_CLOCK_FACTOR") else None)
    if factor:
        district = dataclasses.replace(district, clock_factor=factor)
    if env.get("DISTRICT_CLOCK_START"):
        district = dataclasses.replace(district, clock_start=moment(env["DISTRICT_CLOCK_START"]))
    return district


def _auth_on(env: Mapping[str, str]) -> bool:
    return env.get("STA_AUTH", "on").lower() not in ("off", "false", "0", "no")


def _orchestrator(args: argparse.Namespace, env: Mapping[str, str], district: District) -> Orchestrator:
    options = Options(root=ROOT, run_dir=args.run_dir.resolve(), python=sys.executable,
                      sta_admin=str(pathlib.Path(sys.executable).parent / "sta-admin"), environ=env,
                      start_server=getattr(args, "server", False),
                      with_district=not getattr(args, "no_district", False), auth=_auth_on(env),
                      forecasts=not getattr(args, "no_forecasts", False),
                      optional=not getattr(args, "no_optional", False),
                      only_parts=getattr(args, "optional", None))
    return Orchestrator(options, district, ClientSettings.from_env(environ=env))


def _tolerated_gap_s(args: argparse.Namespace, district: District) -> float:
    return max(60.0, float(args.stall_s) * district.clock_factor)


def _finish(report: DistrictReport, district: District, json_path: pathlib.Path | None) -> int:
    contracts = {site.facts.site_id: (site.facts.contract_in_w, site.facts.contract_out_w) for site in district.sites}
    print(render(report, contracts), flush=True)
    if json_path is not None:
        json_path.write_text(as_json(report))
    return 1 if report.failures() else 0


def command_run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    district = _district(args, env)
    orchestrator = _orchestrator(args, env, district)
    orchestrator.install_signals()
    try:
        orchestrator.start()
        print_banner(orchestrator, env.get("DISTRICT_ADMIN_NOTE", "administrator from STA_CLIENT_USERNAME"))
        orchestrator.supervise()
    finally:
        orchestrator.stop()
    return 0


def command_report(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    district = _district(args, env)
    orchestrator = _orchestrator(args, env, district)
    orchestrator.install_signals()
    try:
        orchestrator.start()
        print_banner(orchestrator, env.get("DISTRICT_ADMIN_NOTE", "administrator from STA_CLIENT_USERNAME"))
        ready_by = time.monotonic() + args.ready_timeout_s
        checked = [0.0]

        def ready() -> bool:
            if time.monotonic() < checked[0] + 2:
                return False
            checked[0] = time.monotonic()
            if time.monotonic() > ready_by:
                raise RuntimeError(f"not every site wrote an Observation within {args.ready_timeout_s:.0f} s")
            # and the simulation's physics of the interval in force, when houses read them (SIM_PHYSICS=1)
            return orchestrator.every_site_reports() and orchestrator.physics_published()

        orchestrator.supervise(until=ready)
        settled = time.monotonic() + args.settle_s
        orchestrator.supervise(until=lambda: time.monotonic() >= settled)
        assert orchestrator.clock is not None
        clock = orchestrator.clock
        begin = clock.now().replace(microsecond=0) + timedelta(seconds=1)
        window = Window(begin, begin + args.period, wall_now())
        log.info("reporting on simulated %s to %s (%.0f s of wall time)", window.start.isoformat(),
                 window.end.isoformat(), window.seconds / district.clock_factor)
        middle = window.start + args.period / 2
        orchestrator.supervise(until=lambda: clock.now() >= middle)
        if not args.no_probe_tasks and not orchestrator.stop_requested:
            log.info("probe: %d set-point Task(s) created", orchestrator.create_probe_tasks())
        orchestrator.supervise(until=lambda: clock.now() >= window.end)
        if orchestrator.stop_requested:
            return 130
        deadline = time.monotonic() + args.drain_timeout_s
        while True:  # the last readings and acknowledgements may still be on their way
            report = orchestrator.report(window, _tolerated_gap_s(args, district))
            if not report.failures() or time.monotonic() > deadline or orchestrator.stop_requested:
                break
            orchestrator.supervise(until=lambda: time.monotonic() > min(deadline, time.monotonic() + 3))
            time.sleep(3)
    finally:
        orchestrator.stop()
    return _finish(report, district, args.json)


def command_check(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from district.report import site_report

    district = _district(args, env)
    window = Window(args.start, args.end, args.tasks_since or args.start)
    with StaClient(ClientSettings.from_env(environ=env)) as client:
        sites = [site_report(client, entry.facts, window, _tolerated_gap_s(args, district))
                 for entry in district.sites]
    return _finish(DistrictReport(window, sites, {}), district, args.json)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    env = dict(os.environ if environ is None else environ)
    logging.basicConfig(level=env.get("DISTRICT_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    args = _arguments(argv)
    commands = {"run": command_run, "report": command_report, "check": command_check}
    try:
        return commands[args.command](args, env)
    except (ManifestError, ProvisionError) as error:
        log.error("%s", error)
        return 2
    except (StaError, RuntimeError) as error:
        log.error("%s", error)
        return 1
