"""RFC 8428 resolution, checked against the RFC's own example packs (section 5)."""
from __future__ import annotations

from typing import Any

import cbor2
import pytest

from sta_server.serialize.senml import (
    CBOR_TYPE,
    JSON_TYPE,
    Record,
    SenmlError,
    decode_pack,
    media_type_of,
    resolve_pack,
    serialize_pack,
    to_cbor_labels,
)

NOW = 1_700_000_000.0
DEVICE = "urn:dev:ow:10e2073a01080063:"
# Section 5.1.3: multiple measurements with a base time, base unit and relative times.
MULTIPLE_MEASUREMENTS = [
    {"bn": "urn:dev:ow:10e2073a0108006:", "bt": 1.276020076001e09, "bu": "A", "bver": 5,
     "n": "voltage", "u": "V", "v": 120.1},
    {"n": "current", "t": -5, "v": 1.2}, {"n": "current", "t": -4, "v": 1.3},
    {"n": "current", "t": -3, "v": 1.4}, {"n": "current", "t": -2, "v": 1.5},
    {"n": "current", "t": -1, "v": 1.6}, {"n": "current", "v": 1.7},
]


def _records(pack: list[Any]) -> list[Record]:
    out = resolve_pack(pack, NOW).records
    assert all(isinstance(r, Record) for r in out), out
    return [r for r in out if isinstance(r, Record)]


def test_single_datapoint_resolves_to_absolute_now() -> None:
    (record,) = _records([{"n": "urn:dev:ow:10e2073a01080063", "u": "Cel", "v": 23.1}])
    assert record == Record("urn:dev:ow:10e2073a01080063", NOW, "Cel", 23.1)


def test_base_name_prefixes_every_name() -> None:
    records = _records([{"bn": DEVICE, "n": "voltage", "u": "V", "v": 120.1},
                        {"n": "current", "u": "A", "v": 1.2}])
    assert [r.name for r in records] == [DEVICE + "voltage", DEVICE + "current"]


def test_resolved_pack_of_section_5_1_3_matches_the_rfc() -> None:
    records = _records(MULTIPLE_MEASUREMENTS)
    base = 1.276020076001e09
    expected = [("voltage", "V", 120.1, base)] + [
        ("current", "A", value, base + offset)
        for value, offset in ((1.2, -5), (1.3, -4), (1.4, -3), (1.5, -2), (1.6, -1), (1.7, 0))
    ]
    got = [(r.name.rsplit(":", 1)[1], r.unit, r.value, r.time_s) for r in records]
    assert got == expected


def test_multiple_data_types_of_section_5_1_5_use_base_unit_and_base_time() -> None:
    pack = [{"bn": DEVICE, "bt": 1.320067464e09, "bu": "%RH", "v": 20}, {"u": "lon", "v": 24.30621},
            {"u": "lat", "v": 60.07965}, {"t": 60, "v": 20.3}, {"u": "%EL", "t": 150, "v": 98}]
    records = _records(pack)
    assert [(r.unit, r.value, r.time_s - 1.320067464e09) for r in records] == [
        ("%RH", 20, 0), ("lon", 24.30621, 0), ("lat", 60.07965, 0), ("%RH", 20.3, 60), ("%EL", 98, 150)]
    assert {r.name for r in records} == {DEVICE}


def test_collection_of_resources_of_section_5_1_6_keeps_value_types() -> None:
    pack = [{"bn": DEVICE, "n": "temp", "u": "Cel", "v": 23.1}, {"n": "label", "vs": "Machine Room"},
            {"n": "open", "vb": False}, {"n": "nfc-reader", "vd": "aGkgCg"}]
    records = _records(pack)
    assert [r.value for r in records] == [23.1, "Machine Room", False, "aGkgCg"]
    assert records[3].data and records[1].unit is None


def test_base_value_and_base_sum_are_added() -> None:
    pack = [{"bn": "meter/", "bv": 100, "bs": 1000, "n": "energy", "v": 5, "s": 7}, {"n": "energy", "s": 2}]
    records = _records(pack)
    assert (records[0].value, records[0].sum) == (105, 1007)
    assert (records[1].value, records[1].sum) == (None, 1002)


def test_negative_time_is_seconds_before_now() -> None:
    (record,) = _records([{"n": "x", "t": -60, "v": 1}])
    assert record.time_s == NOW - 60


def test_time_at_or_above_two_to_the_28_is_absolute() -> None:
    (record,) = _records([{"n": "x", "t": 2**28, "v": 1}])
    assert record.time_s == 2**28


def test_base_fields_carry_over_until_changed() -> None:
    records = _records([{"bn": "a/", "n": "x", "v": 1}, {"n": "y", "v": 2}, {"bn": "b/", "n": "x", "v": 3}])
    assert [r.name for r in records] == ["a/x", "a/y", "b/x"]


