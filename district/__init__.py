"""The simulated district and the platform from one command (`python -m district run`, called by
scripts/run.sh): field processes, forecasts, controllers, simulation and GUIs as supervised child
processes, and a fixed-period run with its KPI and invariant report (`python -m district report`).

A client of the server like every part of the system: it reads it through `sta_client` and never
imports `sta_server` (docs/district.md)."""
