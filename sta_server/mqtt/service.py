"""The MQTT extension wired together: one broker connection feeding the subscription registry and
the ingest worker, and the notifier listening to committed changes."""
from __future__ import annotations

import logging
import os
import time

import paho.mqtt.client as paho
from paho.mqtt.subscribeoptions import SubscribeOptions
from sqlalchemy import Engine

from sta_server.counters import MqttCounters
from sta_server.mqtt import registry_store
from sta_server.mqtt.broker_watch import SYS_TOPICS, BrokerWatch
from sta_server.mqtt.connection import ClientTls, Message, MqttConnection, broker_address, is_own_message, user_property
from sta_server.mqtt.identity_probe import ask_in_background
from sta_server.mqtt.ingest import Incoming, Ingest
from sta_server.mqtt.limits import MessageLimits
from sta_server.mqtt.notify import Notifier
from sta_server.mqtt.registry_store import RegistryStore
from sta_server.mqtt.subscriptions import LOG_TOPICS, SubscriptionRegistry
from sta_server.security.mqtt_identity import PUBLISHER_PROPERTY, IdentityProbe, Publishers, TopicAccess
from sta_server.security.publisher_stamp import STAMP_PROPERTY, StampCheck
from sta_server.service.events import EventBus
from sta_server.settings import Settings

log = logging.getLogger(__name__)
CREATE_TOPICS = ("v1.1/#", "v1.0/#")
IDEMPOTENCY_PROPERTY = "idempotency-key"
# The server subscribes without Retain As Published: only a copy the broker kept and hands over on
# (re)subscribing has the flag. It is never stored: it was stored when it was published, and its
# Datastream may have moved since (the project's broker plugin clears `retain` on every message).
RETAINED = "a retained message is not a create (it was stored when it was published)"
# A clean stop (SIGTERM, the parent gone) hands over what was stored before it disconnects: within
# this time the queued creates are stored and acknowledged, their notifications published and
# acknowledged by the broker. The supervisor (sta_server/supervisor.py) kills after 30 s.
STOP_DRAIN_S = 20.0


def create_subscriptions(shared_group: str | None) -> list[tuple[str, SubscribeOptions]]:
    """Creates come in on the version topics: No Local for one process; for several, a shared
    subscription (where No Local is a protocol error; own messages are dropped by user property)."""
    if shared_group:
        return [(f"$share/{shared_group}/{t}", SubscribeOptions(qos=1)) for t in CREATE_TOPICS]
    return [(t, SubscribeOptions(qos=1, noLocal=True)) for t in CREATE_TOPICS]


