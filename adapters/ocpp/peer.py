"""The ocpp library's `ChargePoint` (either end of an OCPP 1.6J WebSocket) with calls that stay cancellable.

The library waits for each answer with `asyncio.wait_for`, which on Python 3.11 drops a cancellation that
arrives just as the answer does (CPython gh-86296). A task cancelled then would carry on as if nothing had
happened (seen: an emulator that never stopped, so its test hung). `call` re-raises the cancellation the
library lost: after each answer, a task with a cancellation still requested is cancelled."""
from __future__ import annotations

import asyncio
from typing import Any

from ocpp.v16 import ChargePoint


class Peer(ChargePoint):  # type: ignore[misc]
    async def call(self, payload: Any, suppress: bool = True, unique_id: str | None = None,
                   skip_schema_validation: bool = False) -> Any:
        answer = await super().call(payload, suppress=suppress, unique_id=unique_id,
                                    skip_schema_validation=skip_schema_validation)
        raise_lost_cancellation()
        return answer


def raise_lost_cancellation() -> None:
    """CancelledError when the running task was asked to cancel and something swallowed it."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError("cancelled while an OCPP answer arrived")
