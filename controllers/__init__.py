"""Grid-side controllers (GESSCon, GEVChCon, aggregator commands): pure decisions over a state snapshot, thin loops."""
