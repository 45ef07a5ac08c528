"""Issue 15 "Done when": with the broker stopped for two simulated hours of 10-s telemetry for 50
Datastreams and then restarted, every Observation arrives exactly once and in order (compared per
Datastream by phenomenonTime and result)."""
from __future__ import annotations

import asyncio
import pathlib
import time
from collections.abc import Callable
from datetime import UTC, datetime

from agents.host import Poll
from agents.runtime import RuntimeOptions, SiteParts, SiteRuntime
from clock import SteppedClock
from tests.agents.runtime.conftest import SiteServer
from tests.agents.runtime.devices import CountingDevice

START = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
STREAMS = 50
OUTAGE_S = 7200


async def until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.2)


def expected(device: CountingDevice, streams: dict[str, int]) -> dict[int, list[tuple[datetime, float]]]:
    found: dict[int, list[tuple[datetime, float]]] = {ident: [] for ident in streams.values()}
    for reading in device.readings:
        assert isinstance(reading.value, float)
        found[streams[reading.datastream]].append((reading.time, reading.value))
    return found


def test_two_hours_without_broker_arrive_exactly_once_and_in_order(site_server: SiteServer,
                                                                  tmp_path: pathlib.Path) -> None:
    refs = site_server.make_site(STREAMS)
    ids = {key: ref.id for key, ref in refs.items()}
    clock = SteppedClock(START)
    device = CountingDevice(clock, sorted(refs))

    async def scenario() -> SiteRuntime:
        runtime = SiteRuntime(clock, site_server.settings(), SiteParts(refs, polls=[Poll(device, 10.0)]),
                              RuntimeOptions(tmp_path / "site.sqlite", report_s=5))
        running = asyncio.create_task(runtime.run())
        await until(runtime.session.connected.is_set,
                    15, "the MQTT connection")
        await clock.advance(600)
        await until(lambda: site_server.count(list(ids.values())) == len(device.readings), 60, "the first 10 min")
        await asyncio.to_thread(site_server.broker.stop)
        await until(lambda: not runtime.session.connected.is_set(), 15, "the disconnect")
        held = runtime.outbox.rows  # delivered before the outage, kept 30 s after their PUBACK
        await clock.advance(OUTAGE_S)
        assert 0 < runtime.outbox.rows - held <= OUTAGE_S // 10 // 40 + 2  # polls joined into packs of 2,000
        await asyncio.to_thread(site_server.broker.start)
        await until(lambda: site_server.count(list(ids.values())) >= len(device.readings), 180,
                    "the replay after the outage")
        await until(lambda: runtime.outbox.rows == 0, 90,
                    "the queue emptied by acknowledgements")
        running.cancel()
        return runtime

    try:
        runtime = asyncio.run(scenario())
    except AssertionError:
        print("stored", site_server.count(list(ids.values())), "of", len(device.readings))
        print("\n".join(line for line in site_server.server.log().splitlines() if "HTTP Request" not in line)[-6000:])
        raise
    assert len(device.readings) == STREAMS * (1 + 60 + OUTAGE_S // 10)
    assert site_server.stored(list(ids.values())) == expected(device, ids)
    assert runtime.outbox.counters.dropped == 0
    assert runtime.northbound.counters.refused == 0 and runtime.northbound.counters.connections == 2
