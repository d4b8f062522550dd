"""The OpenAPI document, generated from the routes and models; `make openapi` writes openapi.json."""

from __future__ import annotations

import json
import re
from typing import Any

from agentcore_ecr.api import ALL_ROUTERS, GREEDY_PATHS, build_resolver
from agentcore_ecr.domain.errors import OPERATION_ERROR_CODES, StackLimitExceeded
from agentcore_ecr.domain.models import (
    MAX_TAGS,
    REPOSITORY_NAME_PATTERN,
    RESERVED_TAG_KEYS,
    RESERVED_TAG_PREFIXES,
    TAG_KEY_LENGTH,
    TAG_VALUE_LENGTH,
    ErrorBody,
)

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
    "429": "Throttled (from API Gateway): more requests than the stage's throttling (the "
    "ApiThrottlingRateLimit and ApiThrottlingBurstLimit parameters) or the account's lets through; "
    "retry with backoff",
    "500": "Internal",
    "502": "Internal (from API Gateway): the function failed or gave no valid answer; retry later",
    "503": "Throttled: an AWS service the route calls asked the service to slow down; retry with backoff",
    "504": "Internal (from API Gateway): the function did not answer within API Gateway's 29 seconds; retry "
    "later, with the same Idempotency-Key for a change",
}
# The error of an Operation that did not succeed (GET /operations/{operationId} and the
# `Repository Operation Failed` event carry the same).
OPERATION_ERROR = (
    "What ended the operation. A FAILED operation's: "
    + ", ".join(sorted(OPERATION_ERROR_CODES))
    + ", or Internal (anything else; the workflow's logs have the detail); an ABORTED one's: "
    "Aborted; a TIMED_OUT one's: TimedOut. A provisioning request refused before it started "
    "carries the code of the refusal, as POST /repositories would answer it. "
    f"{StackLimitExceeded.code}: CloudFormation refused to create the repository's stack because "
    "the account's stack quota in the Region is reached (Service Quotas code L-0485CB21, Stack "
    "count, 2,000 by default; every stack of the account in the Region that is not DELETE_COMPLETE "
    "counts); no stack or repository is left, and the same create succeeds, under a new "
    "Idempotency-Key, once stacks are deleted or the quota is raised."
)
# What any operation may answer: API Gateway's own refusals and failures, and AWS's throttling.
EVERY_ROUTE = ["403", "429", "500", "502", "503", "504"]
SIGV4 = "sigv4"
SECURITY_SCHEMES = {
    SIGV4: {
        "type": "apiKey",
        "name": "Authorization",
        "in": "header",
        "description": "AWS Signature Version 4, service execute-api, with the caller's IAM credentials",
        "x-amazon-apigateway-authtype": "awsSigv4",
    }
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
    "schema": {"type": "string", "minLength": 2, "maxLength": 256, "pattern": REPOSITORY_NAME_PATTERN},
    "example": "team/agent-a",
}
# Examples (schemathesis' examples phase sends them), as the contract's own.
REQUEST_EXAMPLES = {
    ("/repositories", "post"): {
        "name": "team/agent-a",
        "environment": "dev",
        "tags": {"team": "agents"},
        "lifecyclePolicy": {"untaggedExpiryDays": 14},
    },
    ("/lifecycle-policies/{name}", "put"): {"untaggedExpiryDays": 7, "maxImageCount": 50},
}
PARAMETER_EXAMPLES = {
    "environment": "dev",
    "limit": 10,
    "force": True,
    "operationId": "b6f0c7f2-3d4e-4f5a-8b6c-7d8e9f0a1b2c",
}

