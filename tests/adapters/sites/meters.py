"""DLMS meter emulators for whole-site tests: a meter measuring what another device's model does, and one
whose stop also drops the open associations (a meter switched off)."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from adapters.dlms.emulator import MeterEmulator
from adapters.dlms.meter import MeterModel, MeterSpec
from adapters.simulated.load import LoadSpec
from clock import Clock


class LinkedMeter(MeterModel):
    """A ZMG310 measuring `source()` W (consumer sign) instead of a load and PV of its own."""

    def __init__(self, source: Callable[[], float], clock: Clock) -> None:
        super().__init__(MeterSpec(LoadSpec(0.0)), clock)
        self.source = source

    def power_w(self, when: datetime) -> float:
        return self.source()


class StoppableMeter(MeterEmulator):
    """The meter emulator whose stop also drops the open associations (a meter switched off)."""

    def __init__(self, model: MeterModel, port: int = 0) -> None:
        super().__init__(model, port=port)
        self.writers: set[asyncio.StreamWriter] = set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        try:
            await super()._serve(reader, writer)
        finally:
            self.writers.discard(writer)

    async def stop(self) -> None:
        await super().stop()
        for writer in list(self.writers):
            writer.close()
