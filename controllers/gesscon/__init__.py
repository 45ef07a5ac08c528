"""GESSCon: the day-ahead schedule of every ESS of a radial (docs/controllers.md)."""
from controllers.gesscon.baseline import self_consumption
from controllers.gesscon.inputs import (
                                        EssParams,
                                        Objective,
                                        Prices,
                                        ProblemError,
                                        RadialProblem,
                                        SiteForecast,
                                        SolutionCode,
)
from controllers.gesscon.model import solve_day_ahead
from controllers.gesscon.schedule import Costs, DayPlan, Schedule, evaluate, radial_overlap_w, resample

__all__ = ["Costs", "DayPlan", "EssParams", "Objective", "Prices", "ProblemError", "RadialProblem", "Schedule",
           "SiteForecast", "SolutionCode", "evaluate", "radial_overlap_w", "resample", "self_consumption",
           "solve_day_ahead"]
