"""The OpenAPI document, generated from the routes and models; `make openapi` writes openapi.json."""

from __future__ import annotations

import json
from typing import Any

from agentcore_ecr.api import ALL_ROUTERS, GREEDY_PATHS, build_resolver
from agentcore_ecr.domain.models import ErrorBody

TITLE = "agentcore-ecr"
VERSION = "1.1"
DESCRIPTION = (
    "ECR repositories for agent containers, one CloudFormation stack each. Mutations answer 202 "
    "with an Operation and a Location header; poll GET /operations/{operationId}. "
    "Every route is signed with SigV4 (AWS_IAM) when deployed."
)
ERRORS = {
    "400": "ValidationError: bad JSON, a body that is not UTF-8, a missing, unknown or invalid field, "
    "or a bad query parameter",
    "403": "AccessDenied (from API Gateway): an unsigned request, a bad or expired signature, a caller "
    "not allowed execute-api:Invoke, or a method or path the API does not have",
    "404": "NotFound",
    "409": "RepositoryExists, NotManaged, RepositoryNotEmpty, OperationInProgress, ImmutableSetting, "
    "StackNotUpdatable (the repository's stack is in a status CloudFormation will not update) or "
    "RepositoryDrifted (the repository was deleted outside the service; its stack remains)",
    "413": "PayloadTooLarge (from API Gateway)",
    "415": "UnsupportedMediaType: a body whose Content-Type is not application/json",
    "422": "IdempotencyKeyReused",
    "500": "Internal",
}
WITH_BODY = ["400", "403", "413", "415"]
ROUTE_ERRORS = {
    ("/repositories", "post"): [*WITH_BODY, "409", "422", "500"],
    ("/repositories", "get"): ["400", "403", "500"],
    ("/repositories/{name}", "get"): ["400", "403", "404", "500"],
    ("/repositories/{name}", "delete"): ["400", "403", "404", "409", "422", "500"],
    ("/lifecycle-policies/{name}", "get"): ["400", "403", "404", "500"],
    ("/lifecycle-policies/{name}", "put"): [*WITH_BODY, "404", "409", "422", "500"],
    ("/auth-token", "post"): ["403", "500"],
    ("/operations/{operationId}", "get"): ["403", "404", "500"],
}
NAME_PARAMETER = {
    "name": "name",
    "in": "path",
    "required": True,
    "description": "The repository name; it may contain '/', as in team/agent-a (API Gateway: {name+}).",
    "schema": {"type": "string", "minLength": 2, "maxLength": 256},
}


def document() -> dict[str, Any]:
    app = build_resolver(*ALL_ROUTERS)
    spec: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(title=TITLE, version=VERSION, description=DESCRIPTION)
    )
    paths: dict[str, Any] = {}
    for route, operations in spec["paths"].items():
        path = GREEDY_PATHS.get(route, route)
        if route in GREEDY_PATHS:
            for operation in operations.values():
                operation["parameters"] = [NAME_PARAMETER, *operation.get("parameters", [])]
        paths[path] = operations
        for method, operation in operations.items():
            responses = operation["responses"]
            responses.pop("422", None)  # Powertools' default; the contract answers 400 instead
            if "202" in responses:
                responses.pop("200", None)
                responses["202"]["headers"] = {
                    "Location": {"description": "/operations/{operationId}", "schema": {"type": "string"}}
                }
            for status in ROUTE_ERRORS[(path, method)]:
                responses[status] = {
                    "description": ERRORS[status],
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
                }
    spec["paths"] = dict(sorted(paths.items()))
    schemas = spec["components"]["schemas"]
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(unused, None)
    for name, schema in (
        ErrorBody.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
        .pop("$defs", {})
        .items()
    ):
        schemas[name] = schema
    schemas["ErrorBody"] = ErrorBody.model_json_schema(
        by_alias=True, ref_template="#/components/schemas/{model}"
    )
    schemas["ErrorBody"].pop("$defs", None)
    spec["components"]["schemas"] = dict(sorted(schemas.items()))
    return spec


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    print(render(), end="")  # noqa: T201
