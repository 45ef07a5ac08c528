"""The district's processes put together: the server (optional), each site's emulators and field
process with its own user, the forecast service and the controllers, simulation and GUIs that exist;
the fixed-period run and its report."""
from __future__ import annotations

import importlib.util
import json
import logging
import pathlib
import signal
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import FrameType

import httpx

from clock import AcceleratedClock
from district.children import ChildSpec, Supervisor, clean_env, python_argv
from district.kpis import Window
from district.manifest import District, ManifestError, SiteEntry, emulator_physics_site, physics_sites
from district.provision import Credentials, Tools, commission_site, grant_site, make_resident
from district.report import DistrictReport, site_report
from sta_client import ClientSettings, StaClient, StaError

log = logging.getLogger("district")

# the platform's optional parts: (child name, module run with `python -m`), started when they exist
OPTIONAL_PARTS = (("gesscon", "controllers.gesscon"), ("gevchcon", "controllers.gevchcon"),
                  ("simulation", "simulation"), ("gui", "gui"))
# what no child but the server (and sta-admin) may see: the database and the server's broker login
SERVER_ONLY = ("STA_DATABASE_URL", "DATABASE_URL", "STA_MQTT_URL", "MQTT_URL", "STA_MQTT_AUTH_DIR",
               "_STA_LOCAL_DATABASE_URL", "_STA_LOCAL_MQTT_URL")


def resume_from(clock_file: pathlib.Path, start: datetime) -> datetime:
    """Where the district clock starts: a minute after the time an earlier run reached, if that is later
    than the district file's start."""
    try:
        reached = datetime.fromisoformat(json.loads(clock_file.read_text())["now"])
    except (OSError, ValueError, KeyError, TypeError):
        return start
    if reached.tzinfo is None or reached <= start:
        return start
    resumed = reached.replace(microsecond=0) + timedelta(minutes=1)
    log.info("the district clock continues from %s (%s)", resumed.isoformat(), clock_file)
    return resumed


def provisioning_order(sites: Sequence[SiteEntry]) -> tuple[list[SiteEntry], list[SiteEntry]]:
    """(sites to commission one after the other, sites that may then be commissioned together)."""
    seen: set[str] = set()
    first, rest = [], []
    for entry in sites:
        if entry.facts.observed_properties - seen:
            first.append(entry)
            seen |= entry.facts.observed_properties
        else:
            rest.append(entry)
    return first, rest


def module_exists(module: str, root: pathlib.Path) -> bool:
    """`python -m module` would run: the package has a `__main__` (looked up in the checkout first: finding
    the spec imports the parent packages, seconds each on a loaded machine)."""
    if (root / module.replace(".", "/") / "__main__.py").is_file():
        return True
    try:
        return importlib.util.find_spec(f"{module}.__main__") is not None
    except ModuleNotFoundError:
        return False


@dataclass
class Options:
    root: pathlib.Path
    run_dir: pathlib.Path
    python: str
    sta_admin: str
    environ: Mapping[str, str]
    start_server: bool = False
    with_district: bool = True
    auth: bool = True
    forecasts: bool = True
    optional: bool = True
    only_parts: frozenset[str] | None = None  # of the optional parts, only these (None: all that exist)
    first_backoff_s: float = 1.0


