"""The aggregator's command rule (pure): parsing, accept/refuse with a reason, the command in force."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from controllers.aggregator import Action, Command, CommandRefused, Solution, judge, parse_command, solution_at
from controllers.aggregator.commands import command_at
from controllers.gesscon.command_desk import SUPPORTED as GESSCON_SUPPORTED

T0 = datetime(2026, 12, 7, tzinfo=UTC)
H = timedelta(hours=1)
SUPPORTED = (Solution.ECONOMIC, Solution.PEAK_SHAVING)


def command(task_id: int, solution: Solution = Solution.PEAK_SHAVING, start: int = 0, stop: int | None = None,
            action: Action = Action.START, created: int | None = None, radial: str = "r1") -> Command:
    return Command(task_id, radial, action, solution, T0 + start * H, None if stop is None else T0 + stop * H,
                   T0 + timedelta(seconds=task_id if created is None else created))


def test_a_task_becomes_a_command_with_defaults() -> None:
    parsed = parse_command(7, {"radialId": "r1", "startTime": "2026-12-07T00:00:00Z"}, T0)
    assert parsed == Command(7, "r1", Action.START, Solution.ECONOMIC, T0, None, T0)


def test_a_voltage_command_carries_its_band() -> None:
    parsed = parse_command(8, {"radialId": "r1", "startTime": "2026-12-07T00:00:00Z", "solution": "voltage_control",
                               "exportBand_W": 40_000, "importBand_W": 60_000.5}, T0)
    assert (parsed.solution, parsed.export_band_w, parsed.import_band_w) == (Solution.VOLTAGE_CONTROL, 40_000.0,
                                                                            60_000.5)
    assert parse_command(9, {"radialId": "r1", "startTime": "2026-12-07T00:00:00Z"}, T0).export_band_w is None


@pytest.mark.parametrize("parameters", [
    {"radialId": "r1", "startTime": "2026-12-07T00:00:00Z", "exportBand_W": -1},
    {"radialId": "r1", "startTime": "2026-12-07T00:00:00Z", "exportBand_W": "40 kW"},
    {"radialId": "r1", "startTime": "2026-12-07T00:00:00Z", "importBand_W": True},
    {"startTime": "2026-12-07T00:00:00Z"},
    {"radialId": "r1"},
    {"radialId": "r1", "startTime": "2026-12-07T00:00:00"},
    {"radialId": "r1", "startTime": "2026-12-07T00:00:00Z", "solution": "islanding"},
    {"radialId": "r1", "startTime": "2026-12-07T00:00:00Z", "action": "pause"},
])
def test_a_malformed_task_is_refused(parameters: dict[str, object]) -> None:
    with pytest.raises(CommandRefused) as refused:
        parse_command(1, parameters, T0)
    assert refused.value.code == "malformed"


@pytest.mark.parametrize(("cmd", "code"), [
    (command(1, radial="r9"), "unknown-radial"),
    (command(1, start=2, stop=1), "wrong-time"),
    (command(1, start=-3, stop=-1), "wrong-time"),
    (command(1, action=Action.STOP), "nothing-to-stop"),
])
def test_refusals_carry_their_reason(cmd: Command, code: str) -> None:
    verdict = judge(cmd, radials={"r1"}, supported=SUPPORTED, now=T0)
    assert not verdict.accepted and verdict.reason.startswith(f"{code}: ")


def test_every_solution_code_is_modelled_and_a_narrower_set_refuses_the_rest() -> None:
    assert set(GESSCON_SUPPORTED) == set(Solution)  # each selects a term of GESSCon's LP
    verdict = judge(command(1, Solution.VOLTAGE_CONTROL), radials={"r1"}, supported=(Solution.ECONOMIC,), now=T0)
    assert not verdict.accepted and verdict.reason.startswith("unsupported: ")


def test_an_overlapping_command_is_accepted_and_says_what_it_overrides() -> None:
    first = command(1, Solution.PEAK_SHAVING, 0, 10)
    verdict = judge(command(2, Solution.ECONOMIC, 5, 8), radials={"r1"}, supported=SUPPORTED, now=T0, accepted=[first])
    assert verdict.accepted and verdict.reason == "accepted: overrides task(s) 1 where their spans overlap"


def test_the_latest_accepted_command_covering_a_moment_decides() -> None:
    accepted = [command(1, Solution.PEAK_SHAVING, 0, 10), command(2, Solution.ECONOMIC, 5, 8)]
    assert [solution_at(accepted, "r1", T0 + h * H) for h in (1, 6, 9, 11)] == [
        Solution.PEAK_SHAVING, Solution.ECONOMIC, Solution.PEAK_SHAVING, Solution.ECONOMIC]


def test_creation_order_not_start_order_decides() -> None:
    later_created_earlier_start = command(2, Solution.ECONOMIC, 0, None, created=50)
    earlier_created = command(1, Solution.PEAK_SHAVING, 3, None, created=10)
    assert solution_at([earlier_created, later_created_earlier_start], "r1", T0 + 5 * H) == Solution.ECONOMIC


def test_a_stop_ends_earlier_commands_from_its_start_and_a_later_start_overrides_it() -> None:
    start = command(1, Solution.PEAK_SHAVING, 0)
    stop = command(2, action=Action.STOP, start=4)
    assert judge(stop, radials={"r1"}, supported=SUPPORTED, now=T0, accepted=[start]).reason == (
        "accepted: stops task(s) 1")
    again = command(3, Solution.PEAK_SHAVING, 6, 7)
    accepted = [start, stop, again]
    assert command_at(accepted, "r1", T0 + 2 * H) == start
    assert command_at(accepted, "r1", T0 + 5 * H) is None
    assert solution_at(accepted, "r1", T0 + 6.5 * H) == Solution.PEAK_SHAVING
    assert solution_at(accepted, "r1", T0 + 8 * H) == Solution.ECONOMIC


def test_other_radials_are_not_affected() -> None:
    assert solution_at([command(1, radial="r2")], "r1", T0) == Solution.ECONOMIC
