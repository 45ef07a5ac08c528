"""What-if studies of the simulation engine (issue 19, S4G's DSF-SE for professional users): a Task on
the engine's TaskingCapability runs a time-series study on a SimBench grid with added PV, EVs and
batteries, reports progress and status as Observations, writes its results as Datastreams, can be
cancelled; jobs queue one after the other.

request.py (the Task's parameters), fleet.py (where the added units go), local.py (the local battery
decision), dayahead.py (the `gesscon` mode: GESSCon's LP from planning/ per day), study.py (the power-flow
loop and its KPIs), fastflow.py (the fast power flow the study uses after pandapower's first step),
streams.py and registry.py (the Datastreams declared once; find-or-create of shared entities), results.py
(the result Datastreams and checkpoints), jobs.py (the queue as a state machine), service.py (the thin
runner on the project clock; it takes back unfinished jobs on start), settings.py and __main__.py (the CLI)."""
