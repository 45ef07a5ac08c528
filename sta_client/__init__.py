"""One typed client of the SensorThings server (HTTP on httpx, MQTT on paho), used by every agent,
adapter, controller and GUI back end. Imports nothing of `sta_server`.

- `StaClient` / `AsyncStaClient` (http.py): create/get/iter/patch/delete, CreateObservations, `$batch`,
  SenML, Tasks; idempotency keys on every create; typed errors (errors.py); retries (retry.py).
- `Query` (query.py) and the literal helpers; entity records (entities.py); SenML packs (senml.py).
- `MqttSession` (mqtt.py) and `AsyncMqttSession` (mqtt_async.py): QoS 1 publishes with PUBACK
  callbacks, persistent subscriptions.
"""
from sta_client.entities import (
    Actuator,
    Datastream,
    Entity,
    FeatureOfInterest,
    Location,
    MultiDatastream,
    Observation,
    ObservedProperty,
    Sensor,
    Task,
    TaskingCapability,
    Thing,
)
from sta_client.errors import (
    BadRequest,
    ClientError,
    Conflict,
    Forbidden,
    MqttError,
    NotFound,
    ServerError,
    ServerUnavailable,
    StaError,
    TooManyRequests,
    TransportError,
    Unauthorized,
)
from sta_client.http import AsyncStaClient, StaClient
from sta_client.mqtt import MqttSession, Notification, Publication
from sta_client.mqtt_async import AsyncMqttSession
from sta_client.paths import EntityId, entity_path
from sta_client.query import Query, datetime_literal, literal, string_literal
from sta_client.requests import BatchItem
from sta_client.responses import Page, SenmlReport
from sta_client.settings import ClientSettings

__all__ = [
    "Actuator", "AsyncMqttSession", "AsyncStaClient", "BadRequest", "BatchItem", "ClientError", "ClientSettings",
    "Conflict", "Datastream", "Entity", "EntityId", "FeatureOfInterest", "Forbidden", "Location", "MqttError",
    "MqttSession", "MultiDatastream", "NotFound", "Notification", "Observation", "ObservedProperty", "Page",
    "Publication", "SenmlReport",
    "Query", "Sensor", "ServerError", "ServerUnavailable", "StaError", "StaClient", "Task", "TaskingCapability",
    "Thing", "TooManyRequests", "TransportError", "Unauthorized", "datetime_literal", "entity_path", "literal",
    "string_literal",
]
