"""Running a $filter against the data set of filter_data.py and naming what comes back by label."""
from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

PREFIX = {"Things": "T", "Locations": "L", "Datastreams": "D", "Observations": "O",
          "FeaturesOfInterest": "F"}


def fetch(client: FlaskClient, path: str, status: int = 200, **params: str) -> Any:
    response = client.get(f"/v1.1/{path}", query_string=params)
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def labels_of(ids: dict[str, int], entity_set: str, values: list[dict[str, Any]]) -> list[str]:
    """The labels of the returned entities, in the order of the response."""
    by_id = {ident: label for label, ident in ids.items() if label.startswith(PREFIX[entity_set])}
    return [by_id[item["@iot.id"]] for item in values]


def filtered(dataset: tuple[FlaskClient, dict[str, int]], entity_set: str, expression: str,
             **params: str) -> list[str]:
    """Labels matching `expression` (`{D1}`-style placeholders become ids), in response order."""
    client, ids = dataset
    body = fetch(client, entity_set, **{"$filter": expression.format(**ids), "$top": "1000", **params})
    return labels_of(ids, entity_set, body["value"])


def error_message(client: FlaskClient, entity_set: str, **params: str) -> str:
    """The message of the 400 answer to a bad query."""
    body = fetch(client, entity_set, 400, **params)
    message: str = body["error"]["message"]
    return message
