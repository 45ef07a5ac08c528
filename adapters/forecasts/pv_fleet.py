"""Many PV systems at one weather point, at once: the steps of `pv.pv_power_w`'s PVWatts ModelChain
(Hay-Davies transposition, physical IAM on the beam part, SAPM cell temperature, PVWatts DC, the
system loss, the PVWatts inverter) as pvlib function calls on (systems × steps) numpy arrays.

Why not the ModelChain itself: pvlib's ModelChain runs on pandas Series, ~25–40 ms per system for a
day, so 100 PV Things took 2.5–4 s of CPU alone (also as one multi-Array ModelChain), against the
issue's 10 s for computing *and* storing them. On arrays the whole fleet takes a few milliseconds.
tests/adapters/forecasts/test_models.py checks that both give the same power.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from adapters.forecasts.pv import GAMMA_PDC_PER_C, TEMPERATURE_MODEL, PlaneInputs, PvParams, ac_w


def pv_fleet_w(inputs: PlaneInputs, systems: Sequence[PvParams]) -> list[pd.Series]:
    """Mean AC power (W, ≥ 0) per step of each system, indexed by the step start."""
    from pvlib import iam, irradiance, pvsystem, temperature

    if not systems:
        return []
    tilt = np.array([[p.tilt_deg] for p in systems])
    azimuth = np.array([[p.azimuth_deg] for p in systems])
    zenith = inputs.solar["apparent_zenith"].to_numpy()[None, :]
    sun_azimuth = inputs.solar["azimuth"].to_numpy()[None, :]
    weather = inputs.weather
    poa = irradiance.get_total_irradiance(
        tilt, azimuth, zenith, sun_azimuth, weather["dni"].to_numpy()[None, :], weather["ghi"].to_numpy()[None, :],
        weather["dhi"].to_numpy()[None, :], dni_extra=inputs.dni_extra.to_numpy()[None, :], model="haydavies")
    angle = irradiance.aoi(tilt, azimuth, zenith, sun_azimuth)
    effective = np.nan_to_num(poa["poa_direct"] * iam.physical(angle)) + np.nan_to_num(poa["poa_diffuse"])
    cell_c = temperature.sapm_cell(np.nan_to_num(poa["poa_global"]), weather["temp_air"].to_numpy()[None, :],
                                   weather["wind_speed"].to_numpy()[None, :], **TEMPERATURE_MODEL)
    pdc0 = np.array([[p.kwp * 1000.0] for p in systems])
    dc = pvsystem.pvwatts_dc(effective, cell_c, pdc0, GAMMA_PDC_PER_C)
    starts = inputs.starts
    return [pd.Series(ac_w(dc[i], params), index=starts) for i, params in enumerate(systems)]
