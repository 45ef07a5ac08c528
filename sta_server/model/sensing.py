"""The Sensing entity types of SensorThings v1.1 (OGC 18-088, section 8.2)."""
from __future__ import annotations

from sta_server.model.declare import ID, many_to_many, prop, to_many, to_one
from sta_server.model.entity import EntityType, Kind

V11 = "1.1"

THING = EntityType(
    "Thing", "Things", "things",
    (ID, prop("name", required=True), prop("description"), prop("properties", Kind.JSON)),
    (
        many_to_many("Locations", "Thing", "Location", "Things", "things_locations"),
        to_many("HistoricalLocations", "HistoricalLocation", "Thing"),
        to_many("Datastreams", "Datastream", "Thing"),
        to_many("MultiDatastreams", "MultiDatastream", "Thing"),
        to_many("TaskingCapabilities", "TaskingCapability", "Thing", since=V11),
    ),
)

LOCATION = EntityType(
    "Location", "Locations", "locations",
    (
        ID, prop("name", required=True), prop("description"),
        prop("encodingType", required=True), prop("location", Kind.GEOJSON, required=True),
        prop("properties", Kind.JSON, since=V11),
    ),
    (
        many_to_many("Things", "Location", "Thing", "Locations", "things_locations"),
        many_to_many("HistoricalLocations", "Location", "HistoricalLocation", "Locations",
                     "locations_historical_locations"),
    ),
)

HISTORICAL_LOCATION = EntityType(
    "HistoricalLocation", "HistoricalLocations", "historical_locations",
    (ID, prop("time", Kind.INSTANT, required=True)),
    (
        to_one("Thing", "Thing", "HistoricalLocations", required=True),
        many_to_many("Locations", "HistoricalLocation", "Location", "HistoricalLocations",
                     "locations_historical_locations"),
    ),
)

SENSOR = EntityType(
    "Sensor", "Sensors", "sensors",
    (
        ID, prop("name", required=True), prop("description"),
        prop("encodingType", required=True), prop("metadata", required=True),
        prop("properties", Kind.JSON, since=V11),
    ),
    (
        to_many("Datastreams", "Datastream", "Sensor"),
        to_many("MultiDatastreams", "MultiDatastream", "Sensor"),
    ),
)

OBSERVED_PROPERTY = EntityType(
    "ObservedProperty", "ObservedProperties", "observed_properties",
    (
        ID, prop("name", required=True), prop("definition", required=True), prop("description"),
        prop("properties", Kind.JSON, since=V11),
    ),
    (
        to_many("Datastreams", "Datastream", "ObservedProperty"),
        many_to_many("MultiDatastreams", "ObservedProperty", "MultiDatastream", "ObservedProperties",
                     "multi_datastreams_observed_properties"),
    ),
)

DATASTREAM = EntityType(
    "Datastream", "Datastreams", "datastreams",
    (
        ID, prop("name", required=True), prop("description"),
        prop("unitOfMeasurement", Kind.JSON, required=True), prop("observationType", required=True),
        prop("observedArea", Kind.AREA, read_only=True),
        prop("phenomenonTime", Kind.INTERVAL, read_only=True),
        prop("resultTime", Kind.INTERVAL, read_only=True),
        prop("properties", Kind.JSON, since=V11),
    ),
    (
        to_one("Thing", "Thing", "Datastreams", required=True),
        to_one("Sensor", "Sensor", "Datastreams", required=True),
        to_one("ObservedProperty", "ObservedProperty", "Datastreams", required=True),
        to_many("Observations", "Observation", "Datastream"),
    ),
)

OBSERVATION = EntityType(
    "Observation", "Observations", "observations",
    (
        ID, prop("phenomenonTime", Kind.TIME), prop("result", Kind.RESULT, required=True),
        prop("resultTime", Kind.INSTANT), prop("resultQuality", Kind.JSON),
        prop("validTime", Kind.INTERVAL), prop("parameters", Kind.JSON),
    ),
    (
        to_one("Datastream", "Datastream", "Observations"),
        to_one("MultiDatastream", "MultiDatastream", "Observations"),
        to_one("FeatureOfInterest", "FeatureOfInterest", "Observations"),
    ),
)

FEATURE_OF_INTEREST = EntityType(
    "FeatureOfInterest", "FeaturesOfInterest", "features",
    (
        ID, prop("name", required=True), prop("description"),
        prop("encodingType", required=True), prop("feature", Kind.GEOJSON, required=True),
        prop("properties", Kind.JSON, since=V11),
    ),
    (to_many("Observations", "Observation", "FeatureOfInterest"),),
)

SENSING_TYPES = (
    THING, LOCATION, HISTORICAL_LOCATION, SENSOR, OBSERVED_PROPERTY, DATASTREAM, OBSERVATION,
    FEATURE_OF_INTEREST,
)
