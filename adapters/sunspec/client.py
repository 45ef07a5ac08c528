"""A blocking SunSpec client over pysunspec2 (its own raw-socket Modbus TCP client), with its errors
turned into ours. The connectors call it from a worker thread, one call at a time.

After any failure the socket is closed: pysunspec2 numbers every request 0, so a late answer to a
timed-out request would otherwise be taken for the next one's.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from sunspec2.modbus import client as sunspec_client
from sunspec2.modbus import modbus as sunspec_modbus

from adapters.sunspec.errors import DeviceUnreachable, ModbusExceptionCode, NotSunSpec, exception_code
from adapters.sunspec.parse import ModelValues, PointValue
from adapters.sunspec.storage import StorageControl

log = logging.getLogger(__name__)

REQUIRED_MODELS = (1, 124)


class SunSpecClient:
    def __init__(self, host: str, port: int, unit_id: int = 1, timeout_s: float = 2.0,
                 required_models: Iterable[int] = REQUIRED_MODELS) -> None:
        self.host, self.port, self.unit_id, self.timeout_s = host, port, unit_id, timeout_s
        self.required_models = tuple(required_models)
        self._device: Any = None

    def scan(self) -> ModelValues:
        """Connect, find the SunS marker and the models; the values of every model found."""
        self.close()
        device = sunspec_client.SunSpecModbusClientDeviceTCP(slave_id=self.unit_id, ipaddr=self.host,
                                                             ipport=self.port, timeout=self.timeout_s)
        try:
            device.connect()
            device.scan(connect=False)
        except sunspec_client.SunSpecModbusClientError as error:
            device.disconnect()
            text = str(error)
            if "not SunSpec" in text:
                raise NotSunSpec(f"{self.host}:{self.port}: no SunS marker at 40000, 0 or 50000") from error
            raise _translated(error, f"scan {self.host}:{self.port}") from error
        except Exception as error:
            device.disconnect()
            raise _translated(error, f"scan {self.host}:{self.port}") from error
        missing = [mid for mid in self.required_models if mid not in device.models]
        if missing:
            device.disconnect()
            raise NotSunSpec(f"{self.host}:{self.port}: SunSpec models {missing} missing")
        self._device = device
        return {mid: model_values(device.models[mid][0]) for mid in device.models if isinstance(mid, int)}

    def read(self, model_ids: Iterable[int]) -> ModelValues:
        """Each model read in one request (its values and scale factors from the same instant)."""
        device = self._connected()
        values = {}
        for mid in model_ids:
            if mid in device.models:
                model = device.models[mid][0]
                self._call(model.read, f"read model {mid}")
                values[mid] = model_values(model)
        return values

    def write_storage(self, control: StorageControl) -> None:
        """Model 124: the rates and the revert timer first, then the mode (so no old rate takes effect)."""
        model = self._storage_model()
        model.InWRte.cvalue = control.in_pct
        model.OutWRte.cvalue = control.out_pct
        model.InOutWRte_RvrtTms.value = control.revert_s
        self._call(model.write, "write InWRte/OutWRte/InOutWRte_RvrtTms")
        model.StorCtl_Mod.value = control.mode
        self._call(model.write, "write StorCtl_Mod")

    def write_points(self, model_id: int, computed: Mapping[str, float]) -> None:
        """Write points of one model from computed values (their scale factors applied)."""
        model = self._connected().models[model_id][0]
        for name, value in computed.items():
            model.points[name].cvalue = value
        self._call(model.write, f"write {', '.join(computed)} of model {model_id}")

    def read_storage(self) -> tuple[StorageControl, float]:
        """The control in force, read back from the device, and WChaMax (W)."""
        model = self._storage_model()
        self._call(model.read, "read model 124")
        control = StorageControl(int(model.StorCtl_Mod.value or 0), float(model.InWRte.cvalue or 0.0),
                                 float(model.OutWRte.cvalue or 0.0), int(model.InOutWRte_RvrtTms.value or 0))
        return control, float(model.WChaMax.cvalue or 0.0)

    def close(self) -> None:
        if self._device is not None:
            self._device.disconnect()
            self._device = None

    def _connected(self) -> Any:
        if self._device is None:
            raise DeviceUnreachable(f"{self.host}:{self.port}: not connected")
        return self._device

    def _storage_model(self) -> Any:
        models = self._connected().models.get(124)
        if not models:
            raise NotSunSpec(f"{self.host}:{self.port}: no SunSpec model 124 (storage controls)")
        return models[0]

    def _call(self, operation: Any, what: str) -> None:
        try:
            operation()
        except Exception as error:
            code = exception_code(str(error))
            if code is None:  # a broken socket: start over on the next call
                self.close()
            raise _translated(error, what) from error


def _translated(error: Exception, what: str) -> DeviceUnreachable:
    code = exception_code(str(error))
    if code is not None:
        return ModbusExceptionCode(code, what)
    if isinstance(error, sunspec_modbus.ModbusClientTimeout) or "timed out" in str(error):
        return DeviceUnreachable(f"{what}: timeout")
    return DeviceUnreachable(f"{what}: {error}")


def model_values(model: Any) -> dict[str, PointValue]:
    """Computed values (scale factors applied); enumerations as their symbol names."""
    values: dict[str, PointValue] = {}
    for name, point in model.points.items():
        value = point.cvalue
        symbols = point.pdef.get("symbols") if point.pdef.get("type") == "enum16" else None
        if symbols and value is not None:
            value = next((s["name"] for s in symbols if s["value"] == value), str(value))
        values[name] = value
    return values
