"""URL resource paths into JSON members (query/path.py): what the path names, the name the answer
uses, and the path written back into links."""
from __future__ import annotations

import pytest

from sta_server.errors import InvalidPath
from sta_server.query.path import parse_path

# (path, property, members, answer's member name, url_path)
MEMBER_PATHS = [
    ("Things(1)/properties", "properties", (), "properties", "Things(1)/properties"),
    ("Things(1)/properties/string", "properties", ("string",), "string", "Things(1)/properties/string"),
    ("Things(1)/properties/intArray[1]", "properties", ("intArray", 1), "intArray[1]",
     "Things(1)/properties/intArray[1]"),
    ("Things(1)/properties/intIntArray[0][1]", "properties", ("intIntArray", 0, 1), "intIntArray[0][1]",
     "Things(1)/properties/intIntArray[0][1]"),
    ("Things(1)/properties/objArray[0]/string", "properties", ("objArray", 0, "string"), "string",
     "Things(1)/properties/objArray[0]/string"),
    ("Observations(5)/result[0]", "result", (0,), "result[0]", "Observations(5)/result[0]"),
    ("Datastreams(2)/unitOfMeasurement/symbol", "unitOfMeasurement", ("symbol",), "symbol",
     "Datastreams(2)/unitOfMeasurement/symbol"),
    ("Datastreams(2)/Thing/properties/a b", "properties", ("a b",), "a b", "Datastreams(2)/Thing/properties/a b"),
    ("Things(1)/id", "id", (), "@iot.id", "Things(1)/id"),
]


@pytest.mark.parametrize(("text", "prop", "members", "name", "url"), MEMBER_PATHS, ids=[p[0] for p in MEMBER_PATHS])
def test_member_paths(text: str, prop: str, members: tuple[str | int, ...], name: str, url: str) -> None:
    path = parse_path("1.1", text)
    assert path.prop is not None and path.prop.name == prop
    assert path.members == members
    assert path.member_name == name
    assert path.url_path() == url
    assert not path.value


def test_value_after_a_member() -> None:
    path = parse_path("1.1", "Things(1)/properties/objArray[0]/string/$value")
    assert path.members == ("objArray", 0, "string") and path.value


@pytest.mark.parametrize("text", [
    "Things(1)/name/first",  # a string has no members
    "Things(1)/name[0]",
    "Things(1)/properties/[0]",  # a member needs a key
    "Things(1)/properties/a[x]",
    "Things(1)/colour[0]",
    "Things(1)/properties/a/$value/b",
    "Things(1)/properties/a/$ref",
])
def test_invalid_member_paths(text: str) -> None:
    with pytest.raises(InvalidPath):
        parse_path("1.1", text)
