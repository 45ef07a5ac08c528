"""A device in a process of its own (`python -m tests.faults.publish PORT STREAM FIRST COUNT`): publishes
Observations with results FIRST…FIRST+COUNT-1 at QoS 1, each with an idempotency key, and prints how
many the broker acknowledged with reason code 0 (several of these run side by side to offer more
than one Python client can)."""
from __future__ import annotations

import subprocess
import sys
import threading
import uuid

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

SLICE = 20_000  # paho has 65,535 packet ids: wait for each slice


def publish(port: int, stream: int, first: int, count: int) -> int:
    acknowledged = 0
    lock = threading.Lock()

    def on_publish(client: paho.Client, userdata: object, mid: int, reason: ReasonCode,
                   properties: object) -> None:
        nonlocal acknowledged
        if reason.value == 0:
            with lock:
                acknowledged += 1

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"dev-{uuid.uuid4().hex[:8]}", protocol=paho.MQTTv5)
    client.on_publish = on_publish
    client.max_inflight_messages_set(1000)
    client.connect("127.0.0.1", port)
    client.loop_start()
    device = uuid.uuid4().hex[:6]
    for start in range(first, first + count, SLICE):
        infos = []
        for number in range(start, min(start + SLICE, first + count)):
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            properties.UserProperty = [("idempotency-key", f"{device}/{number}")]
            body = f'{{"phenomenonTime":"2026-01-01T00:00:00Z","result":{number}}}'
            infos.append(client.publish(f"v1.1/Datastreams({stream})/Observations", body, qos=1,
                                        properties=properties))
        for info in infos:
            info.wait_for_publish(120)
    client.loop_stop()
    client.disconnect()
    return acknowledged


def run_publishers(port: int, stream: int, first: int, count: int, processes: int) -> list[subprocess.Popen[bytes]]:
    """Start `processes` publisher processes splitting the numbers; `acknowledged(...)` collects them."""
    share = count // processes
    return [subprocess.Popen([sys.executable, "-m", "tests.faults.publish", str(port), str(stream),
                              str(first + i * share), str(share if i < processes - 1 else count - i * share)],
                             stdout=subprocess.PIPE) for i in range(processes)]


def acknowledged(publishers: list[subprocess.Popen[bytes]], timeout_s: float = 300) -> int:
    """The messages the broker acknowledged (reason code 0), over all publisher processes."""
    total = 0
    for process in publishers:
        out, _ = process.communicate(timeout=timeout_s)
        assert process.returncode == 0
        total += int(out.decode().split()[-1])
    return total


if __name__ == "__main__":
    print(publish(*(int(arg) for arg in sys.argv[1:5])))
