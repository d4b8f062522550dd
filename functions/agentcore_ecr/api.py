"""The HTTP API: one Router per Lambda function, one place that maps errors to responses."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Query
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from agentcore_ecr.domain import errors
from agentcore_ecr.domain.models import (
    ENVIRONMENT_PATTERN,
    IDEMPOTENCY_KEY_PATTERN,
    REPOSITORY_NAME_PATTERN,
    AuthToken,
    CreateRepositoryRequest,
    ErrorDetail,
    LifecyclePolicy,
    LifecyclePolicyView,
    Operation,
    Repository,
    RepositoryPage,
    field_path,
)
from agentcore_ecr.observability import logger, metrics
from agentcore_ecr.wiring import repository_service

JSON = content_types.APPLICATION_JSON
# Greedy `{name+}` paths: Powertools' `<param>` stops at `/`, a regex route does not.
REPOSITORY_PATH = "/repositories/.+"
LIFECYCLE_PATH = "/lifecycle-policies/.+"
GREEDY_PATHS = {REPOSITORY_PATH: "/repositories/{name}", LIFECYCLE_PATH: "/lifecycle-policies/{name}"}

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="Same key and same request: the same operation. Same key, other request: 422.",
    ),
]


def _json(status: int, model: Any, headers: dict[str, str] | None = None) -> Response[Any]:
    """Powertools validates `model` against the route's response type, then serializes it by alias."""
    return Response(status_code=status, content_type=JSON, body=model, headers=headers)


def _accepted(operation: Operation) -> Response[Operation]:
    logger.debug("operation accepted", operation_id=operation.operation_id, action=operation.action.value)
    metrics.add_dimension(name="action", value=operation.action.value)
    metrics.add_metric(name="OperationsAccepted", unit=MetricUnit.Count, value=1)
    return _json(202, operation, {"Location": f"/operations/{operation.operation_id}"})


def _greedy_name(router: Router, path_prefix: str) -> str:
    """The `{name+}` path parameter, checked against ECR's naming rule."""
    event = router.current_event
    name = (event.raw_event.get("pathParameters") or {}).get("name") or unquote(
        event.path.removeprefix(path_prefix)
    )
    if not (2 <= len(name) <= 256 and re.fullmatch(REPOSITORY_NAME_PATTERN, name)):
        raise errors.ValidationError(
            "Invalid repository name in the path.",
            details=[
                ErrorDetail(
                    location="path", field="name", message="must follow ECR's repository naming rule"
                ).to_json_dict()
            ],
        )
    return name


# One router per function -------------------------------------------------------------------

create_router = Router()
get_router = Router()
list_router = Router()
delete_router = Router()
token_router = Router()
get_lifecycle_router = Router()
put_lifecycle_router = Router()
operation_router = Router()


@create_router.post(
    "/repositories",
    summary="Create or update a repository",
    description="Upsert: when the service already manages the repository for that environment, "
    "the action is UPDATE. Answers 202 with the Operation.",
    responses={202: {"description": "Accepted", "content": {JSON: {"model": Operation}}}},
    tags=["Repositories"],
    operation_id="createRepository",
)
def create_repository(
    request: Annotated[CreateRepositoryRequest, Body()], idempotency_key: IdempotencyKey = None
) -> Response[Operation]:
    _require_object(create_router)
    return _accepted(repository_service().create_repository(request, idempotency_key))