# OpenAPI links: what a response lets a client call next (schemathesis' stateful phase follows them).
OPERATION_LINKS = {
    "getOperation": {"operationId": "$response.body#/operationId"},
    "getRepository": {"name": "$response.body#/repositoryName"},
    "getLifecyclePolicy": {"name": "$response.body#/repositoryName"},
    "putLifecyclePolicy": {"name": "$response.body#/repositoryName"},
    "deleteRepository": {"name": "$response.body#/repositoryName"},
}
REPOSITORY_LINKS = {
    "getLifecyclePolicy": {"name": "$response.body#/name"},
    "putLifecyclePolicy": {"name": "$response.body#/name"},
    "deleteRepository": {"name": "$response.body#/name"},
}
LINKS: dict[tuple[str, str, str], dict[str, dict[str, str]]] = {
    ("/repositories", "post", "202"): OPERATION_LINKS,
    ("/lifecycle-policies/{name}", "put", "202"): OPERATION_LINKS,
    ("/repositories/{name}", "delete", "202"): {
        key: OPERATION_LINKS[key] for key in ("getOperation", "getRepository")
    },
    ("/operations/{operationId}", "get", "200"): {"getRepository": OPERATION_LINKS["getRepository"]},
    ("/repositories/{name}", "get", "200"): REPOSITORY_LINKS,
    ("/repositories", "get", "200"): {"getRepository": {"name": "$response.body#/items/0/name"}},
}


def _case_insensitive(prefix: str) -> str:
    """A pattern for `prefix` in any letter case (JSON Schema's patterns have no flags)."""
    return "^" + "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in prefix)


def _tag_rules(tags: dict[str, Any]) -> None:
    """The tag rules the model checks in a validator, written where a client can read them."""
    (key_min, key_max), (value_min, value_max) = TAG_KEY_LENGTH, TAG_VALUE_LENGTH
    reserved: list[dict[str, Any]] = [{"enum": sorted(RESERVED_TAG_KEYS)}]
    reserved += [{"pattern": _case_insensitive(prefix)} for prefix in RESERVED_TAG_PREFIXES]
    tags["maxProperties"] = MAX_TAGS
    tags["propertyNames"] = {"minLength": key_min, "maxLength": key_max, "not": {"anyOf": reserved}}
    tags["additionalProperties"] = {"type": "string", "minLength": value_min, "maxLength": value_max}
    tags["description"] = (
        f"The caller's tags: at most {MAX_TAGS}, keys of {key_min}-{key_max} characters, values of "
        f"{value_min}-{value_max}; no key {' or '.join(sorted(RESERVED_TAG_KEYS))}, nor one starting "
        f"with {' or '.join(RESERVED_TAG_PREFIXES)} in any letter case. The repository's stack template "
        "must stay within CloudFormation's 51,200 bytes (40 tags of the longest keys and values of "
        "3- and 4-byte characters do not)."
    )


def _refine(spec: dict[str, Any]) -> None:
    """What the models check beyond their field types, and examples."""
    schemas = spec["components"]["schemas"]
    schemas["OperationError"]["properties"]["code"]["description"] = OPERATION_ERROR
    create = schemas["CreateRepositoryRequest"]
    _tag_rules(create["properties"]["tags"])
    # kmsKeyArn only with KMS (the model's validator)
    create["if"] = {"properties": {"encryption": {"const": "AES256"}}, "required": ["encryption"]}
    create["then"] = {"properties": {"kmsKeyArn": {"type": "null"}}}
    create["properties"]["environment"]["description"] = (
        "A deployment allows only the environments of its AllowedEnvironments parameter "
        "(default dev, staging, prod); another answers 400."
    )
    for (path, method), example in REQUEST_EXAMPLES.items():
        spec["paths"][path][method]["requestBody"]["content"]["application/json"]["example"] = example
    for (path, method, status), links in LINKS.items():
        spec["paths"][path][method]["responses"][status]["links"] = {
            f"{target[0].upper()}{target[1:]}": {"operationId": target, "parameters": parameters}
            for target, parameters in links.items()
        }
    for operations in spec["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["name"] in PARAMETER_EXAMPLES:
                    parameter["example"] = PARAMETER_EXAMPLES[parameter["name"]]


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
            operation["security"] = [{SIGV4: []}]
            for status in sorted({*ROUTE_ERRORS[(path, method)], *EVERY_ROUTE}):
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
    spec["components"]["securitySchemes"] = SECURITY_SCHEMES
    _refine(spec)
    return spec


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    print(render(), end="")  # noqa: T201
