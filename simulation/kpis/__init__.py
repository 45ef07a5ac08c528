"""KPIs of the S4G system computed from the server's data (issue 19): pure functions over fetched
series (energy.py, voltage.py, pcc.py, credibility.py, bucharest.py, site.py) and a thin reader
through sta_client (reader.py). Sign convention: consumer (P > 0 is consumption, import, charging;
PV generation and export are negative), as the site files and the agents publish."""
from simulation.kpis.bucharest import BucharestKpis, bucharest_kpis
from simulation.kpis.credibility import Credibility, credibility, expected_samples, occupied_slots
from simulation.kpis.energy import EnergyBalance, curtailment_share, self_consumption, self_sufficiency
from simulation.kpis.pcc import PccPeak, pcc_peak
from simulation.kpis.series import Series, split_energy_wh
from simulation.kpis.voltage import VoltageBand, voltage_band

__all__ = [
    "BucharestKpis", "Credibility", "EnergyBalance", "PccPeak", "Series", "VoltageBand", "bucharest_kpis",
    "credibility", "curtailment_share", "expected_samples", "occupied_slots", "pcc_peak", "self_consumption",
    "self_sufficiency", "split_energy_wh", "voltage_band",
]