class MqttService:
    """`ingest=False` is the notifier of one HTTP worker among several: it follows the registry
    feed and publishes what its process commits, under a client id of its own and a session that
    ends with it; creates are taken by the one ingest process (or a shared group)."""

    def __init__(self, settings: Settings, engine: Engine, bus: EventBus, *, ingest: bool = True) -> None:
        assert settings.mqtt_url is not None
        self.takes_creates = ingest
        self.stopping = False  # creates that come in now stay unacknowledged: the next session's
        self.bus = bus
        self.engine = engine
        # the process that takes creates keeps the registry in the database; every process reads it
        self.store = RegistryStore(engine) if ingest and settings.mqtt_registry_persist else None
        self.persisted = settings.mqtt_registry_persist
        # only subscriptions the subscriber's user may read are acted on (the broker's ACL rules)
        self.registry = SubscriptionRegistry(self.store.record if self.store else None,
                                             TopicAccess(engine, settings).may_read)
        self.broker = BrokerWatch(settings.mqtt_broker_queue_messages, settings.mqtt_broker_queue_bytes,
                                  log_alarms=ingest)
        # does the broker name publishers (STA_MQTT_IDENTITY=broker)? see IdentityProbe
        self.probe = IdentityProbe(broker_address(settings.mqtt_url)[2])
        probing = ingest and settings.auth and settings.mqtt_identity == "broker"
        # a publisher's name is believed only with the plugin's stamp (security/publisher_stamp.py)
        self.stamps = StampCheck(settings) if probing else None
        # Mosquitto 2.0 lets more than Receive Maximum through after acks: at the queue's high-water
        # mark the network thread stops reading (never blocks), so the broker keeps the rest.
        self.ingest = Ingest(engine, bus, key_retention_h=settings.idempotency_retention_h,
                             batch_size=settings.mqtt_ingest_batch,
                             queue_size=max(1000, 2 * settings.mqtt_receive_maximum),
                             report_s=settings.mqtt_ingest_report_s,
                             limits=MessageLimits(settings.mqtt_max_message_bytes, settings.mqtt_rate_per_topic,
                                                  settings.mqtt_burst_per_topic),
                             publishers=Publishers(engine, settings, self.probe if probing else None))
        subscriptions = [(t, SubscribeOptions(qos=0)) for t in (*LOG_TOPICS, *SYS_TOPICS)]
        if ingest:
            subscriptions += create_subscriptions(settings.mqtt_shared_group)
        client_id = settings.mqtt_client_id if ingest else f"{settings.mqtt_client_id}-http-{os.getpid()}"
        self.connection = MqttConnection(settings.mqtt_url, client_id, subscriptions,
                                         self._on_message, notify_qos=settings.mqtt_notify_qos,
                                         session_expiry_s=settings.mqtt_session_expiry_s if ingest else 0,
                                         receive_maximum=settings.mqtt_receive_maximum,
                                         notify_buffer=settings.mqtt_notify_buffer,
                                         keepalive_s=settings.mqtt_keepalive_s,
                                         tls_files=ClientTls.from_settings(settings))
        if ingest:
            self.connection.hold_reading(self.ingest.queue.full, self.ingest.has_a_batch)
        if probing:  # asked after each connect: the broker may have restarted without its plugin
            tls_files, url = ClientTls.from_settings(settings), settings.mqtt_url
            self.connection.on_connected = lambda generation: ask_in_background(url, tls_files, self.probe,
                                                                                self.stamps)
        self.notifier = Notifier(engine, self.registry, self.connection, settings.base_url,
                                 settings.default_top)
        bus.subscribe(self.notifier)

    def start(self) -> None:
        if self.persisted:  # subscribers that stayed connected while no server was listening
            self.registry.load(registry_store.load(self.engine))
        if self.store is not None:
            self.store.start()
        if self.takes_creates:
            self.ingest.start()
        self.notifier.start()
        self.connection.start()

    def stop(self, drain_s: float = STOP_DRAIN_S) -> None:
        """Stop taking creates, store and acknowledge those queued, publish every notification of
        what was stored and wait for the broker's PUBACKs (bounded by `drain_s`), then disconnect."""
        deadline = time.monotonic() + drain_s
        self.stopping = True
        if self.takes_creates:
            self.ingest.stop(timeout_s=max(0.0, deadline - time.monotonic()))
        self.notifier.stop(timeout_s=max(0.0, deadline - time.monotonic()))
        left = self.connection.wait_published(deadline)
        if left:
            log.error("stopping: %d notifications not acknowledged by the broker within %.0f s", left, drain_s)
        self.connection.stop()
        if self.store is not None:
            self.store.stop()

    def counters(self) -> MqttCounters:
        """This process's counters, for `GET /metrics` (sta_server/counters.py)."""
        stats = self.ingest.stats
        return MqttCounters(takes_creates=self.takes_creates, accepted=stats.accepted,
                            rejected=dict(stats.reasons), duplicates=stats.duplicates, batches=stats.batches,
                            queue_length=self.ingest.queue.qsize(),
                            notifications_published=self.notifier.published,
                            subscribed_paths=len(self.registry.bases()), paced=stats.paced,
                            broker_messages=self.broker.state.messages, broker_bytes=self.broker.state.bytes,
                            broker_dropped=self.broker.state.dropped, broker_alarm=self.broker.state.alarm)

    def _on_message(self, client: paho.Client, userdata: object, message: Message) -> None:
        if message.topic.startswith("$SYS/"):
            payload = message.payload.decode("utf-8", "replace")
            if not self.broker.feed(message.topic, payload):
                self.registry.feed(message.topic, payload)
            return
        mid, qos, generation = message.mid, message.qos, self.connection.generation
        if is_own_message(message):
            self.connection.ack(mid, qos, generation)
            return
        if self.stopping:  # not acknowledged: the broker hands it to the next session
            return
        body, key = bytes(message.payload), user_property(message, IDEMPOTENCY_PROPERTY)
        publisher = user_property(message, PUBLISHER_PROPERTY)
        unstamped = self.stamps is not None and publisher is not None and not self.stamps.verified(
            publisher, user_property(message, STAMP_PROPERTY), message.topic, key, body)
        incoming = Incoming(message.topic, body, lambda: self.connection.ack(mid, qos, generation),
                            key, None if unstamped else publisher, unstamped)
        if message.retain:  # a retained copy, stored when it was published (and stale: see RETAINED)
            self.ingest.refuse(incoming, "Retained", RETAINED)
            return
        self.ingest.submit(incoming)
