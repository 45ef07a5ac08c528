"""Every path form of the API as OpenAPI path items, derived from the entity registry: entity
sets, entities, properties and `$value`, navigation links and `$ref`, plus the actions."""
from __future__ import annotations

from typing import Any

from sta_server.api.openapi.parameters import COLLECTION, ENTITY, refs
from sta_server.api.openapi.schemas import VERSION
from sta_server.model import REGISTRY, EntityType, Kind
from sta_server.model.declare import snake as snake_name
from sta_server.security import audit

JSON = "application/json"
ID_PARAM = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
ERRORS = {status: {"$ref": "#/components/responses/ODataError"} for status in ("400", "401", "403", "404")}
PUBLIC: list[dict[str, list[str]]] = []  # no credentials needed (the service root)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _collection_content(entity_type: EntityType) -> dict[str, Any]:
    content: dict[str, Any] = {
        JSON: {"schema": _ref(f"{entity_type.name}Collection")},
        "application/geo+json": {"schema": _ref("GeoJSONFeatureCollection")},
        "text/csv": {"schema": {"type": "string"}},
    }
    if entity_type.name == "Observation":
        content["application/senml+json"] = {"schema": _ref("SenMLPack")}
    return content


def _list(entity_type: EntityType, op_id: str, summary: str) -> dict[str, Any]:
    return {"operationId": op_id, "summary": summary, "tags": [entity_type.plural],
            "parameters": refs(COLLECTION),
            "responses": {"200": {"description": "A page of entities", "content": _collection_content(entity_type)},
                          **ERRORS}}


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "A key the client chooses: a retry with the same key and body gets the first answer "
                   "instead of creating again (kept STA_IDEMPOTENCY_RETENTION_H, 24 h by default); the "
                   "same key with another body is a 409.",
}


def _create(entity_type: EntityType, op_id: str) -> dict[str, Any]:
    return {"operationId": op_id, "summary": f"Create a {entity_type.name}", "tags": [entity_type.plural],
            "parameters": [IDEMPOTENCY_KEY],
            "requestBody": {"required": True, "content": {JSON: {"schema": _ref(f"{entity_type.name}Input")}}},
            "responses": {"201": _json(_ref(entity_type.name), "Created; Location names the new entity"),
                          **ERRORS}}


def _get(entity_type: EntityType, op_id: str) -> dict[str, Any]:
    return {"operationId": op_id, "summary": f"Read a {entity_type.name}", "tags": [entity_type.plural],
            "parameters": refs(ENTITY), "responses": {"200": _json(_ref(entity_type.name), "The entity"), **ERRORS}}


def _entity_item(entity_type: EntityType, op: str) -> dict[str, Any]:
    tags = [entity_type.plural]
    name = entity_type.name

    def write(verb: str, schema: str) -> dict[str, Any]:
        return {"operationId": f"{verb}_{op}", "summary": f"{verb.title()} a {name}", "tags": tags,
                "requestBody": {"required": True, "content": {JSON: {"schema": _ref(schema)}}},
                "responses": {"200": _json(_ref(name), "The entity as stored"), **ERRORS}}

    return {"parameters": [ID_PARAM], "get": _get(entity_type, f"get_{op}"),
            "patch": write("update", f"{name}Update"), "put": write("replace", f"{name}Input"),
            "delete": {"operationId": f"delete_{op}", "summary": f"Delete a {name}", "tags": tags,
                       "responses": {"200": {"description": "Deleted"}, **ERRORS}}}


def _property_items(entity_type: EntityType, base: str, op: str) -> dict[str, Any]:
    items: dict[str, Any] = {}
    for prop in entity_type.visible_properties(VERSION):
        wire = "@iot.id" if prop.kind is Kind.ID else prop.name
        name = snake_name(prop.name)
        schema = {"type": "object", "properties": {wire: {}}}
        items[f"{base}/{prop.name}"] = {"parameters": [ID_PARAM], "get": {
            "operationId": f"get_{op}_{name}", "summary": f"{entity_type.name}.{prop.name}",
            "tags": [entity_type.plural], "responses": {"200": _json(schema, "The property"), **ERRORS}}}
        items[f"{base}/{prop.name}/$value"] = {"parameters": [ID_PARAM], "get": {
            "operationId": f"get_{op}_{name}_value", "summary": f"{entity_type.name}.{prop.name} as text",
            "tags": [entity_type.plural], "responses": {
                "200": {"description": "The raw value", "content": {"text/plain": {"schema": {"type": "string"}}}},
                **ERRORS}}}
    return items


