"""The OpenAPI 3 document of the HTTP API, built from the entity registry with flask-smorest and
marshmallow (schemas: schemas.py; paths: paths.py; query options: parameters.py).

Served at `/openapi.json` with Swagger UI at `/api-docs` (outside `/v1.1/…`, so no entity path
can collide). The committed copy is `openapi/openapi.json`, written by
`python -m sta_server.api.openapi openapi/openapi.json`; a test fails when the two differ (the
`servers` entry excepted: it is the deployment's service root URL).

Security: HTTP Basic and bearer API tokens (docs/security.md) are declared as schemes and required
by every operation but the service root; a TLS client certificate (device agents, docs/tls.md) is
described in the schemes' text (OpenAPI 3.0 has no scheme type for it). 401 and 403 answer with the
OData error body.
"""
from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api
from werkzeug.routing import Map, Rule

from sta_server.api.openapi.parameters import components as parameter_components
from sta_server.api.openapi.paths import all_paths
from sta_server.api.openapi.schemas import STATIC_SCHEMAS, VERSION, collection_schema, entity_schemas, input_schemas
from sta_server.model import REGISTRY

TITLE = "SensorThings API"
DESCRIPTION = ("OGC SensorThings API v1.1 (Sensing, MultiDatastream, Tasking) with GeoJSON, CSV and "
               "SenML formats. Generated from the server's entity registry.")
SWAGGER_UI_CDN = "https://cdn.jsdelivr.net/npm/swagger-ui-dist/"
_CERTIFICATES = (" Device agents may instead present a TLS client certificate whose common name is their user "
                 "name (docs/tls.md).")
SECURITY_SCHEMES = {
    "basicAuth": {"type": "http", "scheme": "basic",
                  "description": "A platform user's name and password (sta-admin user add)." + _CERTIFICATES},
    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "sta_<random>",
                   "description": "An API token (sta-admin token create)." + _CERTIFICATES},
}


def openapi_config(base_url: str) -> dict[str, Any]:
    """Flask config for flask-smorest: the document at /openapi.json, Swagger UI at /api-docs."""
    return {
        "API_TITLE": TITLE, "API_VERSION": VERSION, "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/", "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "api-docs", "OPENAPI_SWAGGER_UI_URL": SWAGGER_UI_CDN,
        "API_SPEC_OPTIONS": {"info": {"description": DESCRIPTION}, "servers": [{"url": f"{base_url}/v{VERSION}"}],
                             "components": {"securitySchemes": SECURITY_SCHEMES},
                             "security": [{"basicAuth": []}, {"bearerAuth": []}]},
    }


def register_openapi(app: Flask, base_url: str) -> Api:
    """Serve the document and the interactive page. Call before the app's own error handlers:
    flask-smorest registers a handler for HTTP errors, which the app's must replace."""
    app.config.update(openapi_config(base_url))
    api = Api(app)
    fill_spec(api)
    return api


def fill_spec(api: Api) -> None:
    spec = api.spec
    for name, schema in {**entity_schemas(), **input_schemas()}.items():
        if name not in spec.components.schemas:  # nested schemas register themselves first
            spec.components.schema(name, schema=schema)
    for entity_type in REGISTRY:
        if entity_type.since <= VERSION:
            spec.components.schema(f"{entity_type.name}Collection", collection_schema(entity_type))
    for name, body in STATIC_SCHEMAS.items():
        spec.components.schema(name, body)
    for name, parameter in parameter_components().items():
        spec.components.parameter(name, "query", {k: v for k, v in parameter.items() if k != "in"})
    error = {"schema": {"$ref": "#/components/schemas/ODataError"}}
    spec.components.response("ODataError", {"description": "An OData error", "content": {"application/json": error}})
    for path, item in all_paths().items():
        rule = Rule(path)  # flask-smorest's plugin reads the path from a bound werkzeug Rule
        Map([rule])
        spec.path(rule=rule, operations={k: v for k, v in item.items() if k != "parameters"},
                  parameters=list(item.get("parameters", [])))


def document(base_url: str = "http://localhost:8080") -> dict[str, Any]:
    """The document as served by an app whose service root is `base_url`."""
    app = Flask(__name__)
    api = register_openapi(app, base_url)
    result: dict[str, Any] = api.spec.to_dict()
    return result
