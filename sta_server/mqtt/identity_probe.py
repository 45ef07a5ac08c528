"""Does the broker name publishers? A short-lived connection of the server's own user publishes,
to a topic of its own, a message carrying a forged `sta-publisher` user property and reads it
back: a broker with the project's plugin (broker_plugin/) hands it back stamped with the server's
user name and nothing else (security/mqtt_identity.py:IdentityProbe decides). A connection of its
own, so that neither the ingest session's backlog nor its flow control delays the answer."""
from __future__ import annotations

import logging
import os
import queue
import threading
import uuid

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from sta_server.mqtt.connection import ClientTls, broker_address
from sta_server.security.mqtt_identity import PROBE_TOPIC, PUBLISHER_PROPERTY, IdentityProbe, bind_client_id
from sta_server.security.publisher_stamp import STAMP_PROPERTY, StampCheck

log = logging.getLogger(__name__)
UNVERIFIED = "(no valid sta-stamp: is the plugin's stamp_secret_file the server's?)"


def broker_stamps(url: str, tls_files: ClientTls, timeout_s: float = 10.0,
                  stamps: StampCheck | None = None) -> list[str] | None:
    """The `sta-publisher` values the broker leaves on a message whose publisher forged one (with
    `stamps`: followed by UNVERIFIED unless the first carries a valid `sta-stamp`); None when the
    broker cannot be asked (unreachable, refused, no answer in time)."""
    host, port, user, password, tls = broker_address(url)
    client_id = bind_client_id(user, f"identity-probe-{os.getpid()}-{uuid.uuid4().hex[:6]}")
    topic = f"{PROBE_TOPIC}/{client_id}"
    answers: queue.Queue[list[str]] = queue.Queue()
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
    if user:
        client.username_pw_set(user, password)
    if tls:
        client.tls_set(ca_certs=tls_files.ca_file, certfile=tls_files.cert_file, keyfile=tls_files.key_file)
    forged = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    forged.UserProperty = [(PUBLISHER_PROPERTY, IdentityProbe.FORGED)]
    client.on_subscribe = lambda c, u, mid, codes, p: c.publish(topic, b"", qos=1, properties=forged)
    client.on_message = lambda c, u, m: answers.put(_names(m, stamps))
    client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, 1) if not rc.is_failure else None
    try:
        client.connect(host, port, keepalive=30)
        client.loop_start()
        return answers.get(timeout=timeout_s)
    except (OSError, queue.Empty) as error:
        log.warning("could not ask the MQTT broker whether it names publishers: %s", type(error).__name__)
        return None
    finally:
        client.disconnect()
        client.loop_stop()


def _names(message: paho.MQTTMessage, stamps: StampCheck | None) -> list[str]:
    properties = getattr(message.properties, "UserProperty", None) or []
    names = [value for name, value in properties if name == PUBLISHER_PROPERTY]
    stamp = next((value for name, value in properties if name == STAMP_PROPERTY), None)
    if stamps is not None and not (names and stamps.verified(names[0], stamp, message.topic, None,
                                                             bytes(message.payload))):
        names.append(UNVERIFIED)
    return names


def ask_in_background(url: str, tls_files: ClientTls, probe: IdentityProbe, stamps: StampCheck | None = None) -> None:
    """Ask until the broker answers (every 5 s): meanwhile the ingest waits rather than guess."""

    def run() -> None:
        while (names := broker_stamps(url, tls_files, stamps=stamps)) is None:
            threading.Event().wait(5.0)
        probe.answer(names)

    probe.sent()
    threading.Thread(target=run, name="sta-identity-probe", daemon=True).start()
