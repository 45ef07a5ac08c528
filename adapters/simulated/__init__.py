"""Simulated devices: the physical models of a house (battery, PV, household load) and of charge points
with EVs, plus connectors that serve them behind `adapters.connector.Connector` on the clock's time.

The models are pure or small stateful integrators with no I/O, so the device emulators and the grid
simulation can reuse them."""
