"""`python -m agents run <site.yaml>`: one site's field process (the SMX).

It loads the site file, commissions the site on the server (agents/commission.py; idempotent) and
runs the site: connectors polled, plug-ins, the durable queue drained to MQTT, Tasks taken. When the
server cannot be reached at start, the ids of the last successful commissioning (a JSON file beside
the queue) are used, so a site that restarts during an outage keeps measuring.

Environment (nothing is read at import time):
- `STA_CLIENT_*` (sta_client/settings.py): server URL, broker URL, user and password or token, TLS;
  a site file's `northbound` URLs take precedence.
- `SMX_QUEUE_PATH` (default `.run/agents/<site id>.sqlite`), `SMX_QUEUE_SYNC` (`FULL` | `NORMAL`),
  `SMX_QUEUE_MAX_ROWS`, `SMX_QUEUE_MAX_BYTES`, `SMX_MQTT_CLIENT_ID` (default `smx-<site id>`: keep it
  stable, the broker keeps the session's Tasks under it), `SMX_REPORT_S` (counter line, default 60),
  `SMX_LOG_LEVEL` (INFO), `SMX_SENML` (`on`; `off`: one message per reading, for a server in `topic`
  identity mode, which refuses SenML packs).
- `S4G_CLOCK`, `S4G_CLOCK_START`, `S4G_CLOCK_FACTOR` (clock/clocks.py): real or accelerated time.
- `SMX_DEVICES=emulated`: devices whose connector options carry `emulated: {kind, ...}` use that protocol
  connector (against an emulator or a real device) instead of their simulated one.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import fcntl
import json
import logging
import os
import pathlib
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import TextIO

from adapters.connector import Connector
from adapters.dlms.connector import CONNECTOR_KINDS as DLMS_KINDS
from adapters.fronius.connector import CONNECTOR_KINDS as FRONIUS_KINDS
from adapters.iec104.link import build_scada_link
from adapters.iec104.tasks import StaTaskSink
from adapters.iec61850.connector import CONNECTOR_KINDS as IEC61850_KINDS
from adapters.modbus_ess.connector import CONNECTOR_KINDS as MODBUS_ESS_KINDS
from adapters.ocpp import CONNECTOR_KINDS as OCPP_KINDS
from adapters.simulated.connectors import CONNECTOR_KINDS as SIMULATED_KINDS
from adapters.simulated.meter import UnmeasurableDevice, link_meters
from adapters.sunspec.connector import CONNECTOR_KINDS as SUNSPEC_KINDS
from agents.commission import client_settings
from agents.commissioning import SiteIds, commission
from agents.host import Poll
from agents.lessag.plugin import build_lessag
from agents.levchag.plugin import build_levchag
from agents.observation_messages import StreamRef
from agents.outbox import Bound
from agents.plugin import Plugin
from agents.runtime import RuntimeOptions, SiteParts, SiteRuntime
from agents.site import DeviceSpec, PluginSpec, SiteFileError, SiteSpec, load_site
from agents.task_intake import CapabilityRef
from clock import Clock, SteppedClock, clock_from_env
from sta_client import StaClient, StaError

log = logging.getLogger("agents.cli")

CONNECTOR_KINDS: dict[str, Callable[[str, Mapping[str, object], Clock], Connector]] = {
    **SIMULATED_KINDS, **FRONIUS_KINDS, **SUNSPEC_KINDS, **MODBUS_ESS_KINDS, **OCPP_KINDS, **DLMS_KINDS,
    **IEC61850_KINDS}
PLUGIN_KINDS: dict[str, Callable[[SiteSpec, PluginSpec], Plugin]] = {
    "lessag": build_lessag, "levchag": build_levchag,
    # the DSO-SCADA outstation: its commands become Tasks on the server (c104 is imported when it starts)
    "iec104": lambda site, spec: build_scada_link(site.id, spec.options,
                                                   StaTaskSink(client_settings(site, os.environ), site.id))}
STATUS_PROPERTY = "device-status"  # the ObservedProperty key of a device's status Datastream
ACK_PROPERTY = "setpoint-accepted"  # the ObservedProperty key of a Task's accepted/refused Datastream


class UnknownKind(ValueError):
    """A connector or plug-in kind this runtime does not have."""


class QueueInUse(RuntimeError):
    """Another field process runs on this queue file."""


def lock_queue(queue: pathlib.Path) -> TextIO:
    """Hold `<queue>.lock` for this process's life (released by the kernel, also on kill -9): two
    processes on one queue would publish every row twice and take each other's MQTT session."""
    handle = open(queue.with_suffix(".lock"), "w")  # noqa: SIM115 (kept open while the site runs)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise QueueInUse(f"another field process holds {queue}") from None
    return handle


