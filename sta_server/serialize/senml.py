"""SenML (RFC 8428): packs in JSON or CBOR resolved into records (section 4.6), and records out.

The `senml` package on PyPI (0.1.0, 2016) predates the RFC and is not used: it takes base values
from the first record only (RFC 8428 4.1: a base field holds until a later record sets it again),
has no Base Sum, treats no time as relative to now, decodes `vb` from strings, does not check
names, version or must-understand (`_`-suffixed) fields, and its CBOR support uses text labels
instead of the RFC's integer labels (section 6). This module is the small resolver it would have
had to become.

Resolution, exactly as section 4.6 says: the name is Base Name + Name and must match the character
rule of section 4.5.1; the time is Base Time + Time, and a resolved time below 2**28 is relative
to now (negative: in the past, section 4.5.3); the unit is the Unit, else the Base Unit; a numeric
Value gets the Base Value added; a Sum gets the Base Sum added. A record needs exactly one value
(`v`, `vs`, `vb`, `vd`) or a sum. `bver` above 10 and unknown fields ending in `_` are rejected.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sta_server.serialize.json_text import parse_json

JSON_TYPE = "application/senml+json"
CBOR_TYPE = "application/senml+cbor"
RELATIVE_LIMIT_S = 2**28
SUPPORTED_VERSION = 10
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-:./_]*")
# RFC 8428 section 6, table 4: CBOR integer labels.
CBOR_LABELS = {-1: "bver", -2: "bn", -3: "bt", -4: "bu", -5: "bv", -6: "bs",
               0: "n", 1: "u", 2: "v", 3: "vs", 4: "vb", 5: "s", 6: "t", 7: "ut", 8: "vd"}
_KNOWN = frozenset(CBOR_LABELS.values())
_VALUE_FIELDS = ("v", "vs", "vb", "vd")
_BASE_FIELDS = ("bn", "bt", "bu", "bv", "bs")


class SenmlError(ValueError):
    """A pack or record that does not follow RFC 8428; `index` is the record (None: the pack)."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


@dataclass(frozen=True)
class Record:
    """A resolved record: absolute name, time (seconds since the epoch), unit and one value."""

    name: str
    time_s: float
    unit: str | None = None
    value: float | str | bool | None = None
    sum: float | None = None
    data: bool = False  # `value` is a `vd` (base64url text)
    update_time_s: float | None = None

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.time_s, UTC)


@dataclass(frozen=True)
class Resolved:
    """Per input record: a resolved Record or the reason it could not be resolved."""

    records: tuple[Record | SenmlError, ...]


def decode_pack(body: bytes, media_type: str) -> list[Any]:
    """A pack as a list of records with text labels (CBOR integer labels mapped to them)."""
    try:
        if media_type == CBOR_TYPE:
            import cbor2

            pack = cbor2.loads(body)
            pack = [_text_labels(r) for r in pack] if isinstance(pack, list) else pack
        else:
            pack = parse_json(body)
    except (ValueError, UnicodeDecodeError, EOFError) as error:
        raise SenmlError(f"The SenML pack cannot be decoded: {error}") from None
    if not isinstance(pack, list):
        raise SenmlError("A SenML pack is an array of records")
    return pack


def _text_labels(record: Any) -> Any:
    if not isinstance(record, dict):
        return record
    return {CBOR_LABELS.get(k, k) if isinstance(k, int) else k: v for k, v in record.items()}


def resolve_pack(pack: Sequence[Any], now_s: float) -> Resolved:
    """Resolve every record; base fields carry over to later records (section 4.1)."""
    base: dict[str, Any] = {}
    out: list[Record | SenmlError] = []
    for index, record in enumerate(pack):
        try:
            if not isinstance(record, dict):
                raise SenmlError("A SenML record is a JSON object")
            _check_fields(record)
            base.update({k: record[k] for k in _BASE_FIELDS if k in record})
            out.append(_resolve(record, base, now_s))
        except SenmlError as error:
            out.append(SenmlError(str(error), index))
    return Resolved(tuple(out))


