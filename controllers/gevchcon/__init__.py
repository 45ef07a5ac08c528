"""GEVChCon: the grid-side EV charging controller (D3.1 tables 9 and 10; docs/controllers.md)."""