@list_router.get(
    "/repositories",
    summary="List managed repositories",
    description="Ordered by name; a page never repeats or skips an item.",
    tags=["Repositories"],
    operation_id="listRepositories",
)
def list_repositories(
    environment: Annotated[str | None, Query(pattern=ENVIRONMENT_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(alias="nextToken", max_length=1024)] = None,
) -> Response[RepositoryPage]:
    return _json(200, repository_service().list_repositories(environment, limit, next_token))


@get_router.get(
    REPOSITORY_PATH, summary="Get a repository", tags=["Repositories"], operation_id="getRepository"
)
def get_repository() -> Response[Repository]:
    name = _greedy_name(get_router, "/repositories/")
    return _json(200, repository_service().get_repository(name))


@delete_router.delete(
    REPOSITORY_PATH,
    summary="Delete a repository",
    description="409 RepositoryNotEmpty while images exist, unless force=true.",
    responses={202: {"description": "Accepted", "content": {JSON: {"model": Operation}}}},
    tags=["Repositories"],
    operation_id="deleteRepository",
)
def delete_repository(
    force: Annotated[bool, Query(description="Delete the images too")] = False,
    idempotency_key: IdempotencyKey = None,
) -> Response[Operation]:
    name = _greedy_name(delete_router, "/repositories/")
    return _accepted(repository_service().delete_repository(name, force, idempotency_key))


@get_lifecycle_router.get(
    LIFECYCLE_PATH,
    summary="Get a repository's lifecycle policy",
    tags=["Lifecycle"],
    operation_id="getLifecyclePolicy",
)
def get_lifecycle_policy() -> Response[LifecyclePolicyView]:
    name = _greedy_name(get_lifecycle_router, "/lifecycle-policies/")
    return _json(200, repository_service().get_lifecycle_policy(name))


@put_lifecycle_router.put(
    LIFECYCLE_PATH,
    summary="Change a repository's lifecycle policy",
    description="Applied through a stack update (action UPDATE_LIFECYCLE).",
    responses={202: {"description": "Accepted", "content": {JSON: {"model": Operation}}}},
    tags=["Lifecycle"],
    operation_id="putLifecyclePolicy",
)
def put_lifecycle_policy(
    policy: Annotated[LifecyclePolicy, Body()], idempotency_key: IdempotencyKey = None
) -> Response[Operation]:
    _require_object(put_lifecycle_router)
    name = _greedy_name(put_lifecycle_router, "/lifecycle-policies/")
    return _accepted(repository_service().put_lifecycle_policy(name, policy, idempotency_key))


@token_router.post(
    "/auth-token", summary="Get a registry login token", tags=["Registry"], operation_id="authToken"
)
def auth_token() -> Response[AuthToken]:
    token = repository_service().auth_token()
    logger.info(
        "registry token issued", proxy_endpoint=token.proxy_endpoint, expires_at=str(token.expires_at)
    )
    return _json(200, token, {"Cache-Control": "no-store"})


@operation_router.get(
    "/operations/<operationId>", summary="Get an operation", tags=["Operations"], operation_id="getOperation"
)
def get_operation(operationId: str) -> Response[Operation]:  # noqa: N803 - the contract's name
    return _json(200, repository_service().get_operation(operationId))


ALL_ROUTERS = (
    create_router,
    list_router,
    get_router,
    delete_router,
    get_lifecycle_router,
    put_lifecycle_router,
    token_router,
    operation_router,
)


# The resolver ------------------------------------------------------------------------------


def _error(
    status: int, code: str, message: str, details: list[dict[str, Any]] | None = None
) -> Response[Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return Response(status_code=status, content_type=JSON, body=json.dumps({"error": error}))


LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # json.loads pairs the surrogates it can


def strict_json(text: str) -> Any:
    """The body's one reading as JSON, or `json.JSONDecodeError` (400 `ValidationError`), never a 500.

    Stricter than `json.loads`, which keeps the last of two equal keys, takes NaN, Infinity and
    strings with unpaired surrogates (checked in an object's keys and string values, where a body's
    text is), and raises other errors than `JSONDecodeError` (a 500 from Powertools) for an integer
    of more digits than `int()` takes or for nesting deeper than its parser goes.
    """

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for key, value in pairs:
            if key in found:
                raise json.JSONDecodeError(f"duplicate key {key[:40]!r}", text, 0)
            if LONE_SURROGATE.search(key) or (isinstance(value, str) and LONE_SURROGATE.search(value)):
                # "\udfff" is JSON, but no Unicode text: AWS's APIs take UTF-8, and it came back mangled
                raise json.JSONDecodeError("a string with an unpaired surrogate (\\ud800-\\udfff)", text, 0)
            found[key] = value
        return found

    def no_constant(name: str) -> Any:
        raise json.JSONDecodeError(f"{name} is not a JSON value", text, 0)

    try:
        return json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constant)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, 0) from None
    except ValueError:  # an integer of more than sys.get_int_max_str_digits() digits
        raise json.JSONDecodeError("a number too long", text, 0) from None


