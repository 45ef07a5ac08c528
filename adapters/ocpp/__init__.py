"""OCPP 1.6J: a central system (CSMS) inside the field process and a charge-point emulator.

Connector kind `ocpp` (`build_ocpp`); the emulator is `python -m adapters.ocpp.emulator`."""
from adapters.ocpp.connector import build_ocpp

CONNECTOR_KINDS = {"ocpp": build_ocpp}

__all__ = ["CONNECTOR_KINDS", "build_ocpp"]
