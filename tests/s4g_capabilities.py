"""S4G tasking capabilities (D3.1 tables 7, 15, 16) as SWE Common JSON, shared by tests and docs."""
from __future__ import annotations

from typing import Any

ESS_SETPOINT: dict[str, Any] = {
    "type": "DataRecord",
    "field": [
        {"name": "powerSetpoint", "label": "ESS active power set-point", "type": "Quantity",
         "uom": {"code": "W"}, "constraint": {"type": "AllowedValues", "interval": [[-10000, 10000]]}},
        {"name": "priority", "type": "Count",
         "constraint": {"type": "AllowedValues", "interval": [[1, 10]]}},
        {"name": "startTime", "type": "Time", "uom": {"href": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}},
        {"name": "stopTime", "type": "Time", "optional": True,
         "uom": {"href": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}},
    ],
}

ESS_DAY_SCHEDULE: dict[str, Any] = {
    "type": "DataRecord",
    "field": [
        {"name": "startTime", "type": "Time"},
        {"name": "powerProfile", "label": "24 h at 1-minute resolution", "type": "DataArray",
         "elementCount": {"type": "Count", "value": 1440},
         "elementType": {"name": "power", "type": "Quantity", "uom": {"code": "W"},
                         "constraint": {"type": "AllowedValues", "interval": [[-10000, 10000]]}}},
    ],
}

EV_LOAD_REDUCTION: dict[str, Any] = {
    "type": "DataRecord",
    "field": [
        {"name": "startTime", "type": "Time"},
        {"name": "maxPowerProfile", "label": "EV charging power limit per 15 minutes", "type": "DataArray",
         "elementCount": {"type": "Count", "constraint": {"type": "AllowedValues", "interval": [[1, 96]]}},
         "elementType": {"name": "maxPower", "type": "Quantity", "uom": {"code": "W"},
                         "constraint": {"type": "AllowedValues", "interval": [[0, 22000]]}}},
    ],
}

ENERGY_ROUTER_MODE: dict[str, Any] = {
    "type": "DataRecord",
    "field": [
        {"name": "operationMode", "type": "Count",
         "constraint": {"type": "AllowedValues", "interval": [[1, 5]]}},
        {"name": "gridPowerMin", "type": "Quantity", "uom": {"code": "W"}},
        {"name": "gridPowerMax", "type": "Quantity", "uom": {"code": "W"}},
        {"name": "enabled", "type": "Boolean", "optional": True},
        {"name": "reason", "type": "Category", "optional": True,
         "constraint": {"type": "AllowedTokens", "value": ["peak-shaving", "self-consumption", "dso-request"]}},
    ],
}
