"""PV power forecast of one PV system from a weather series, with pvlib.

Steps, per weather step (evaluated at the step's middle, since the weather values are step means):
1. Ineichen clear sky (pvlib's Linke turbidity climatology) at the point;
2. GHI: the provider's `ghi_w_m2` when present, else clear-sky GHI scaled by cloud cover with
   Kasten & Czeplak (1980): GHI = GHI_clear · (1 − 0.75 · (cc/100)^3.4); never above 1.1 · clear sky;
3. Erbs decomposition of GHI into DNI and DHI (unless the provider gave both);
4. transposition to the module plane (Hay-Davies, pvlib's ModelChain) and a PVWatts ModelChain
   (`aoi_model="physical"`, `spectral_model="no_loss"`, SAPM open-rack temperature model, PVWatts
   DC), then per system the Thing's `losses_pct` (PVWatts' total system loss) and the PVWatts
   inverter (96 % nominal efficiency, AC limit = `inverterPower_kW`, else the peak power).
   Many systems at one weather point run as one ModelChain with an Array each (`pv_powers_w`).
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
TEMPERATURE_MODEL = {"a": -3.47, "b": -0.0594, "deltaT": 3}  # SAPM open_rack_glass_glass


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
    solar: pd.DataFrame
    dni_extra: pd.Series

    @property
    def starts(self) -> pd.DatetimeIndex:
        """The step starts (the index of every result)."""
        step = self.times[1] - self.times[0] if len(self.times) > 1 else pd.Timedelta(hours=1)
        return pd.DatetimeIndex(self.times - step / 2)


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
    from pvlib.irradiance import get_extra_radiation

    return PlaneInputs(times, table, location, solar, get_extra_radiation(times))


def pv_power_w(inputs: PlaneInputs, params: PvParams) -> pd.Series:
    """Mean AC power (W, ≥ 0) per weather step for one PV system, indexed by the step start: a
    PVWatts ModelChain (the reference; `pv_fleet.pv_fleet_w` computes many systems at once, the same
    chain on arrays)."""
    from pvlib.modelchain import ModelChain
    from pvlib.pvsystem import PVSystem

    system = PVSystem(surface_tilt=params.tilt_deg, surface_azimuth=params.azimuth_deg,
                      module_parameters={"pdc0": params.kwp * 1000.0, "gamma_pdc": GAMMA_PDC_PER_C},
                      temperature_model_parameters=TEMPERATURE_MODEL)
    chain = ModelChain(system, inputs.location, transposition_model="haydavies", aoi_model="physical",
                       spectral_model="no_loss", losses_model="no_loss", dc_model="pvwatts", ac_model=_no_inverter)
    chain.run_model(inputs.weather)
    return _inverter_w(chain.results.dc, params).set_axis(inputs.starts)


def _no_inverter(chain: Any) -> Any:
    """The ModelChain's AC step is done per system by `_inverter_w` (PVWatts sums multi-array DC)."""
    return chain


def _inverter_w(dc_w: pd.Series, params: PvParams) -> pd.Series:
    return pd.Series(ac_w(dc_w.to_numpy(), params), index=dc_w.index)


def ac_w(dc_w: Any, params: PvParams) -> Any:
    """PVWatts' total system loss, then the PVWatts inverter; NaN (night) → 0, never negative."""
    from pvlib.inverter import pvwatts

    dc_w = np.nan_to_num(np.asarray(dc_w, dtype="float64")) * (1.0 - params.losses_pct / 100.0)
    ac = pvwatts(dc_w, inverter_limit_w(params) / INVERTER_EFFICIENCY, eta_inv_nom=INVERTER_EFFICIENCY)
    return np.clip(np.nan_to_num(ac), 0.0, None)


def inverter_limit_w(params: PvParams) -> float:
    return (params.inverter_kw * 1000.0) if params.inverter_kw else params.kwp * 1000.0


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


def _optional_float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and value > 0 else None
