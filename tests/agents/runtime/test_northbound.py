"""A broker's PUBACK is not delivery: 0x10 "no matching subscribers" (the server's session is gone)
keeps the row and publishes it again later; a delivered row is deleted only after the hold."""
from __future__ import annotations

import asyncio
import pathlib
import time
import uuid
from collections.abc import Callable

from agents.northbound import Northbound
from agents.outbox import Message, Outbox
from agents.server_link import SessionPublisher
from sta_client.mqtt import MqttSession
from sta_client.settings import ClientSettings
from tests.mosquitto import Broker


async def until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.05)

def test_an_unrouted_message_stays_queued_until_someone_subscribes(tmp_path: pathlib.Path) -> None:
    broker = Broker()
    broker.start()
    settings = ClientSettings(mqtt_url=f"mqtt://127.0.0.1:{broker.port}")
    site = MqttSession(settings, f"site-{uuid.uuid4().hex[:6]}")
    server = MqttSession(settings, f"server-{uuid.uuid4().hex[:6]}")
    received: list[bytes] = []
    outbox = Outbox(tmp_path / "site.sqlite")
    outbox.put([Message("v1.1/Datastreams(1)/Observations", b'{"result":1}')])
    northbound = Northbound(outbox, SessionPublisher(site), hold_s=1.0)

    async def scenario() -> None:
        site.start()
        drain = asyncio.create_task(northbound.run())
        await until(lambda: northbound.counters.unrouted >= 1, 15, "the 0x10 answer")
        assert outbox.rows == 1  # kept: nobody (no server) would ever have read it
        server.start()
        await asyncio.to_thread(server.wait_connected, 10)
        server.subscribe("v1.1/#", lambda note: received.append(note.payload))
        await until(lambda: bool(received), 30, "the retry reaching a subscriber")
        await until(lambda: outbox.rows == 0, 10, "the delete after the hold")
        drain.cancel()

    try:
        asyncio.run(scenario())
    finally:
        site.close()
        server.close()
        broker.remove()
    assert received[0] == b'{"result":1}' and northbound.counters.acked >= 1
