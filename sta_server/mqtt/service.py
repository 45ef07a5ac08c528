"""The MQTT extension wired together: one broker connection feeding the subscription registry and
the ingest worker, and the notifier listening to committed changes."""
from __future__ import annotations

import logging

import paho.mqtt.client as paho
from paho.mqtt.subscribeoptions import SubscribeOptions
from sqlalchemy import Engine

from sta_server.mqtt.connection import MqttConnection, is_own_message
from sta_server.mqtt.ingest import Incoming, Ingest
from sta_server.mqtt.notify import Notifier
from sta_server.mqtt.subscriptions import LOG_TOPICS, SubscriptionRegistry
from sta_server.service.events import EventBus
from sta_server.settings import Settings

log = logging.getLogger(__name__)
CREATE_TOPICS = ("v1.1/#", "v1.0/#")


def create_subscriptions(shared_group: str | None) -> list[tuple[str, SubscribeOptions]]:
    """Creates come in on the version topics: No Local for one process; for several, a shared
    subscription (where No Local is a protocol error; own messages are dropped by user property)."""
    if shared_group:
        return [(f"$share/{shared_group}/{t}", SubscribeOptions(qos=1)) for t in CREATE_TOPICS]
    return [(t, SubscribeOptions(qos=1, noLocal=True)) for t in CREATE_TOPICS]


class MqttService:
    def __init__(self, settings: Settings, engine: Engine, bus: EventBus) -> None:
        assert settings.mqtt_url is not None
        self.bus = bus
        self.registry = SubscriptionRegistry()
        self.ingest = Ingest(engine, bus)
        subscriptions = [(t, SubscribeOptions(qos=0)) for t in LOG_TOPICS]
        subscriptions += create_subscriptions(settings.mqtt_shared_group)
        self.connection = MqttConnection(settings.mqtt_url, settings.mqtt_client_id, subscriptions,
                                         self._on_message, notify_qos=settings.mqtt_notify_qos)
        self.notifier = Notifier(engine, self.registry, self.connection, settings.base_url,
                                 settings.default_top)
        bus.subscribe(self.notifier)

    def start(self) -> None:
        self.ingest.start()
        self.notifier.start()
        self.connection.start()

    def stop(self) -> None:
        self.connection.stop()
        self.ingest.stop()
        self.notifier.stop()

    def _on_message(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        if message.topic.startswith("$SYS/"):
            self.registry.feed(message.topic, message.payload.decode("utf-8", "replace"))
            return
        mid, qos = message.mid, message.qos
        if is_own_message(message):
            self.connection.ack(mid, qos)
            return
        self.ingest.submit(Incoming(message.topic, bytes(message.payload),
                                    lambda: self.connection.ack(mid, qos)))
