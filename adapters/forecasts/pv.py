"""PV power forecast of one PV system from a weather series, with pvlib.

Steps, per weather step (evaluated at the step's middle, since the weather values are step means):
1. Ineichen clear sky (pvlib's Linke turbidity climatology) at the point;
2. GHI: the provider's `ghi_w_m2` when present, else clear-sky GHI scaled by cloud cover with
   Kasten & Czeplak (1980): GHI = GHI_clear · (1 − 0.75 · (cc/100)^3.4); never above 1.1 · clear sky;
3. Erbs decomposition of GHI into DNI and DHI (unless the provider gave both);
4. transposition to the module plane (Hay-Davies, pvlib's ModelChain) and a PVWatts ModelChain
   (`aoi_model="physical"`, `spectral_model="no_loss"`, SAPM open-rack temperature model, PVWatts
   DC and inverter), system losses = the Thing's `losses_pct` (PVWatts' total-loss term).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from adapters.forecasts.weather import Weather

KASTEN_A = 0.75
KASTEN_B = 3.4
INVERTER_EFFICIENCY = 0.96
GAMMA_PDC_PER_C = -0.0037


class PvParameterError(ValueError):
    """A PV Thing whose properties do not describe a PV system."""


@dataclass(frozen=True)
class PvParams:
    """A PV system as the `pv` Thing's properties describe it."""

    kwp: float
    tilt_deg: float = 30.0
    azimuth_deg: float = 180.0
    losses_pct: float = 14.0
    inverter_kw: float | None = None

    @classmethod
    def from_properties(cls, properties: Mapping[str, Any]) -> PvParams:
        """From Thing properties `peakPower_kWp` (else `maxPower_W` / 1000), `tilt_deg`, `azimuth_deg`,
        `losses_pct`, `inverterPower_kW`; a missing or non-positive peak power is a `PvParameterError`."""
        kwp = properties.get("peakPower_kWp")
        if kwp is None and isinstance(properties.get("maxPower_W"), int | float):
            kwp = properties["maxPower_W"] / 1000.0
        if not isinstance(kwp, int | float) or kwp <= 0:
            raise PvParameterError(f"PV Thing without a positive peakPower_kWp: {kwp!r}")
        params = cls(float(kwp), float(properties.get("tilt_deg", 30.0)), float(properties.get("azimuth_deg", 180.0)),
                     float(properties.get("losses_pct", 14.0)), _optional_float(properties.get("inverterPower_kW")))
        if not (0 <= params.tilt_deg <= 90 and 0 <= params.azimuth_deg < 360 and 0 <= params.losses_pct < 100):
            raise PvParameterError(f"PV parameters out of range: {params}")
        return params


@dataclass(frozen=True)
class PlaneInputs:
    """What every PV system at one weather point shares: the step midpoints, solar position and
    GHI/DNI/DHI and air temperature (computed once, used for many PV Things)."""

    times: pd.DatetimeIndex
    weather: pd.DataFrame
    location: Any


def prepare_weather(weather: Weather) -> PlaneInputs:
    """Clear sky, cloud scaling and decomposition for one weather series (steps 1–3)."""
    from pvlib.location import Location

    location = Location(weather.latitude, weather.longitude, tz="UTC", altitude=weather.elevation_m)
    times = pd.DatetimeIndex(weather.frame.index + weather.step / 2)
    frame = weather.frame.set_axis(times)
    clear = location.get_clearsky(times, model="ineichen")
    ghi = _ghi_w_m2(frame, clear["ghi"])
    solar = location.get_solarposition(times)
    dni, dhi = _dni_dhi(frame, ghi, solar["zenith"], times)
    temp = frame["temp_air_c"] if "temp_air_c" in frame else pd.Series(20.0, index=times)
    table = pd.DataFrame({"ghi": ghi, "dni": dni, "dhi": dhi, "temp_air": temp, "wind_speed": 1.0}, index=times)
    return PlaneInputs(times, table, location)


def pv_power_w(inputs: PlaneInputs, params: PvParams) -> pd.Series:
    """Mean AC power (W, ≥ 0) per weather step for one PV system, indexed by the step start."""
    from pvlib.modelchain import ModelChain
    from pvlib.pvsystem import PVSystem
    from pvlib.temperature import TEMPERATURE_MODEL_PARAMETERS

    pdc0_w = params.kwp * 1000.0
    inverter_w = (params.inverter_kw * 1000.0) if params.inverter_kw else pdc0_w
    system = PVSystem(
        surface_tilt=params.tilt_deg, surface_azimuth=params.azimuth_deg,
        module_parameters={"pdc0": pdc0_w, "gamma_pdc": GAMMA_PDC_PER_C},
        inverter_parameters={"pdc0": inverter_w / INVERTER_EFFICIENCY, "eta_inv_nom": INVERTER_EFFICIENCY},
        temperature_model_parameters=TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_glass"],
        losses_parameters=_single_loss(params.losses_pct),
    )
    chain = ModelChain(system, inputs.location, transposition_model="haydavies", aoi_model="physical",
                       spectral_model="no_loss", losses_model="pvwatts", dc_model="pvwatts", ac_model="pvwatts")
    chain.run_model(inputs.weather)
    ac = pd.Series(chain.results.ac, index=inputs.times).fillna(0.0).clip(lower=0.0)
    step = inputs.times[1] - inputs.times[0] if len(inputs.times) > 1 else pd.Timedelta(hours=1)
    return ac.set_axis(inputs.times - step / 2)


def cloud_cover_ghi_w_m2(clear_ghi: pd.Series, cloud_cover_pct: pd.Series) -> pd.Series:
    """Kasten & Czeplak (1980) scaling of clear-sky GHI by total cloud cover."""
    fraction = (cloud_cover_pct.clip(0.0, 100.0) / 100.0).to_numpy()
    return clear_ghi * (1.0 - KASTEN_A * np.power(fraction, KASTEN_B))


def _ghi_w_m2(frame: pd.DataFrame, clear_ghi: pd.Series) -> pd.Series:
    if "ghi_w_m2" in frame:
        ghi = frame["ghi_w_m2"]
    elif "cloud_cover_pct" in frame:
        ghi = cloud_cover_ghi_w_m2(clear_ghi, frame["cloud_cover_pct"])
    else:
        ghi = clear_ghi
    return ghi.clip(lower=0.0, upper=np.maximum(clear_ghi * 1.1, 0.0))


def _dni_dhi(frame: pd.DataFrame, ghi: pd.Series, zenith: pd.Series,
             times: pd.DatetimeIndex) -> tuple[pd.Series, pd.Series]:
    from pvlib.irradiance import erbs

    if "dni_w_m2" in frame and "dhi_w_m2" in frame:
        return frame["dni_w_m2"], frame["dhi_w_m2"]
    parts = erbs(ghi, zenith, times)
    return parts["dni"].fillna(0.0), parts["dhi"].fillna(0.0)


def _single_loss(losses_pct: float) -> dict[str, float]:
    names = ("soiling", "shading", "snow", "mismatch", "wiring", "connections", "lid", "nameplate_rating", "age")
    return {**dict.fromkeys(names, 0.0), "availability": losses_pct}


def _optional_float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and value > 0 else None