def _link_items(entity_type: EntityType, base: str, op: str) -> dict[str, Any]:
    items: dict[str, Any] = {}
    for link in entity_type.visible_links(VERSION):
        target = REGISTRY.target(link)
        if target.since > VERSION:
            continue
        name = f"{op}_{snake_name(link.name)}"
        path = f"{base}/{link.name}"
        if link.many:
            summary = f"{link.name} of a {entity_type.name}"
            item = {"parameters": [ID_PARAM], "get": _list(target, f"list_{name}", summary)}
            if link.via:
                item["post"] = _create(target, f"create_{name}")
            items[path] = item
        else:
            items[path] = {"parameters": [ID_PARAM], "get": _get(target, f"get_{name}")}
        items[f"{path}/$ref"] = {"parameters": [ID_PARAM], "get": {
            "operationId": f"ref_{name}", "summary": f"References to the {link.name}", "tags": [entity_type.plural],
            "responses": {"200": _json({"type": "object"}, "@iot.selfLink of each"), **ERRORS}}}
    return items


def entity_paths(entity_type: EntityType) -> dict[str, Any]:
    plural, op = entity_type.plural, snake_name(entity_type.name)
    base = f"/{plural}({{id}})"
    paths: dict[str, Any] = {
        f"/{plural}": {"get": _list(entity_type, f"list_{snake_name(plural)}", f"Read {plural}"),
                       "post": _create(entity_type, f"create_{op}")},
        base: _entity_item(entity_type, op),
    }
    paths.update(_property_items(entity_type, base, op))
    paths.update(_link_items(entity_type, base, op))
    return paths


ACTION_PATHS: dict[str, Any] = {
    "/": {"get": {"operationId": "get_service_root", "summary": "Entity sets and conformance", "tags": ["Service"],
                  "security": PUBLIC, "responses": {"200": _json({"type": "object"}, "The service root")}}},
    "/AuditRecords": {"get": {
        "operationId": "list_audit_records", "summary": "The audit trail, newest first (administrators only)",
        "tags": ["Service"], "parameters": [
            *({"name": name, "in": "query", "required": False, "schema": {"type": "string"},
               "description": f"only records with this {name}"}
              for name in audit.FILTERS),
            {"name": "entityId", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0},
             "description": "only records that name this id"},
            *({"name": name, "in": "query", "required": False, "schema": {"type": "string", "format": "date-time"},
               "description": "records at or after (since) / before (until) this time"}
              for name in ("since", "until")),
            {"name": "$top", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 0, "maximum": 1000}},
            {"name": "$skip", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0}}],
        "responses": {"200": _json(_ref("AuditRecordPage"), "A page of audit records"), **ERRORS}}},
    "/$batch": {"post": {"operationId": "batch", "summary": "Many requests in one (OData JSON or multipart)",
                         "tags": ["Service"], "requestBody": {"required": True, "content": {
                             JSON: {"schema": {"type": "object"}}, "multipart/mixed": {"schema": {"type": "string"}}}},
                         "responses": {"200": _json({"type": "object"}, "One answer per request"), **ERRORS}}},
    "/CreateObservations": {"post": {
        "operationId": "create_observations", "summary": "Observations in dataArray form", "tags": ["Observations"],
        "parameters": [IDEMPOTENCY_KEY],
        "requestBody": {"required": True,
                        "content": {JSON: {"schema": {"type": "array", "items": {"type": "object"}}}}},
        "responses": {"201": _json({"type": "array", "items": {"type": "string"}}, "Self links, or 'error'"),
                      **ERRORS}}},
    "/SenML": {"post": {
        "operationId": "ingest_senml", "summary": "A SenML pack (RFC 8428), stored record by record",
        "tags": ["Observations"], "requestBody": {"required": True, "content": {
            "application/senml+json": {"schema": _ref("SenMLPack")},
            "application/senml+cbor": {"schema": {"type": "string", "format": "binary"}}}},
        "responses": {"201": _json(_ref("SenMLReport"), "At least one record stored"),
                      "400": _json(_ref("SenMLReport"), "No record stored (or an undecodable pack)"),
                      "401": {"$ref": "#/components/responses/ODataError"},
                      "403": {"$ref": "#/components/responses/ODataError"}}}},
}


def all_paths() -> dict[str, Any]:
    paths: dict[str, Any] = dict(ACTION_PATHS)
    for entity_type in REGISTRY:
        if entity_type.since <= VERSION:
            paths.update(entity_paths(entity_type))
    return paths
