"""The Tasking Core entity types (OGC 17-079r1 / SensorThings v1.1 Tasking): set-points for devices."""
from __future__ import annotations

from sta_server.model.declare import ID, prop, to_many, to_one
from sta_server.model.entity import EntityType, Kind

TASKING_CAPABILITY = EntityType(
    "TaskingCapability", "TaskingCapabilities", "tasking_capabilities",
    (
        ID, prop("name", required=True), prop("description", required=True),
        prop("properties", Kind.JSON), prop("taskingParameters", Kind.JSON, required=True),
    ),
    (
        to_one("Thing", "Thing", "TaskingCapabilities", required=True),
        to_one("Actuator", "Actuator", "TaskingCapabilities", required=True),
        to_many("Tasks", "Task", "TaskingCapability"),
    ),
    since="1.1",
)

TASK = EntityType(
    "Task", "Tasks", "tasks",
    (
        ID, prop("creationTime", Kind.INSTANT, read_only=True),
        prop("taskingParameters", Kind.JSON, required=True),
    ),
    (to_one("TaskingCapability", "TaskingCapability", "Tasks", required=True),),
    since="1.1",
)

ACTUATOR = EntityType(
    "Actuator", "Actuators", "actuators",
    (
        ID, prop("name", required=True), prop("description", required=True),
        prop("encodingType", required=True), prop("metadata", required=True),
        prop("properties", Kind.JSON),
    ),
    (to_many("TaskingCapabilities", "TaskingCapability", "Actuator"),),
    since="1.1",
)

TASKING_TYPES = (TASKING_CAPABILITY, TASK, ACTUATOR)
