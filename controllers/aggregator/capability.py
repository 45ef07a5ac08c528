"""The SWE Common 2.0 description of the aggregator's command capability (T5 "radial service")."""
from __future__ import annotations

from typing import Any

from controllers.aggregator.commands import Action, Solution

CAPABILITY_KEY = "radial_service"
ISO_8601 = {"href": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}


def radial_service() -> dict[str, Any]:
    """`radialId` Text, `solution` Category, `action` Category (start/stop, start when absent),
    `startTime` Time, `stopTime` Time (absent: open-ended), `exportBand_W` and `importBand_W` Quantity
    (voltage_control's band at the radial's transformer; absent: the GESSCon's setting)."""
    return {"type": "DataRecord", "field": [
        {"name": "radialId", "type": "Text"},
        {"name": "solution", "type": "Category", "optional": True,
         "constraint": {"type": "AllowedTokens", "value": [s.value for s in Solution]}},
        {"name": "action", "type": "Category", "optional": True,
         "constraint": {"type": "AllowedTokens", "value": [a.value for a in Action]}},
        {"name": "startTime", "type": "Time", "uom": ISO_8601},
        {"name": "stopTime", "type": "Time", "uom": ISO_8601, "optional": True},
        *({"name": name, "type": "Quantity", "uom": {"code": "W"}, "optional": True, "label": label,
           "constraint": {"type": "AllowedValues", "interval": [[0, 1e9]]}} for name, label in BANDS)]}


BANDS = (("exportBand_W", "voltage_control: the radial's export above this raises the feeder's voltage"),
         ("importBand_W", "voltage_control: the radial's import above this lowers it"))
