"""GESSCon: the day-ahead schedule of every ESS of a radial (docs/controllers.md). The LP itself lives in
`planning/` (shared with the what-if studies); its names are re-exported here for the loop and its callers."""
from planning import (
                      Costs,
                      DayPlan,
                      EssParams,
                      Objective,
                      Prices,
                      ProblemError,
                      RadialProblem,
                      Schedule,
                      SiteForecast,
                      SolutionCode,
                      evaluate,
                      radial_overlap_w,
                      resample,
                      self_consumption,
                      solve_day_ahead,
)

__all__ = ["Costs", "DayPlan", "EssParams", "Objective", "Prices", "ProblemError", "RadialProblem", "Schedule",
           "SiteForecast", "SolutionCode", "evaluate", "radial_overlap_w", "resample", "self_consumption",
           "solve_day_ahead"]
