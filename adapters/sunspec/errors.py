"""Device faults of a Modbus / SunSpec device, as the runtime sees them: `ConnectionError`s, so the host
backs off, retries and reports the device's status."""
from __future__ import annotations

import re

EXCEPTION_NAMES = {1: "illegal function", 2: "illegal data address", 3: "illegal data value",
                   4: "server device failure", 5: "acknowledge", 6: "server device busy",
                   10: "gateway path unavailable", 11: "gateway target device failed to respond"}


class DeviceUnreachable(ConnectionError):
    """No answer (refused connection, timeout, broken socket)."""


class ModbusExceptionCode(DeviceUnreachable):
    """The device answered with a Modbus exception response."""

    def __init__(self, code: int, detail: str = "") -> None:
        self.code = code
        name = EXCEPTION_NAMES.get(code, "unknown")
        super().__init__(f"Modbus exception {code} ({name}){': ' + detail if detail else ''}")


class NotSunSpec(DeviceUnreachable):
    """The device answers, but has no SunSpec map (no `SunS` marker) or lacks a model we need."""


_CODE = re.compile(r"Modbus exception:? (\d+)")


def exception_code(message: str) -> int | None:
    """The exception code in one of pysunspec2's error texts (`Modbus exception 2: addr: ...`)."""
    match = _CODE.search(message)
    return int(match.group(1)) if match else None
