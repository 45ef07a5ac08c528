"""The entity model is consistent: every link has its inverse, names are unique, columns derive."""
from __future__ import annotations

import pytest

from sta_server.model import REGISTRY, Kind
from sta_server.model.declare import snake
from sta_server.model.entity import EntityType, NavLink
from sta_server.model.registry import Registry


@pytest.mark.parametrize("entity_type", list(REGISTRY), ids=lambda t: t.name)
def test_every_link_has_a_matching_inverse(entity_type: EntityType) -> None:
    for link in entity_type.links:
        inverse = REGISTRY.inverse(link)
        assert inverse.target == entity_type.name
        assert inverse.inverse == link.name


def test_all_sensing_tasking_and_multidatastream_types_are_registered() -> None:
    assert {t.plural for t in REGISTRY} == {
        "Things", "Locations", "HistoricalLocations", "Datastreams", "MultiDatastreams", "Sensors",
        "ObservedProperties", "Observations", "FeaturesOfInterest", "TaskingCapabilities", "Tasks",
        "Actuators",
    }


@pytest.mark.parametrize(("name", "expected"), [
    ("phenomenonTime", "phenomenon_time"), ("MultiDatastream", "multi_datastream"), ("id", "id"),
    ("unitOfMeasurement", "unit_of_measurement"),
])
def test_snake_case_column_names(name: str, expected: str) -> None:
    assert snake(name) == expected


def test_interval_properties_use_start_and_end_columns() -> None:
    phenomenon_time = REGISTRY.type("Observation").prop("phenomenonTime")
    assert phenomenon_time is not None and phenomenon_time.kind is Kind.TIME
    assert phenomenon_time.columns() == ("phenomenon_time_start", "phenomenon_time_end")


def test_a_link_without_inverse_is_rejected() -> None:
    lonely = EntityType("A", "As", "as", (), (NavLink("Bs", "B", many=True, inverse="A"),))
    other = EntityType("B", "Bs", "bs", (), ())
    with pytest.raises(ValueError, match="no inverse"):
        Registry([lonely, other])


def test_iot_id_is_an_alias_of_id() -> None:
    thing = REGISTRY.type("Thing")
    assert thing.prop("@iot.id") is thing.prop("id")
