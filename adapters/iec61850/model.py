"""Pure parts of the 61850 adapter: the emulator's model in libiec61850's config-file syntax, the writes a
command becomes, and the readings made from the values read (no I/O)."""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from adapters.connector import Reading
from adapters.iec61850.variables import IED, LD, MEASUREMENTS, SETTINGS, WRITES, Attribute

FC_CODES = {"ST": 0, "MX": 1, "SP": 2}
TYPE_CODES = {"float": 10, "int32": 3}
CONSTRUCTED = 27
Tree = dict[str, Any]


def _insert(tree: Tree, attribute: Attribute, initial: float | int | None) -> None:
    node_name, data_object, *path = attribute.reference.split(".")
    node = tree.setdefault(node_name, {}).setdefault(data_object, {})
    for part in path[:-1]:
        node = node.setdefault(part, {"__fc": attribute.fc})
    node[path[-1]] = (attribute, initial)


def _lines(children: Mapping[str, Any], depth: int) -> Iterable[str]:
    for name, child in children.items():
        if name == "__fc":
            continue
        if isinstance(child, tuple):
            attribute, initial = child
            value = "" if initial is None else f"={initial}"
            yield f"DA({name} 0 {TYPE_CODES[attribute.kind]} {FC_CODES[attribute.fc]} 1 0){value};"
        elif depth == 0:
            yield f"DO({name} 0){{"
            yield from _lines(child, 1)
            yield "}"
        else:
            yield f"DA({name} 0 {CONSTRUCTED} {FC_CODES[child['__fc']]} 1 0){{"
            yield from _lines(child, depth + 1)
            yield "}"


def model_config(initial: Mapping[str, float | int], missing_nodes: Iterable[str] = ()) -> str:
    """The router's model (measurements and settings of variables.py, less `missing_nodes`)."""
    tree: Tree = {"LLN0": {"Mod": {"stVal": (Attribute("Mod.stVal", "ST", "int32", None), 1)}}}
    left_out = set(missing_nodes)
    for attribute in (*MEASUREMENTS, *SETTINGS):
        if attribute.reference.split(".")[0] not in left_out:
            _insert(tree, attribute, initial.get(attribute.reference))
    lines = [f"MODEL({IED}){{", f"LD({LD}){{"]
    for node_name, data_objects in tree.items():
        lines += [f"LN({node_name}){{", *_lines(data_objects, 0), "}"]
    return "\n".join([*lines, "}", "}", ""])


def command_writes(parameters: Mapping[str, Any]) -> list[tuple[str, str, float | int]]:
    """(parameter, setting reference, value) for each known parameter of er_mode / er_limits / ess_setpoint.
    Raises ValueError for a value of the wrong type; unknown parameters (enabled, reason) are ignored."""
    given = dict(parameters)
    if "gridPower" in given:  # er_limits: a QuantityRange [min, max]
        bounds = given.pop("gridPower")
        if not isinstance(bounds, list | tuple) or len(bounds) != 2:
            raise ValueError(f"gridPower must be [min, max], not {bounds!r}")
        given["gridPowerMin"], given["gridPowerMax"] = bounds
    writes: list[tuple[str, str, float | int]] = []
    for name, (setting, _) in WRITES.items():
        if name not in given or given[name] is None:
            continue
        value = given[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, not {value!r}")
        writes.append((name, setting, int(value) if name == "operationMode" else float(value)))
    if not writes:
        raise ValueError(f"no energy-router setting in {sorted(parameters)}")
    return writes


def readings(values: Mapping[str, float | int | None], now: datetime, keys: Mapping[str, str]) -> list[Reading]:
    """One reading per mapped attribute that was read (None = missing in the device: left out)."""
    found = []
    for attribute in MEASUREMENTS:
        key = keys.get(attribute.reference, attribute.key)
        value = values.get(attribute.reference)
        if key and value is not None:
            found.append(Reading(key, round(float(value), 3) if attribute.kind == "float" else int(value), now))
    return found