@dataclass
class Orchestrator:
    options: Options
    district: District
    admin: ClientSettings
    supervisor: Supervisor = field(init=False)
    clock: AcceleratedClock | None = None
    left_out: list[str] = field(default_factory=list)
    credentials: dict[str, Credentials] = field(default_factory=dict)
    residents: dict[str, Credentials] = field(default_factory=dict)  # the residential GUI's logins
    stop_requested: bool = False
    sites_started_at: datetime | None = None  # the district clock when the field processes started
    physics_sites: list[str] = field(default_factory=list)  # sites reading the simulation's physics (SIM_PHYSICS)

    def __post_init__(self) -> None:
        self.supervisor = Supervisor(self.options.run_dir / "district" / "logs", self.options.root,
                                     first_backoff_s=self.options.first_backoff_s)

    # --- start ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        if self.options.start_server:
            self.supervisor.start(ChildSpec("sta-server", (str(self.options.root / ".venv/bin/sta-server"),),
                                            dict(self.options.environ)))
        self.wait_for_server()
        if self.options.with_district:
            self._start_sites()
        if self.options.forecasts:
            self.supervisor.start(ChildSpec("forecasts", python_argv(self.options.python, "adapters.forecasts"),
                                            self._forecast_env(), self._fresh_clock))
        for name, module in OPTIONAL_PARTS:
            wanted = self.options.only_parts is None or name in self.options.only_parts
            if self.options.optional and wanted and module_exists(module, self.options.root):
                env = self._admin_env(self._plain_env())
                for key, value in self.district.parts.get(name, {}).items():
                    env.setdefault(key, value)
                if name == "gui":
                    env.setdefault("GUI_STA_URL", self.admin.base_url)
                if name == "simulation":
                    self.physics_sites = physics_sites(self.district, env)
                self.supervisor.start(ChildSpec(name, python_argv(self.options.python, module), env,
                                                self._fresh_clock))
            else:
                self.left_out.append(f"{name} (python -m {module})")
        if self.left_out:
            log.info("not started: %s", ", ".join(self.left_out))

    def _start_sites(self) -> None:
        # a site bringing ObservedProperties no earlier site had is commissioned alone (two runs creating the
        # same new one could both create it); the others, whose properties exist by then, four at a time
        first, rest = provisioning_order(self.district.sites)
        for entry in first:
            self._provision(entry)
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(self._provision, rest))
        self.clock = AcceleratedClock(resume_from(self.clock_file, self.district.clock_start),
                                      self.district.clock_factor)
        self.save_clock()
        for entry in self.district.sites:
            for n, argv in enumerate(entry.emulators):
                self.supervisor.start(ChildSpec(f"{entry.facts.site_id}.emulator{n + 1}",
                                                python_argv(self.options.python, *argv),
                                                self._emulator_env(entry, argv), self._fresh_clock))
        self.sites_started_at = self.clock.now()
        for entry in self.district.sites:
            self.supervisor.start(self._field_process(entry))

    def _provision(self, entry: SiteEntry) -> None:
        tools = Tools(self.options.python, self.options.sta_admin, self.options.root)
        ids = commission_site(tools, entry, self._admin_env(self._clock_env(self.district.clock_start)),
                              self._queue(entry).with_suffix(".ids.json"))
        if self.options.auth:
            secrets_dir = self.options.run_dir / "district" / "secrets"
            self.credentials[entry.facts.site_id] = grant_site(tools, entry, ids, dict(self.options.environ),
                                                               secrets_dir)
            if entry.facts.has_household_capabilities:
                self.residents[entry.facts.site_id] = make_resident(tools, entry.facts.site_id,
                                                                    dict(self.options.environ), secrets_dir)
        log.info("site %s commissioned (%d Things)%s", entry.facts.site_id, len(ids["things"]),
                 f", user {self.credentials[entry.facts.site_id].username}" if self.options.auth else "")

    def wait_for_server(self, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if httpx.get(self.admin.base_url, timeout=5).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server at {self.admin.base_url} did not answer within {timeout_s:.0f} s")
            if self.options.start_server and not self.supervisor.running("sta-server"):
                self.supervisor.poll()
            time.sleep(0.5)

    def _queue(self, entry: SiteEntry) -> pathlib.Path:
        return self.options.run_dir / "district" / "queues" / f"{entry.facts.site_id}.sqlite"

    def _field_process(self, entry: SiteEntry) -> ChildSpec:
        env = self._plain_env()
        env.update(SMX_QUEUE_PATH=str(self._queue(entry)), SMX_MQTT_CLIENT_ID=f"smx-{entry.facts.site_id}")
        if entry.emulated:
            env["SMX_DEVICES"] = "emulated"
        credentials = self.credentials.get(entry.facts.site_id)
        if credentials is not None:
            env.update(STA_CLIENT_USERNAME=credentials.username,
                       STA_CLIENT_PASSWORD_FILE=str(credentials.password_file))
            # the broker's ACL gives a device agent its own Datastreams' topics, not v1.1/SenML
            env.setdefault("SMX_SENML", "off")
        return ChildSpec(f"{entry.facts.site_id}.field", python_argv(self.options.python, "agents", "run",
                                                                      str(entry.path)), env, self._fresh_clock)

    # --- environments ---------------------------------------------------------------------------------------

    def _emulator_env(self, entry: SiteEntry, argv: Sequence[str]) -> dict[str, str]:
        """An emulator's environment: the server's URLs; one that reads the simulation's physics of its site
        (``--physics-site``) also gets the site's device-agent account, never another site's nor the
        administrator's (the physics Datastreams carry the site's labels)."""
        env = self._plain_env()
        physics_site = emulator_physics_site(argv)
        if physics_site is None:
            return env
        if physics_site != entry.facts.site_id:
            raise ManifestError(f"site {entry.facts.site_id}: an emulator reads the physics of {physics_site}")
        credentials = self.credentials.get(entry.facts.site_id)
        if credentials is not None:
            env.update(STA_CLIENT_USERNAME=credentials.username,
                       STA_CLIENT_PASSWORD_FILE=str(credentials.password_file))
        return env

    def _plain_env(self) -> dict[str, str]:
        """No database, no server broker login, no administrator: the server's URLs only."""
        env = clean_env(self.options.environ, SERVER_ONLY)
        env.update(STA_CLIENT_BASE_URL=self.admin.base_url)
        if self.admin.mqtt_url:
            env["STA_CLIENT_MQTT_URL"] = self.admin.mqtt_url
        return env

    def _admin_env(self, env: Mapping[str, str]) -> dict[str, str]:
        out = clean_env(env, SERVER_ONLY)
        out.update(STA_CLIENT_BASE_URL=self.admin.base_url)
        if self.admin.mqtt_url:
            out["STA_CLIENT_MQTT_URL"] = self.admin.mqtt_url
        if self.admin.username:
            out["STA_CLIENT_USERNAME"] = self.admin.username
        if self.admin.password:
            out["STA_CLIENT_PASSWORD"] = self.admin.password
        if self.admin.token:
            out["STA_CLIENT_TOKEN"] = self.admin.token
        return out

    def _clock_env(self, now: datetime) -> dict[str, str]:
        env = self._plain_env()
        env.update(self._clock_vars(now))
        return env

    def _clock_vars(self, now: datetime) -> dict[str, str]:
        return {"S4G_CLOCK": "accelerated", "S4G_CLOCK_START": now.isoformat(),
                "S4G_CLOCK_FACTOR": repr(self.district.clock_factor), "S4G_CLOCK_ANCHOR": repr(time.time())}

    def _fresh_clock(self) -> Mapping[str, str]:
        """The district clock's time at this (re)start, so every child reads the same simulated time (without
        the district: real time)."""
        if self.clock is None:
            return {"S4G_CLOCK": "real"}
        return self._clock_vars(self.clock.now())

    def _forecast_env(self) -> dict[str, str]:
        env = self._admin_env(self._plain_env())
        names = {"weather": "S4G_FORECAST_WEATHER", "prices": "S4G_FORECAST_PRICES", "zone": "S4G_FORECAST_ZONE",
                 "issue_time": "S4G_FORECAST_ISSUE_TIME"}
        for key, value in self.district.forecasts.items():
            if key in names:
                env.setdefault(names[key], value)
        if self.options.with_district:
            env.setdefault("S4G_FORECAST_SITES", ",".join(site.facts.site_id for site in self.district.sites))
        return env

    # --- running -------------------------------------------------------------------------------------------

    def install_signals(self) -> None:
        def request_stop(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %d: stopping", signum)
            self.stop_requested = True
        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)

    def supervise(self, until: Callable[[], bool] = lambda: False, step_s: float = 0.5) -> None:
        saved = time.monotonic()
        while not self.stop_requested and not until():
            self.supervisor.poll()
            if time.monotonic() - saved > 5:
                self.save_clock()
                saved = time.monotonic()
            time.sleep(step_s)

    def stop(self) -> None:
        """The clients first (their last readings and answers still reach the server), then the server."""
        self.save_clock()
        self.supervisor.stop([name for name in self.supervisor.children if name != "sta-server"])
        self.supervisor.stop(timeout_s=30.0)

    @property
    def clock_file(self) -> pathlib.Path:
        return self.options.run_dir / "district" / "clock.json"

    def save_clock(self) -> None:
        """The simulated time reached, so that the next run continues the day instead of writing its
        readings again (a second Observation at the same time of the same stream)."""
        if self.clock is not None:
            self.clock_file.parent.mkdir(parents=True, exist_ok=True)
            self.clock_file.write_text(json.dumps({"now": self.clock.now().isoformat()}) + "\n")

    # --- the fixed period -----------------------------------------------------------------------------------

    def client(self) -> StaClient:
        return StaClient(self.admin)

    def every_site_reports(self) -> bool:
        """Each site has written at least one Observation (its field process is up and connected)."""
        return self._each_has_observations(
            (f"properties/siteId eq '{entry.facts.site_id}'", "$top=1;$select=id") for entry in self.district.sites)

    def physics_published(self) -> bool:
        """Each site reading the simulation's physics has a ``physics.P_load`` Observation since the sites
        started (the simulation is up and has written the interval in force)."""
        return self._each_has_observations(
            (f"properties/kind eq 'site' and properties/siteId eq '{site_id}'",
             "$filter=properties/key eq 'physics.P_load';$select=id") for site_id in self.physics_sites)

    def _each_has_observations(self, things: Iterable[tuple[str, str]]) -> bool:
        """For each (Thing filter, Datastream options): a Datastream of such a Thing has an Observation since
        the sites started."""
        assert self.sites_started_at is not None
        since = self.sites_started_at.isoformat().replace("+00:00", "Z")
        with self.client() as client:
            for thing_filter, stream_options in things:
                query = (f"Things?$filter={thing_filter}&$expand=Datastreams({stream_options};"
                         f"$expand=Observations($top=1;$select=id;$filter=phenomenonTime ge {since}))&$select=id")
                try:
                    found = client.get(query).get("value", [])
                except StaError:
                    return False
                if not any(stream.get("Observations") for thing in found for stream in thing.get("Datastreams", [])):
                    return False
        return True

    def create_probe_tasks(self) -> int:
        """One small set-point Task per site's `ess_setpoint` capability, as a grid operator would send;
        every one must be acknowledged by the site's agent."""
        assert self.clock is not None
        now = self.clock.now()
        body = {"powerSetpoint": 0.0, "priority": 1,
                "startTime": now.isoformat().replace("+00:00", "Z"),
                "stopTime": (now + timedelta(minutes=15)).isoformat().replace("+00:00", "Z")}
        made = 0
        with self.client() as client:
            for entry in self.district.sites:
                query = (f"Things?$filter=properties/siteId eq '{entry.facts.site_id}'"
                         "&$select=id&$expand=TaskingCapabilities($select=id,properties)")
                for thing in client.get(query).get("value", []):
                    for capability in thing.get("TaskingCapabilities", []):
                        if capability.get("properties", {}).get("key") == "ess_setpoint":
                            client.create_task(capability["@iot.id"], body)
                            made += 1
        return made

    def report(self, window: Window, tolerated_gap_s: float) -> DistrictReport:
        with self.client() as client:
            sites = [site_report(client, entry.facts, window, tolerated_gap_s) for entry in self.district.sites]
        for site in sites:
            state = self.supervisor.children.get(f"{site.site_id}.field")
            site.process_exits = list(state.exits) if state is not None else []
        others = {name: list(state.exits) for name, state in self.supervisor.children.items()
                  if not name.endswith(".field") and state.exits}
        return DistrictReport(window, sites, others, list(self.left_out))


def wall_now() -> datetime:
    return datetime.now(UTC)


def print_banner(orchestrator: Orchestrator, admin_note: str) -> None:
    options = orchestrator.options
    lines = ["", f"  SensorThings API : {orchestrator.admin.base_url}",
             f"  credentials      : {admin_note}"]
    order = {entry.facts.site_id: n for n, entry in enumerate(orchestrator.district.sites)}
    if options.with_district and orchestrator.clock is not None:
        lines.append(f"  simulated clock  : x{orchestrator.district.clock_factor:g}, now "
                     f"{orchestrator.clock.now().isoformat(timespec='seconds')} (the district file starts at "
                     f"{orchestrator.district.clock_start.isoformat()})")
        lines.append(f"  district         : {len(orchestrator.district.sites)} sites, each its field process")
        for site_id, credentials in sorted(orchestrator.credentials.items(), key=lambda item: order[item[0]]):
            lines.append(f"    {site_id:<12} user {credentials.username}, password in {credentials.password_file}")
            resident = orchestrator.residents.get(site_id)
            if resident is not None:
                lines.append(f"    {'':<12} resident {resident.username} (residential GUI), password in "
                             f"{resident.password_file}")
    lines.append(f"  logs             : {orchestrator.supervisor.log_dir}")
    if "gui" in orchestrator.supervisor.children:
        gui_env = orchestrator.supervisor.children["gui"].spec.env
        host, port = gui_env.get("GUI_HOST", "127.0.0.1"), gui_env.get("GUI_PORT", "8090")
        lines.append(f"  GUIs             : http://{host}:{port}/ (log in with the server's users)")
    if orchestrator.left_out:
        lines.append(f"  not started      : {', '.join(orchestrator.left_out)}")
    lines.append("")
    print("\n".join(lines), file=sys.stderr, flush=True)
