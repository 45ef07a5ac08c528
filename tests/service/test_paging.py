"""nextLinks: key-set paging ($skiptoken) when the order is by plain properties, $skip otherwise."""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask.testing import FlaskClient

from tests.conftest import get, make_datastream, post


def _pages(client: FlaskClient, path: str, **params: str) -> tuple[list[Any], list[dict[str, list[str]]]]:
    values, links = [], []
    body = get(client, path, **params)
    values.extend(body["value"])
    while "@iot.nextLink" in body:
        query = parse_qs(urlsplit(body["@iot.nextLink"]).query)
        links.append(query)
        body = get(client, path, **{k: v[0] for k, v in query.items()})
        values.extend(body["value"])
    return values, links


def _observations(client: FlaskClient, times: list[str]) -> int:
    stream = make_datastream(client)["@iot.id"]
    for i, time in enumerate(times):
        post(client, f"Datastreams({stream})/Observations", {"phenomenonTime": time, "result": i})
    return int(stream)


def test_key_set_pages_cover_every_row_once_with_ties(client: FlaskClient) -> None:
    times = [f"2026-01-01T00:0{i // 3}:00Z" for i in range(10)]  # three Observations share each time
    stream = _observations(client, times)
    values, links = _pages(client, f"Datastreams({stream})/Observations",
                           **{"$orderby": "phenomenonTime desc", "$top": "4"})
    assert sorted(v["result"] for v in values) == list(range(10))
    assert len(values) == 10
    assert all("$skiptoken" in link and "$skip" not in link for link in links)
    assert [v["phenomenonTime"] for v in values] == sorted((v["phenomenonTime"] for v in values), reverse=True)


def test_default_order_pages_by_id(client: FlaskClient) -> None:
    _observations(client, ["2026-01-01T00:00:00Z"] * 7)
    values, links = _pages(client, "Observations", **{"$top": "3"})
    assert [v["@iot.id"] for v in values] == list(range(1, 8))
    assert len(links) == 2


def test_order_by_result_falls_back_to_skip(client: FlaskClient) -> None:
    _observations(client, ["2026-01-01T00:00:00Z"] * 5)
    values, links = _pages(client, "Observations", **{"$top": "2", "$orderby": "result desc"})
    assert [v["result"] for v in values] == [4, 3, 2, 1, 0]
    assert all("$skip" in link and "$skiptoken" not in link for link in links)


def test_a_forged_skiptoken_is_a_bad_request(client: FlaskClient) -> None:
    _observations(client, ["2026-01-01T00:00:00Z"])
    error = get(client, "Observations", 400, **{"$skiptoken": "bm90LWpzb24"})
    assert error["error"]["code"] == "InvalidQuery"
