"""The day-ahead battery planning of a radial, pure (no server, no clock): GESSCon's LP (model.py on the
inputs of inputs.py, its variables in layout.py, its rows in constraints.py, the answer in schedule.py) and
the rule-based self-consumption baseline (baseline.py). Used by controllers.gesscon (the loop that reads the
server and sends the schedules) and by simulation.whatif (the `gesscon` control mode of a study)."""
from planning.baseline import self_consumption, self_consumption_step
from planning.inputs import EssParams, Objective, Prices, ProblemError, RadialProblem, SiteForecast, SolutionCode
from planning.model import solve_day_ahead
from planning.schedule import Costs, DayPlan, Schedule, evaluate, radial_overlap_w, resample

__all__ = ["Costs", "DayPlan", "EssParams", "Objective", "Prices", "ProblemError", "RadialProblem", "Schedule",
           "SiteForecast", "SolutionCode", "evaluate", "radial_overlap_w", "resample", "self_consumption",
           "self_consumption_step", "solve_day_ahead"]
