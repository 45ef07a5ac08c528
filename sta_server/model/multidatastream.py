"""The MultiDatastream extension (OGC 18-088, section 8.5): several observed properties per stream."""
from __future__ import annotations

from sta_server.model.declare import ID, many_to_many, prop, to_many, to_one
from sta_server.model.entity import EntityType, Kind

COMPLEX_OBSERVATION = (
    "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_ComplexObservation"
)

MULTI_DATASTREAM = EntityType(
    "MultiDatastream", "MultiDatastreams", "multi_datastreams",
    (
        ID, prop("name", required=True), prop("description"),
        prop("unitOfMeasurements", Kind.JSON, required=True), prop("observationType", required=True),
        prop("multiObservationDataTypes", Kind.JSON, required=True),
        prop("observedArea", Kind.AREA, read_only=True),
        prop("phenomenonTime", Kind.INTERVAL, read_only=True),
        prop("resultTime", Kind.INTERVAL, read_only=True),
        prop("properties", Kind.JSON, since="1.1"),
    ),
    (
        to_one("Thing", "Thing", "MultiDatastreams", required=True),
        to_one("Sensor", "Sensor", "MultiDatastreams", required=True),
        many_to_many("ObservedProperties", "MultiDatastream", "ObservedProperty", "MultiDatastreams",
                     "multi_datastreams_observed_properties", order_column="rank", required=True),
        to_many("Observations", "Observation", "MultiDatastream"),
    ),
)
