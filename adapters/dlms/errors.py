"""What goes wrong between a connector and a meter: each is a ConnectionError, so the runtime reports the
device's status, logs one line and reconnects with back-off."""
from __future__ import annotations


class MeterUnreachable(ConnectionError):
    """No TCP connection, or no answer within the timeout."""


class AssociationRefused(ConnectionError):
    """The meter answered the AARQ with a rejecting AARE (wrong password, unknown client)."""


class GarbledFrame(ConnectionError):
    """A wrapper frame or an APDU that does not parse, or an answer that is not the one asked for."""


class RegisterError(ConnectionError):
    """A register the meter refused (a Data-Access-Result) or gave in another unit than the map's."""
