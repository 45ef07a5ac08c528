"""Pure parts of the IEC 104 link: the point map from options, point values from readings, and the Task
parameters a command becomes."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.iec104.commands import CommandRefused, ScadaCommand, task_parameters
from adapters.iec104.variables import DEFAULT_COMMANDS, HIGHEST_PRIORITY, MonitorPoint, monitor_value, point_map

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def test_default_map_and_options() -> None:
    default = point_map({})
    assert [p.key for p in default.monitors][:3] == ["P_grid", "Q_grid", "V_grid"] and default.priority == 10
    custom = point_map({"points": [{"ioa": 1, "type": "M_ME_NC_1", "key": "P_ess"}],
                        "commands": [{"ioa": 2, "type": "C_SE_NC_1", "capability": "ess_setpoint"}],
                        "common_address": 7})
    assert custom.common_address == 7 and custom.command(2) is not None and custom.command(3) is None
    with pytest.raises(ValueError, match="used twice"):
        point_map({"points": [{"ioa": 1, "type": "M_ME_NC_1", "key": "a"}],
                   "commands": [{"ioa": 1, "type": "C_SE_NC_1", "capability": "c"}]})
    with pytest.raises(ValueError, match="type must be"):
        point_map({"points": [{"ioa": 1, "type": "M_BO_NA_1", "key": "a"}]})


def test_point_values_from_readings() -> None:
    assert monitor_value(MonitorPoint(1, "M_ME_TF_1", "V_grid", 2), [230.1, 229.9, 231.5]) == 231.5
    assert monitor_value(MonitorPoint(1, "M_ME_NC_1", "SoC"), 55) == 55.0
    assert monitor_value(MonitorPoint(1, "M_ME_NC_1", "SoC"), None) is None
    assert monitor_value(MonitorPoint(1, "M_ME_NC_1", "SoC"), "n/a") is None
    assert monitor_value(MonitorPoint(1, "M_SP_TB_1", "setpointAccepted"), True) is True
    assert monitor_value(MonitorPoint(1, "M_SP_TB_1", "setpointAccepted"), False) is False


def test_a_setpoint_becomes_a_highest_priority_task() -> None:
    setpoint, single = DEFAULT_COMMANDS
    parameters = task_parameters(setpoint, ScadaCommand(2001, "C_SE_NC_1", -3000.0), NOW, HIGHEST_PRIORITY)
    assert parameters == {"powerSetpoint": -3000.0, "priority": 10, "startTime": "2026-12-06T12:00:00Z"}
    on = task_parameters(single, ScadaCommand(2002, "C_SC_NA_1", True), NOW, HIGHEST_PRIORITY)
    assert on["powerSetpoint"] == 0.0
    with pytest.raises(CommandRefused, match="OFF is not mapped"):
        task_parameters(single, ScadaCommand(2002, "C_SC_NA_1", False), NOW, HIGHEST_PRIORITY)
    with pytest.raises(CommandRefused, match="finite"):
        task_parameters(setpoint, ScadaCommand(2001, "C_SE_NC_1", float("nan")), NOW, HIGHEST_PRIORITY)
    with pytest.raises(CommandRefused, match="expected"):
        task_parameters(setpoint, ScadaCommand(2001, "C_SC_NA_1", True), NOW, HIGHEST_PRIORITY)
