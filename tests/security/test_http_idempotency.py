"""HTTP Idempotency-Key belongs to its sender (red team, issue 14 §1): one user's key K neither
refuses another user's unrelated POST with K (once a 409) nor tells that K was used."""
from __future__ import annotations

from typing import Any

from tests.security.conftest import As, Grid


def _post(user: As, stream: int, result: float, key: str) -> tuple[int, Any]:
    return user.post(f"Datastreams({stream})/Observations", {"result": result}, headers={"Idempotency-Key": key})


def test_another_users_equal_key_is_another_key(secure_client: Any, grid: Grid) -> None:
    agent, agent_b = As(secure_client, "agent"), As(secure_client, "agent-b")
    status, first = _post(agent, grid.stream_a, 11.0, "K")
    assert status == 201, first
    status, other = _post(agent_b, grid.stream_b, 12.0, "K")
    assert status == 201, other  # not 409: agent-b's K is not agent's
    assert other["@iot.id"] != first["@iot.id"] and other["result"] == 12.0
    # each sender's retry gets its own first answer back, nothing stored twice
    assert _post(agent, grid.stream_a, 11.0, "K") == (201, first)
    assert _post(agent_b, grid.stream_b, 12.0, "K") == (201, other)
    assert [o for o in As(secure_client, "admin").ids(f"Datastreams({grid.stream_b})/Observations")
            if o == other["@iot.id"]] == [other["@iot.id"]]
    # a sender's own key reused for another request is still refused
    assert _post(agent, grid.stream_a, 13.0, "K")[0] == 409
