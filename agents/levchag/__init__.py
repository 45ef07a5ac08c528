"""LEVChAg: the local EV charging agent, a slave of the LESSAg on the same site (D3.1 tables 10, 12, 16):
load-reduction Tasks in, charge-point limits out, the daily EV load forecast published."""
