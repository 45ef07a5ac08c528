"""`MqttSession`: one MQTT v5 connection to the project broker (paho-mqtt 2) for agents. Publishes
creates with QoS 1 and an `idempotency-key` user property and reports each broker PUBACK with the
original message (`Publication`), so a store-and-forward queue can delete exactly what was taken;
subscribes with QoS 1 on a persistent session (clean_start False, Session Expiry Interval) and
subscribes again on every connect; reconnects by itself with back-off."""
from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from sta_client.errors import MqttError
from sta_client.messages import AckCallback, Handler, Notification, Publication, encode, user_properties_of
from sta_client.paths import EntityId
from sta_client.requests import new_key
from sta_client.settings import ClientSettings
from sta_client.tls import ssl_context
from sta_client.topics import (
    IDEMPOTENCY_PROPERTY,
    SENML_TOPIC,
    broker_address,
    client_id_for,
    observations_topic,
    tasks_topic,
)

log = logging.getLogger(__name__)
__all__ = ["MqttSession", "Notification", "Publication"]


class MqttSession:
    """`session = MqttSession(settings, "lessag-s17:box"); session.start(); session.wait_connected(10)`."""

    def __init__(self, settings: ClientSettings, client_id: str | None = None, *, persistent: bool = True,
                 max_inflight: int = 1000) -> None:
        if settings.mqtt_url is None:
            raise ValueError("ClientSettings.mqtt_url is not set")
        self.address = broker_address(settings.mqtt_url)
        self._username = self.address.username or settings.username
        password = self.address.password or settings.password
        self.client_id = client_id_for(self._username, client_id or settings.mqtt_client_id
                                       or f"sta-client-{uuid.uuid4().hex[:12]}")
        self.persistent = persistent
        self._expiry_s = settings.mqtt_session_expiry_s if persistent else 0
        self._keepalive_s = settings.mqtt_keepalive_s
        self._lock = threading.Lock()
        self._pending: dict[int, tuple[Publication, AckCallback | None]] = {}
        self._early_acks: dict[int, int] = {}
        self._handlers: dict[str, Handler] = {}
        self._subacks: dict[int, tuple[threading.Event, list[int]]] = {}
        self._renewals: set[int] = set()  # mids of the subscriptions renewed on connect
        self.connected = threading.Event()
        self._network_thread: int | None = None  # paho's thread (callbacks run there)
        self.session_present = False
        self.last_connect_code: int | None = None
        self._client = self._make_client(settings, password, max_inflight)

    def _make_client(self, settings: ClientSettings, password: str | None, max_inflight: int) -> paho.Client:
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=paho.MQTTv5,
                             transport="websockets" if self.address.websockets else "tcp")
        if self.address.websockets:
            client.ws_set_options(path=self.address.path)
        if self._username is not None:
            client.username_pw_set(self._username, password)
        if self.address.tls or settings.tls_cert_file is not None:
            client.tls_set_context(ssl_context(settings))
        client.max_inflight_messages_set(max_inflight)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_unrouted
        return client

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background (paho's network thread); reconnects by itself."""
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self._expiry_s
        self._client.connect_async(self.address.host, self.address.port, keepalive=self._keepalive_s,
                                   clean_start=not self.persistent, properties=properties)
        self._client.loop_start()

    def wait_connected(self, timeout: float) -> None:
        if not self.connected.wait(timeout):
            raise MqttError(self.last_connect_code or -1,
                            f"not connected to {self.address.host}:{self.address.port} within {timeout} s")

    def close(self) -> None:
        """Disconnect (the broker keeps a persistent session for its expiry interval)."""
        self._client.disconnect()
        self._client.loop_stop()
        self.connected.clear()

    def _on_connect(self, client: paho.Client, _: Any, flags: Any, reason: ReasonCode, __: Any) -> None:
        self._network_thread = threading.get_ident()
        self.last_connect_code = int(reason.value)
        if reason.is_failure:
            log.warning("MQTT %s refused the connection of %s: %s", self.address.host, self.client_id, reason)
            return
        self.session_present = bool(getattr(flags, "session_present", False))
        log.info("MQTT connected as %s (session present: %s)", self.client_id, self.session_present)
        with self._lock:
            topics = list(self._handlers)
        if topics:  # in the network thread: its SUBACK cannot come before the mid is noted
            _, mid = client.subscribe([(topic, SubscribeOptions(qos=1, retainHandling=1)) for topic in topics])
            with self._lock:
                self._renewals.add(mid or 0)
        self.connected.set()

    def _on_disconnect(self, _: paho.Client, __: Any, ___: Any, reason: ReasonCode, ____: Any) -> None:
        self.connected.clear()
        log.info("MQTT %s disconnected: %s", self.client_id, reason)

    # --- publishing -----------------------------------------------------------------------------

    def publish(self, topic: str, payload: Any, user_properties: Sequence[tuple[str, str]] = (),
                on_ack: AckCallback | None = None) -> Publication:
        """QoS 1 publish; `on_ack(publication, reason_code)` runs (in the network thread) on PUBACK.
        While disconnected paho keeps the message and sends it after reconnecting."""
        key = next((value for name, value in user_properties if name == IDEMPOTENCY_PROPERTY), None)
        publication = Publication(topic, encode(payload), key, tuple(user_properties))
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        if user_properties:
            properties.UserProperty = list(user_properties)
        info = self._client.publish(topic, publication.payload, qos=1, properties=properties)
        if info.rc not in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN):
            raise MqttError(int(info.rc), f"publish to {topic} failed: {paho.error_string(info.rc)}")
        publication.mid = info.mid
        with self._lock:  # the PUBACK may have come before `publish` returned
            early = self._early_acks.pop(info.mid, None)
            if early is None:
                self._pending[info.mid] = (publication, on_ack)
        if early is not None:
            self._acknowledge(publication, on_ack, early)
        return publication

    def publish_observation(self, datastream_id: EntityId, body: Any, idempotency_key: str | None = None,
                            on_ack: AckCallback | None = None, multi: bool = False) -> Publication:
        """Create an Observation over MQTT, exactly once per key (a key is made when none is given)."""
        return self.publish(observations_topic(datastream_id, multi), body,
                            [(IDEMPOTENCY_PROPERTY, idempotency_key or new_key())], on_ack)

    def publish_senml(self, pack: Sequence[Mapping[str, Any]], idempotency_key: str | None = None,
                      on_ack: AckCallback | None = None) -> Publication:
        return self.publish(SENML_TOPIC, list(pack), [(IDEMPOTENCY_PROPERTY, idempotency_key or new_key())], on_ack)

    def publish_task(self, capability_id: EntityId, parameters: Mapping[str, Any],
                     idempotency_key: str | None = None, on_ack: AckCallback | None = None) -> Publication:
        return self.publish(tasks_topic(capability_id), {"taskingParameters": dict(parameters)},
                            [(IDEMPOTENCY_PROPERTY, idempotency_key or new_key())], on_ack)

    def _on_publish(self, _: paho.Client, __: Any, mid: int, reason: ReasonCode, ___: Any) -> None:
        code = int(reason.value)
        with self._lock:
            found = self._pending.pop(mid, None)
            if found is None:
                self._early_acks[mid] = code
        if found is not None:
            self._acknowledge(*found, code)

    def _acknowledge(self, publication: Publication, on_ack: AckCallback | None, code: int) -> None:
        publication.reason_code = code
        publication.acked.set()
        if code >= 128:
            log.warning("MQTT broker refused the publish to %s (key %s): reason %d",
                        publication.topic, publication.idempotency_key, code)
        if on_ack is not None:
            try:
                on_ack(publication, code)
            except Exception:  # the network thread must survive a faulty callback
                log.exception("on_ack callback failed for %s", publication.topic)

    @property
    def unacknowledged(self) -> int:
        with self._lock:
            return len(self._pending)

    # --- subscriptions --------------------------------------------------------------------------

    def subscribe(self, topic: str, handler: Handler, timeout: float | None = 10.0) -> None:
        """QoS 1 subscription, renewed on every connect; waits for the SUBACK when connected (raises
        MqttError when the broker refuses it), except when called from a handler or callback (paho's
        thread, which must go on to read the SUBACK) or with `timeout=None`."""
        with self._lock:
            self._handlers[topic] = handler
        self._client.message_callback_add(topic, self._route(handler))
        if not self.connected.is_set():
            return
        result, mid = self._client.subscribe(topic, options=SubscribeOptions(qos=1, retainHandling=1))
        if result != paho.MQTT_ERR_SUCCESS or mid is None or timeout is None \
                or threading.get_ident() == self._network_thread:
            return
        done, codes = self._expect_suback(mid)
        arrived = done.wait(timeout)
        with self._lock:
            self._subacks.pop(mid, None)
        if arrived and codes and codes[0] >= 128:
            raise MqttError(codes[0], f"the broker refused the subscription to {topic}")

    def unsubscribe(self, topic: str) -> None:
        with self._lock:
            self._handlers.pop(topic, None)
        self._client.message_callback_remove(topic)
        self._client.unsubscribe(topic)

    def _expect_suback(self, mid: int) -> tuple[threading.Event, list[int]]:
        with self._lock:
            return self._subacks.setdefault(mid, (threading.Event(), []))

    def _on_subscribe(self, _: paho.Client, __: Any, mid: int, codes: list[ReasonCode], ___: Any) -> None:
        refused = [int(code.value) for code in codes if code.is_failure]
        if refused:
            log.warning("MQTT broker refused a subscription of %s: %s", self.client_id, refused)
        with self._lock:
            if mid in self._renewals:
                self._renewals.discard(mid)
                return
        done, found = self._expect_suback(mid)  # the waiter in `subscribe` removes it
        found.extend(int(code.value) for code in codes)
        done.set()

    def _route(self, handler: Handler) -> Callable[[paho.Client, Any, paho.MQTTMessage], None]:
        def deliver(_: paho.Client, __: Any, message: paho.MQTTMessage) -> None:
            try:
                body = json.loads(message.payload)
            except (ValueError, UnicodeDecodeError):
                body = None
            notification = Notification(message.topic, body, bytes(message.payload),
                                        user_properties_of(getattr(message, "properties", None)))
            try:
                handler(notification)
            except Exception:  # the network thread must survive a faulty handler
                log.exception("MQTT handler for %s failed", message.topic)
        return deliver

    def _on_unrouted(self, _: paho.Client, __: Any, message: paho.MQTTMessage) -> None:
        log.debug("MQTT message on %s matches no handler", message.topic)
