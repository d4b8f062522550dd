"""API Gateway REST proxy events for each route, built from the events/ files."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from tests.deployment import load_event


def _with(
    base: str,
    *,
    path: str | None = None,
    body: Any = None,
    query: dict[str, str] | None = None,
    path_parameters: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    event = load_event(base)
    event["headers"] = {k: v for k, v in event["headers"].items() if k != "Idempotency-Key"}
    if path is not None:
        event["path"] = path
        event["requestContext"]["path"] = "/v1" + path
    if body is not None:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
    event["queryStringParameters"] = query or None
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} if query else None
    if path_parameters is not None:
        event["pathParameters"] = path_parameters
    event["headers"].update(headers or {})
    event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    return event


def _key(idempotency_key: str | None) -> dict[str, str]:
    return {"Idempotency-Key": idempotency_key} if idempotency_key else {}


def create_repository(body: Any, key: str | None = None) -> dict[str, Any]:
    return _with("create_repository_simple", body=body, headers=_key(key))


def get_repository(name: str) -> dict[str, Any]:
    return _with("get_repository", path=f"/repositories/{quote(name)}", path_parameters={"name": name})


def list_repositories(**query: str) -> dict[str, Any]:
    return _with("list_repositories", query=query)


def delete_repository(name: str, force: bool = False, key: str | None = None) -> dict[str, Any]:
    return _with(
        "delete_repository",
        path=f"/repositories/{quote(name)}",
        path_parameters={"name": name},
        query={"force": "true"} if force else None,
        headers=_key(key),
    )


def get_lifecycle_policy(name: str) -> dict[str, Any]:
    return _with(
        "get_lifecycle_policy", path=f"/lifecycle-policies/{quote(name)}", path_parameters={"name": name}
    )


def put_lifecycle_policy(name: str, body: Any, key: str | None = None) -> dict[str, Any]:
    return _with(
        "put_lifecycle_policy",
        path=f"/lifecycle-policies/{quote(name)}",
        path_parameters={"name": name},
        body=body,
        headers=_key(key),
    )


def get_operation(operation_id: str) -> dict[str, Any]:
    return _with(
        "get_operation", path=f"/operations/{operation_id}", path_parameters={"operationId": operation_id}
    )


def auth_token() -> dict[str, Any]:
    return _with("auth_token")
