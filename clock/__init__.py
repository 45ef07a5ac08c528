"""One clock for real, accelerated and stepped time (S4G-SYSTEM.md "Ground rules for the clients").

Agents, adapters, forecasts, controllers and the simulation take a `Clock` and never read the
system time themselves, so the same code runs a live site, a demo at 60x speed and a test that
advances a simulated day in a few seconds. Observation times are the clock's times.
"""
from clock.clocks import AcceleratedClock, Clock, RealClock, SteppedClock, clock_from_env

__all__ = ["AcceleratedClock", "Clock", "RealClock", "SteppedClock", "clock_from_env"]
