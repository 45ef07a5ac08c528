"""The commercial ESS's register map as pure functions: words, signs, set-points, refusals."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.modbus_ess.registers import (
    Setpoint,
    decode_setpoint,
    encode_setpoint,
    int_to_words,
    parse_measurements,
    setpoint_error,
    words_to_int,
)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("value", "words"), [(0, [0, 0]), (30000, [0, 30000]), (-1, [0xFFFF, 0xFFFF]),
                                              (-20000, [0xFFFF, 0xB1E0]), (70000, [1, 4464])])
def test_int32_high_word_first(value: int, words: list[int]) -> None:
    assert int_to_words(value, 2) == words
    assert words_to_int(words, signed=True) == value


def test_a_charging_setpoint_is_negative_on_the_device() -> None:
    registers = encode_setpoint(12_000, 960)
    assert decode_setpoint(registers) == Setpoint(-12_000, 960, 1)
    assert decode_setpoint(encode_setpoint(None, 960)) == Setpoint(0, 0, 0)


def test_recorded_input_registers_become_consumer_readings() -> None:
    # 745.3 V, 0 W in, 20,000 W out, 45.3 %, discharging, set-point 20,000 W (generator), 812 s left
    registers = [7453, 0, 0, 0, 20000, 453, 2, 0, 20000, 812, 0, 4711]
    got = {r.datastream: r.value for r in parse_measurements(registers, NOW)}
    assert got == {"P_ess": -20000.0, "V_ess": 745.3, "P_ess_in": 0.0, "P_ess_out": 20000.0, "SoC": 45.3,
                   "essStatus": "discharging"}


@pytest.mark.parametrize("setpoint", [Setpoint(30_001, 960, 1), Setpoint(0, 3601, 1), Setpoint(0, 0, 7)])
def test_out_of_range_holding_registers_are_refused(setpoint: Setpoint) -> None:
    assert setpoint_error(setpoint, 30_000) is not None