@pytest.mark.parametrize(("record", "reason"), [
    ({"n": "bad name", "v": 1}, "Invalid SenML name"),
    ({"n": "-x", "v": 1}, "Invalid SenML name"),
    ({"n": "x"}, "exactly one"),
    ({"n": "x", "v": 1, "vs": "a"}, "exactly one"),
    ({"n": "x", "v": "1"}, "'v' must be a number"),
    ({"n": "x", "v": 1, "bver": 11}, "version"),
    ({"n": "x", "v": 1, "foo_": 1}, "Must-understand"),
])
def test_invalid_record_is_rejected_with_its_reason(record: dict[str, object], reason: str) -> None:
    (outcome,) = resolve_pack([record], NOW).records
    assert isinstance(outcome, SenmlError) and reason in str(outcome) and outcome.index == 0


def test_a_bad_record_does_not_stop_the_others() -> None:
    records = resolve_pack([{"n": "x"}, {"n": "y", "v": 1}], NOW).records
    assert isinstance(records[0], SenmlError) and isinstance(records[1], Record)


def test_cbor_pack_with_integer_labels_decodes_like_json() -> None:
    body = cbor2.dumps([{-2: DEVICE, 0: "temp", 1: "Cel", 2: 23.1}])
    assert decode_pack(body, CBOR_TYPE) == [{"bn": DEVICE, "n": "temp", "u": "Cel", "v": 23.1}]


def test_pack_that_is_not_an_array_is_an_error() -> None:
    with pytest.raises(SenmlError):
        decode_pack(b'{"n": "x"}', JSON_TYPE)


def test_serialized_pack_resolves_back_to_the_same_records() -> None:
    records = _records(MULTIPLE_MEASUREMENTS)
    pack = serialize_pack(records, "urn:dev:ow:10e2073a0108006:")
    assert pack[0]["bn"] == "urn:dev:ow:10e2073a0108006:" and pack[1]["n"] == "current"
    assert _records(pack) == records


def test_cbor_labels_round_trip() -> None:
    pack = serialize_pack([Record("x", 2e9, "W", 1.5)])
    assert decode_pack(cbor2.dumps(to_cbor_labels(pack)), CBOR_TYPE) == pack


def test_payload_kind_is_told_by_its_first_byte() -> None:
    assert media_type_of(b' [{"n":"x","v":1}]') == JSON_TYPE
    assert media_type_of(cbor2.dumps([{0: "x", 2: 1}])) == CBOR_TYPE


@pytest.mark.parametrize("record", [
    {"n": "x", "v": 1, "t": 1e13},  # year 318857
    {"n": "x", "v": 1, "t": -1e12},  # relative, still before year 1
    {"n": "x", "v": 1, "t": 1e20},
    {"n": "x", "v": 1, "t": 1e300},
    {"n": "x", "vs": "a", "t": 253402300800},  # 10000-01-01, one second past 9999-12-31
    {"n": "x", "v": 1, "bt": 1e308, "t": 1e308},  # bt + t leaves the float range
])
def test_a_time_out_of_range_refuses_its_record_alone(record: dict[str, object]) -> None:
    bad, good = resolve_pack([record, {"bt": 0, "n": "y", "v": 2}], NOW).records  # base fields carry over
    assert isinstance(bad, SenmlError) and "out of range" in str(bad) and bad.index == 0
    assert isinstance(good, Record) and good.time_s == NOW


@pytest.mark.parametrize(("record", "reason"), [
    ({"n": "x", "v": 1e308, "bv": 1e308}, "'bv + v' is out of range"),
    ({"n": "x", "s": 1e308, "bs": 1e308}, "'bs + s' is out of range"),
    ({"n": "x", "v": 10**400}, "'v' must be a number"),  # an integer no float holds
    ({"n": "x", "v": 1, "t": 10**400}, "'t' must be a number"),
    ({"n": "x", "v": float("nan")}, "'v' must be a number"),
    ({"n": "x", "v": float("inf")}, "'v' must be a number"),
    ({"bn": 7, "n": "x", "v": 1}, "'bn' must be a string"),
    ({"bn": "a b/", "n": "x", "v": 1}, "Invalid SenML name"),
])
def test_values_out_of_range_refuse_their_record_alone(record: dict[str, object], reason: str) -> None:
    bad, good = resolve_pack([record, {"bn": "", "bv": 0, "bs": 0, "n": "y", "v": 2}], NOW).records
    assert isinstance(bad, SenmlError) and reason in str(bad), bad
    assert isinstance(good, Record) and good.value == 2


def test_the_earliest_and_latest_instants_are_kept() -> None:
    first, last = _records([{"n": "x", "v": 1, "t": -62135596800 - NOW},  # relative: below 2**28
                            {"n": "x", "v": 1, "t": 253402300799}])
    assert first.time.year == 1 and last.time.year == 9999
