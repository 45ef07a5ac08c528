"""DSF-SE: the grid simulation engine (issue 19): pandapower power flows on SimBench grids, in closed loop
with the agents and controllers and as what-if studies; a client of the server through sta_client."""
