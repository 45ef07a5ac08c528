"""The KPI reader against a real server: a site's series written through sta_client, read back by
siteId and key, KPIs as computed by hand."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from simulation.kpis.reader import MissingSeries, read_site_kpis
from sta_client import Query, StaClient
from tests.client.conftest import RunningServer, client_database_url, sta_broker, sta_process  # noqa: F401

T0 = datetime(2026, 6, 1, tzinfo=UTC)


def stream(site_id: str, key: str, unit: str) -> dict[str, Any]:
    return {"name": f"{site_id}/{key}", "description": key, "observationType":
            "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
            "unitOfMeasurement": {"name": unit, "symbol": unit, "definition": f"ucum:{unit}"},
            "properties": {"siteId": site_id, "key": key},
            "Sensor": {"name": f"{site_id}-{key}", "description": "kpi test", "encodingType": "text/plain",
                       "metadata": "none"},
            "ObservedProperty": {"name": key, "definition": f"urn:s4g:test:{key}", "description": key}}


def phase_voltages(site_id: str) -> dict[str, Any]:
    unit = {"name": "V", "symbol": "V", "definition": "ucum:V"}
    return {"name": f"{site_id}/V_grid", "description": "phase voltages", "observationType":
            "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_ComplexObservation",
            "unitOfMeasurements": [unit] * 3,
            "multiObservationDataTypes": ["http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"] * 3,
            "properties": {"siteId": site_id, "key": "V_grid"},
            "Sensor": {"name": f"{site_id}-meter", "description": "kpi test", "encodingType": "text/plain",
                       "metadata": "none"},
            "ObservedProperties": [{"name": f"V {phase}", "description": phase, "definition": f"urn:s4g:test:v-{phase}"}
                                   for phase in ("L1", "L2", "L3")]}


def make_site(sta: StaClient, site_id: str, keys: dict[str, str],
              multi: dict[str, Any] | None = None) -> dict[str, int]:
    thing = {"name": site_id, "description": "KPI test site",
             "properties": {"siteId": site_id, "kind": "site", "contractLimitIn_W": 1500, "contractLimitOut_W": 3000},
             "Locations": [{"name": site_id, "description": "PCC", "encodingType": "application/geo+json",
                            "location": {"type": "Point", "coordinates": [11.35, 46.5]}}],
             "Datastreams": [stream(site_id, key, unit) for key, unit in keys.items()]}
    if multi is not None:
        thing["MultiDatastreams"] = [multi]
    thing_id = sta.create("Things", thing)
    rows = sta.page(f"Things({thing_id})/Datastreams", None).values
    return {row["properties"]["key"]: row["@iot.id"] for row in rows}


def write(sta: StaClient, datastream_id: int, values: list[float], step_s: int) -> None:
    rows = [[(T0 + timedelta(seconds=step_s * i)).isoformat(), value] for i, value in enumerate(values)]
    sta.create_observations(datastream_id, ["phenomenonTime", "result"], rows)


def test_site_kpis_read_from_the_server(sta_process: RunningServer) -> None:  # noqa: F811
    site_id = f"kpi-{uuid.uuid4().hex[:6]}"
    with StaClient(sta_process.settings()) as sta:
        ids = make_site(sta, site_id, {"P_grid": "W", "P_load": "W", "P_pv": "W", "P_pv_forecast": "W",
                                       "V_grid": "V"})
        # four 15-minute steps, one hour: hand-computed energies below
        write(sta, ids["P_grid"], [2000.0, 1000.0, -1000.0, -3000.0], 900)
        write(sta, ids["P_load"], [2000.0, 2000.0, 1000.0, 1000.0], 900)
        write(sta, ids["P_pv"], [0.0, -1000.0, -2000.0, -4000.0], 900)
        write(sta, ids["P_pv_forecast"], [0.0, -1000.0, -2000.0, -5000.0], 900)
        write(sta, ids["V_grid"], [230.0, 240.0, 250.0, 254.0], 900)
        kpis = read_site_kpis(sta, site_id, T0, T0 + timedelta(hours=1), sample_period_s=900)
    assert (kpis.balance.import_wh, kpis.balance.export_wh) == (750.0, 1000.0)
    assert (kpis.balance.consumption_wh, kpis.balance.pv_wh, kpis.balance.pv_forecast_wh) == (1500.0, 1750.0, 2000.0)
    assert kpis.self_consumption == pytest.approx(750 / 1750)
    assert kpis.self_sufficiency == pytest.approx(0.5)
    assert kpis.curtailment == pytest.approx(0.125)
    assert kpis.bucharest.grid_ratio == pytest.approx(0.5) and kpis.bucharest.grid_ok is True
    assert kpis.bucharest.export_ok is False
    assert (kpis.pcc.max_import_w, kpis.pcc.import_ok, kpis.pcc.export_ok) == (2000.0, False, True)
    assert kpis.voltage.above == 1 and kpis.voltage.v_max == 254.0
    assert kpis.credibility["P_grid"].share == 1.0


def test_gaps_lower_the_credibility(sta_process: RunningServer) -> None:  # noqa: F811
    site_id = f"kpi-{uuid.uuid4().hex[:6]}"
    with StaClient(sta_process.settings()) as sta:
        ids = make_site(sta, site_id, {"P_grid": "W", "P_load": "W"})
        write(sta, ids["P_grid"], [100.0] * 90, 10)  # 15 minutes of 10-s samples: 90 of 90
        write(sta, ids["P_load"], [100.0] * 80, 10)  # 80 of 90
        kpis = read_site_kpis(sta, site_id, T0, T0 + timedelta(minutes=15), sample_period_s=10)
    assert kpis.credibility["P_grid"].ok is True
    assert kpis.credibility["P_load"].share == pytest.approx(80 / 90) and kpis.credibility["P_load"].ok is False
    # 79 intervals of 10 s, then the last sample holds 3 periods (30 s), not the 110 s to the end
    assert kpis.balance.consumption_wh == pytest.approx(100 * 820 / 3600)


def test_a_site_without_its_grid_stream_is_a_clear_error(sta_process: RunningServer) -> None:  # noqa: F811
    site_id = f"kpi-{uuid.uuid4().hex[:6]}"
    with StaClient(sta_process.settings()) as sta:
        make_site(sta, site_id, {"P_load": "W"})
        with pytest.raises(MissingSeries, match="no P_grid"):
            read_site_kpis(sta, site_id, T0, T0 + timedelta(hours=1), sample_period_s=60)


def test_phase_voltages_of_a_multidatastream_count_every_phase(sta_process: RunningServer) -> None:  # noqa: F811
    site_id = f"kpi-{uuid.uuid4().hex[:6]}"
    with StaClient(sta_process.settings()) as sta:
        ids = make_site(sta, site_id, {"P_grid": "W", "P_load": "W"}, multi=phase_voltages(site_id))
        write(sta, ids["P_grid"], [100.0, 100.0], 900)
        write(sta, ids["P_load"], [100.0, 100.0], 900)
        [multi] = sta.page(f"Things({thing_of(sta, ids['P_grid'])})/MultiDatastreams", None).values
        rows = [[T0.isoformat(), [230.0, 231.0, 254.0]],
                [(T0 + timedelta(minutes=15)).isoformat(), [229.0, 206.0, 230.0]]]
        sta.create_observations(multi["@iot.id"], ["phenomenonTime", "result"], rows, multi=True)
        kpis = read_site_kpis(sta, site_id, T0, T0 + timedelta(minutes=30), sample_period_s=900)
    assert (kpis.voltage.samples, kpis.voltage.above, kpis.voltage.below) == (6, 1, 1)
    assert kpis.credibility["V_grid"].share == 1.0


def thing_of(sta: StaClient, datastream_id: int) -> int:
    thing: int = sta.get(f"Datastreams({datastream_id})/Thing", Query().select("id"))["@iot.id"]
    return thing
