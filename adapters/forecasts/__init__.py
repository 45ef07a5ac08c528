"""DSF adapters: third-party forecasts (weather, day-ahead prices) and the models built on them (PV,
load, EV), written into the server as forecast Datastreams (docs/forecasts.md).

Pure parts: `weather` (Open-Meteo JSON, EPW → `Weather`), `prices` (ENTSO-E A44 → `PriceCurve`),
`pv`, `load`, `ev` (models), `runs` (a run as data), `queries`. I/O: `sources` (providers),
`store` (the server, through `sta_client`), `jobs` (one day-ahead round), `schedule` (when)."""