def _check_fields(record: Mapping[str, Any]) -> None:
    unknown = [k for k in record if k not in _KNOWN and str(k).endswith("_")]
    if unknown:
        raise SenmlError(f"Must-understand field '{unknown[0]}' is not supported")
    version = record.get("bver", SUPPORTED_VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version > SUPPORTED_VERSION:
        raise SenmlError(f"SenML version {version!r} is not supported (at most {SUPPORTED_VERSION})")
    for key in ("bt", "bv", "bs", "t", "v", "s", "ut"):
        if key in record and not _is_number(record[key]):
            raise SenmlError(f"'{key}' must be a number")
    for key in ("bn", "bu", "n", "u", "vs", "vd"):
        if key in record and not isinstance(record[key], str):
            raise SenmlError(f"'{key}' must be a string")
    if "vb" in record and not isinstance(record["vb"], bool):
        raise SenmlError("'vb' must be a boolean")


def _is_number(value: Any) -> bool:
    """A finite JSON/CBOR number (an integer too large for a float is none: OverflowError)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _finite(value: float, what: str) -> float:
    """`value` (a base field plus a record field) unless the sum left the float range."""
    if not math.isfinite(value):
        raise SenmlError(f"'{what}' is out of range")
    return value


def _instant(time_s: float) -> float:
    """The resolved time, if it is a representable instant (years 1 to 9999, UTC): else the
    record is refused alone, not the pack (`"t": 1e13`, `-1e12`, `1e300`)."""
    try:
        datetime.fromtimestamp(time_s, UTC)
    except (ValueError, OverflowError, OSError):
        raise SenmlError(f"The time {time_s!r} is out of range (years 1 to 9999)") from None
    return time_s


def _resolve(record: Mapping[str, Any], base: Mapping[str, Any], now_s: float) -> Record:
    name = base.get("bn", "") + record.get("n", "")
    if not _NAME.fullmatch(name):
        raise SenmlError(f"Invalid SenML name '{name}' (RFC 8428 section 4.5.1)")
    values = [k for k in _VALUE_FIELDS if k in record]
    if len(values) > 1 or (not values and "s" not in record):
        raise SenmlError("A record has exactly one of v, vs, vb, vd, or else a sum s")
    time_s = float(_finite(base.get("bt", 0) + record.get("t", 0), "bt + t"))
    if time_s < RELATIVE_LIMIT_S:
        time_s += now_s
    value: float | str | bool | None = None
    if values:
        value = record[values[0]]
        if values[0] == "v":
            value = _finite(value + base.get("bv", 0), "bv + v")
    total = _finite(record["s"] + base.get("bs", 0), "bs + s") if "s" in record else None
    return Record(name, _instant(time_s), record.get("u", base.get("bu")), value, total,
                  data=values[:1] == ["vd"], update_time_s=record.get("ut"))


def serialize_record(record: Record) -> dict[str, Any]:
    """A resolved record as a SenML JSON object (no base fields)."""
    out: dict[str, Any] = {"n": record.name}
    if record.unit is not None:
        out["u"] = record.unit
    if isinstance(record.value, bool):
        out["vb"] = record.value
    elif isinstance(record.value, (int, float)):
        out["v"] = record.value
    elif record.value is not None:
        out["vd" if record.data else "vs"] = record.value
    if record.sum is not None:
        out["s"] = record.sum
    out["t"] = record.time_s
    return out


def serialize_pack(records: Sequence[Record], base_name: str = "") -> list[dict[str, Any]]:
    """Records as a pack; with `base_name`, names below it are written relative to it (`bn`)."""
    pack = [serialize_record(r) for r in records]
    if base_name and pack and all(r.name.startswith(base_name) for r in records):
        for item in pack:
            item["n"] = item["n"][len(base_name):]
            if not item["n"]:
                del item["n"]
        pack[0] = {"bn": base_name, **pack[0]}
    return pack


def to_cbor_labels(pack: Sequence[Mapping[str, Any]]) -> list[dict[int, Any]]:
    """A pack with the RFC's integer labels, for CBOR (section 6)."""
    labels = {name: label for label, name in CBOR_LABELS.items()}
    return [{labels[k]: v for k, v in record.items()} for record in pack]


def media_type_of(payload: bytes) -> str:
    """JSON or CBOR by the first byte (a JSON pack starts with `[` or white space, a CBOR array
    with a major type 4 byte), for transports without a content type (MQTT topic `v1.1/SenML`)."""
    first = payload.lstrip()[:1]
    return JSON_TYPE if first in (b"[", b"") else CBOR_TYPE