def connector_choice(device: DeviceSpec, emulated: bool) -> tuple[str, dict[str, object]]:
    """A device's connector kind and options. With `emulated` (SMX_DEVICES=emulated), the protocol connector
    named by the `emulated: {kind, ...options}` entry of its options replaces the simulated one."""
    assert device.connector is not None
    options = dict(device.connector_options())
    alternative = options.pop("emulated", None)
    if emulated and isinstance(alternative, Mapping) and "kind" in alternative:
        chosen = {str(name): value for name, value in alternative.items() if name != "kind"}
        return str(alternative["kind"]), {**options, **chosen}
    return device.connector.kind, options


def site_parts(site: SiteSpec, ids: SiteIds, clock: Clock, emulated: bool = False, senml: bool = True) -> SiteParts:
    """Connectors, plug-ins and the server ids of the site's streams and capabilities; without
    `senml` every reading goes to its Datastream's own topic (a server in `topic` identity mode
    refuses SenML packs, docs/mqtt.md)."""
    streams = {spec.key: StreamRef(int(ids.datastreams[spec.key]), spec.senml_name if senml else None)
               for _, spec in site.datastreams()}
    streams.update({spec.key: StreamRef(int(ids.multidatastreams[spec.key]), None, multi=True)
                    for _, spec in site.multidatastreams()})
    capabilities = {spec.key: CapabilityRef(int(ids.capabilities[spec.key]), device.key)
                    for device, spec in site.capabilities()}
    polls = []
    for device in site.devices:
        if device.connector is None:
            continue
        kind, connector_options = connector_choice(device, emulated)
        factory = CONNECTOR_KINDS.get(kind)
        if factory is None:
            raise UnknownKind(f"device {device.key}: no connector of kind {kind!r} "
                              f"(known: {', '.join(sorted(CONNECTOR_KINDS))})")
        telemetry_s = float(str(connector_options.get("telemetry_s", 10)))
        polls.append(Poll(factory(device.key, connector_options, clock), telemetry_s))
    link_meters({poll.connector.device: poll.connector for poll in polls})  # simulated meters read the others
    unknown = [spec.kind for spec in site.plugins if spec.kind not in PLUGIN_KINDS]
    if unknown:
        raise UnknownKind(f"no plug-in of kind {unknown[0]!r} (known: {', '.join(sorted(PLUGIN_KINDS))})")
    plugins = [PLUGIN_KINDS[spec.kind](site, spec) for spec in site.plugins]
    status = {device.key: spec.key for device in site.devices for spec in device.datastreams
              if spec.observed_property.key == STATUS_PROPERTY}
    return SiteParts(streams, capabilities, polls, plugins, status, acknowledgement_streams(site))


def acknowledgement_streams(site: SiteSpec) -> dict[str, str]:
    """Capability key -> the Datastream a refusal is written to when its plug-in fails: the device's
    stream of ObservedProperty `setpoint-accepted`, else the site's."""
    anywhere = [spec.key for _, spec in site.datastreams() if spec.observed_property.key == ACK_PROPERTY]
    found = {}
    for device, capability in site.capabilities():
        own = [spec.key for spec in device.datastreams if spec.observed_property.key == ACK_PROPERTY]
        if own or anywhere:
            found[capability.key] = (own or anywhere)[0]
    return found


