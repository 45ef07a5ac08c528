"""The professional commands (D3.1 table 9): checked, refused with a code, turned into per-step caps."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from controllers.gevchcon.commands import Action, CommandRefused, SiteShare, command_caps, parse_command

NOW = datetime(2026, 12, 6, 17, 0, tzinfo=UTC)
SITE = SiteShare("r1", 90000, 80800, 0.5)


def params(**changes: Any) -> dict[str, Any]:
    return {"action": "avoid_overload", "radialId": "r1", "startTime": "2026-12-06T18:00:00Z",
            "stopTime": "2026-12-06T19:00:00Z", **changes}


def test_a_command_is_parsed() -> None:
    command = parse_command(7, params(maxPower=40000), {"r1"}, NOW)
    assert (command.action, command.max_power_w, command.stop - command.start) == (
        Action.AVOID_OVERLOAD, 40000, timedelta(hours=1))


@pytest.mark.parametrize(("changes", "code"), [
    ({"action": "boost"}, "unknown-action"), ({"radialId": "r9"}, "unknown-radial"),
    ({"startTime": "soon"}, "malformed"), ({"stopTime": "2026-12-06T17:30:00Z"}, "wrong-timespan"),
    ({"startTime": "2026-12-06T15:00:00Z", "stopTime": "2026-12-06T16:00:00Z"}, "wrong-timespan"),
    ({"maxPower": -1}, "out-of-range"), ({"maxPower": True}, "out-of-range")])
def test_a_bad_command_is_refused_with_its_code(changes: dict[str, Any], code: str) -> None:
    with pytest.raises(CommandRefused) as refused:
        parse_command(1, params(**changes), {"r1"}, NOW)
    assert refused.value.reason.startswith(f"{code}: ")


def test_commands_in_force_cap_their_steps_and_the_strictest_wins() -> None:
    commands = [parse_command(1, params(maxPower=40000), {"r1"}, NOW),  # half of it for this site: 20 kW
                parse_command(2, params(startTime="2026-12-06T18:30:00Z"), {"r1"}, NOW),  # 0.7 x 90 kW
                parse_command(3, params(action="voltage_control"), {"r1"}, NOW)]  # 0.5 x 80.8 kW of EVs
    imports, evs = command_caps(commands, SITE, NOW, 1800, 4)
    assert imports == [None, None, 20000, 20000]
    assert evs == [None, None, 40400, 40400]
    other = SiteShare("r2", 90000, 80800, 1.0)
    assert command_caps(commands, other, NOW, 1800, 4) == ([None] * 4, [None] * 4)