def _detail(item: dict[str, Any]) -> dict[str, Any]:
    loc = tuple(item.get("loc", ("body",)))
    if item.get("type") == "json_invalid":  # its loc is a character position, not a field
        reason = (item.get("ctx") or {}).get("error")
        message = f"not valid JSON: {reason}" if reason else "not valid JSON"
        return ErrorDetail(location="body", field="body", message=message).to_json_dict()
    return ErrorDetail(
        location=str(loc[0]) if loc else "body",
        field=field_path(loc) or "body",
        message=str(item.get("msg", "invalid")),
    ).to_json_dict()


def _require_object(router: Router) -> None:
    """A JSON body must be one object (Powertools would take the first element of an array)."""
    if not isinstance(router.current_event.json_body, dict):
        raise errors.ValidationError(
            "Invalid request: the body must be a JSON object.",
            details=[
                ErrorDetail(location="body", field="body", message="must be a JSON object").to_json_dict()
            ],
        )


def _body_refusal(event: Mapping[str, Any]) -> errors.ServiceError | None:
    """What the contract refuses before a body is parsed: a Content-Type other than JSON, bytes not UTF-8.

    (Powertools would answer 500 to both, and read a form-encoded body as fields.)
    """
    body = event.get("body")
    if not body:
        return None
    headers = {key.lower(): value for key, value in (event.get("headers") or {}).items()}
    media_type = str(headers.get("content-type", "")).split(";", 1)[0].strip().lower()
    if media_type != JSON:
        return errors.UnsupportedMediaType(
            f"Send the body as {JSON} (Content-Type was {media_type or 'missing'!r})."
        )
    if event.get("isBase64Encoded"):
        try:
            base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return errors.ValidationError(
                "Invalid request: the body is not UTF-8 text.",
                details=[ErrorDetail(location="body", field="body", message="not UTF-8").to_json_dict()],
            )
    return None


class ContractResolver(APIGatewayRestResolver):
    """Powertools' REST resolver, refusing first the bodies the contract refuses (see `_body_refusal`)."""

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        refusal = _body_refusal(event)
        if refusal is None:
            return super().resolve(event, context)
        return {
            "statusCode": refusal.status,
            "headers": {"Content-Type": JSON},
            "body": json.dumps(refusal.to_body()),
            "isBase64Encoded": False,
        }


def build_resolver(*routers: Router) -> APIGatewayRestResolver:
    app = ContractResolver(enable_validation=True, json_body_deserializer=strict_json)
    for router in routers:
        app.include_router(router)

    @app.exception_handler(errors.ServiceError)
    def service_error(error: errors.ServiceError) -> Response[Any]:
        if error.status >= 500:
            logger.exception("service error")
        return _error(error.status, error.code, error.message, error.details)

    @app.exception_handler(RequestValidationError)
    def invalid_request(error: RequestValidationError) -> Response[Any]:
        details = [_detail(item) for item in error.errors()]
        fields = ", ".join(sorted({detail["field"] for detail in details}))
        return _error(400, "ValidationError", f"Invalid request: check {fields}.", details)

    @app.not_found
    def not_found(_: NotFoundError) -> Response[Any]:
        return _error(404, "NotFound", "No such route.")

    @app.exception_handler(Exception)
    def internal(_: Exception) -> Response[Any]:
        logger.exception("unhandled error")
        return _error(
            500, "Internal", "Internal error; the request ID in the response headers helps support."
        )

    return app
