"""Aggregator commands to GESSCon (S4G-SYSTEM.md T5): Tasks on the `radial_service` capability of each radial's
GESSCon Thing, judged by a pure rule (docs/controllers.md, "Aggregator commands")."""
from controllers.aggregator.commands import (
    Action,
    Command,
    CommandRefused,
    Solution,
    Verdict,
    command_at,
    judge,
    parse_command,
    solution_at,
)

__all__ = ["Action", "Command", "CommandRefused", "Solution", "Verdict", "command_at", "judge", "parse_command",
           "solution_at"]
