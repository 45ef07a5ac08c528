"""What the field runtime and a device connector exchange: readings up, commands down.

Names are the site file's: a reading names the Datastream key it feeds, a command the
TaskingCapability key it came from. Values follow the site's sign convention (the consumer
convention of D4.3: P > 0 is consumption, or battery charging); each connector flips vendor signs.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

ResultValue = float | int | bool | str | list[Any] | dict[str, Any] | None


@dataclass(frozen=True)
class Reading:
    """One measured (or derived) value of a site Datastream at a clock time."""

    datastream: str
    value: ResultValue
    time: datetime
    parameters: Mapping[str, Any] = field(default_factory=dict)
    result_time: datetime | None = None  # forecasts: when the value was issued (else = time)


@dataclass(frozen=True)
class Command:
    """A set-point for one device, decided by an agent (or a Task passed through)."""

    device: str
    capability: str
    parameters: Mapping[str, Any]
    task_id: int | str | None = None


@dataclass(frozen=True)
class CommandResult:
    """What the device did, read back after the write (not what it was told)."""

    accepted: bool
    reason: str = ""
    in_force: Mapping[str, Any] = field(default_factory=dict)


class Connector(Protocol):
    """A thin I/O class in front of one device (or a simulated one)."""

    @property
    def device(self) -> str:
        """The site file's key of the device this connector serves."""
        ...

    async def start(self) -> None:
        """Connect (retrying is the runtime's job: raise `ConnectionError` when unreachable)."""
        ...

    async def read(self) -> list[Reading]:
        """Poll the device once."""
        ...

    async def write(self, command: Command) -> CommandResult:
        """Apply a command and read back what took effect."""
        ...

    async def stop(self) -> None:
        """Disconnect; idempotent."""
        ...
