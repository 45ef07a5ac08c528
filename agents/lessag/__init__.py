"""LESSAg: the local ESS agent (D3.1 table 7, D4.3). Pure decisions (strategies, limits, orders) under a
thin plug-in (`plugin.py`) that the SMX host runs every cycle."""