def commissioned(site: SiteSpec, environ: Mapping[str, str], clock: Clock, cache: pathlib.Path) -> SiteIds:
    """Commission now; if the server cannot be reached, the ids of the last time."""
    try:
        with StaClient(client_settings(site, environ)) as client:
            ids = commission(site, client, clock.now())
    except StaError as error:
        if not cache.exists():
            raise
        log.warning("site %s: commissioning failed (%s); using the ids of %s", site.id, error, cache)
        return SiteIds.from_json(json.loads(cache.read_text()))
    try:
        ids.write(cache)
    except OSError as error:  # a full disk must not stop the site: the cache only helps a later start
        log.warning("site %s: could not keep the ids in %s (%s)", site.id, cache, error)
    return ids


def runtime_options(site: SiteSpec, environ: Mapping[str, str]) -> RuntimeOptions:
    queue = pathlib.Path(environ.get("SMX_QUEUE_PATH") or f".run/agents/{site.id}.sqlite")
    queue.parent.mkdir(parents=True, exist_ok=True)
    bound = Bound()
    bound = dataclasses.replace(bound, max_rows=int(environ.get("SMX_QUEUE_MAX_ROWS", bound.max_rows)),
                                max_bytes=int(environ.get("SMX_QUEUE_MAX_BYTES", bound.max_bytes)))
    return RuntimeOptions(queue_path=queue, bound=bound, synchronous=environ.get("SMX_QUEUE_SYNC", "FULL"),
                          report_s=float(environ.get("SMX_REPORT_S", "60")),
                          client_id=environ.get("SMX_MQTT_CLIENT_ID") or f"smx-{site.id}",
                          task_lookback=timedelta(seconds=float(environ.get("SMX_TASK_LOOKBACK_S", "86400"))))


async def run_site(site: SiteSpec, environ: Mapping[str, str]) -> None:
    clock = clock_from_env(environ)
    if isinstance(clock, SteppedClock):
        raise ValueError("a stepped clock needs someone to advance it: use S4G_CLOCK=real or accelerated")
    options = runtime_options(site, environ)
    lock = lock_queue(options.queue_path)
    ids = await asyncio.to_thread(commissioned, site, environ, clock, options.queue_path.with_suffix(".ids.json"))
    parts = site_parts(site, ids, clock, emulated=environ.get("SMX_DEVICES") == "emulated",
                       senml=environ.get("SMX_SENML", "on") != "off")
    runtime = SiteRuntime(clock, client_settings(site, environ), parts, options)
    log.info("site %s: %d connectors, %d plug-ins, %d streams, queue %s", site.id, len(runtime.parts.polls),
             len(runtime.parts.plugins), len(runtime.parts.streams), options.queue_path)
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        await runtime.run()
    except asyncio.CancelledError:
        log.info("site %s: stopped", site.id)
    finally:
        lock.close()


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    logging.basicConfig(level=env.get("SMX_LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request (the Task catch-up, every minute)
    parser = argparse.ArgumentParser(prog="python -m agents", description="The SMX field process of one site.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="commission and run a site").add_argument("site_file", type=pathlib.Path)
    args = parser.parse_args(argv)
    try:
        site = load_site(args.site_file)
    except SiteFileError as error:
        log.error("%s", error)
        return 2
    try:
        asyncio.run(run_site(site, env))
    except (UnknownKind, UnmeasurableDevice) as error:
        log.error("%s: %s", args.site_file, error)
        return 2
    except QueueInUse as error:
        log.error("site %s: %s", site.id, error)
        return 3
    except StaError as error:
        log.error("site %s: the server answered %s and no earlier commissioning is known", site.id, error)
        return 1
    except KeyboardInterrupt:
        log.info("site %s: interrupted", site.id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
