"""Every validation rule of the contract, through the real handlers.

An invalid request answers 400 `ValidationError`, names the offending field in `details`, and starts
nothing: no Step Functions execution, no stack, no repository. A value on the edge of a rule is
accepted (202) and the operation it starts succeeds with that value.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from agentcore_ecr.aws.ecr import Ecr
from tests import api_events
from tests.deployment import ApiResponse, Deployment, load_event
from tests.examples import TEAM_AGENT_A_DEV_STACK

KMS_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
NAME_256_WITH_SEPARATORS = ("team/" + "a" * 40 + ".b_c-d/") * 4 + "z" * 48
assert len(NAME_256_WITH_SEPARATORS) == 256


# Helpers ------------------------------------------------------------------------------------


def body_of(**fields: Any) -> str:
    """A CreateRepository body: a valid name plus `fields`."""
    return json.dumps({"name": "agent-a", **fields})


def post_repository(
    deployment: Deployment, body: str | None, headers: dict[str, str] | None = None
) -> ApiResponse:
    event = load_event("create_repository_simple")
    event["body"] = body
    for name, value in (headers or {}).items():
        event["headers"][name] = value
        event["multiValueHeaders"][name] = [value]
    return deployment.call("CreateRepositoryFunction", event)


def with_path(event: dict[str, Any], prefix: str, name: str) -> dict[str, Any]:
    event["path"] = prefix + name
    event["requestContext"]["path"] = "/v1" + prefix + name
    event["pathParameters"] = {"name": name}
    return event


def put_lifecycle(deployment: Deployment, body: str | None, name: str = "team/agent-b") -> ApiResponse:
    event = with_path(load_event("put_lifecycle_policy"), "/lifecycle-policies/", name)
    event["body"] = body
    return deployment.call("PutLifecyclePolicyFunction", event)


def list_repositories(deployment: Deployment, query: dict[str, str]) -> ApiResponse:
    event = load_event("list_repositories")
    event["queryStringParameters"] = query
    event["multiValueQueryStringParameters"] = {key: [value] for key, value in query.items()}
    return deployment.call("ListRepositoriesFunction", event)


def assert_validation_error(response: ApiResponse, field: str, location: str = "body") -> None:
    assert response.status == 400, response.body
    error = response.body["error"]
    assert error["code"] == "ValidationError"
    assert isinstance(error["message"], str)
    assert error["message"]
    details = error.get("details") or []
    assert all(set(detail) == {"location", "field", "message"} for detail in details), details
    named = [(detail["location"], detail["field"]) for detail in details]
    assert (location, field) in named, details


def executions(deployment: Deployment) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = deployment.sfn.list_executions(
        stateMachineArn=deployment.state_machine_arn
    )["executions"]
    return found


def assert_nothing_started(deployment: Deployment) -> None:
    assert executions(deployment) == []
    assert deployment.cfn.describe_stacks()["Stacks"] == []
    assert deployment.ecr.describe_repositories()["repositories"] == []


def operation(deployment: Deployment, operation_id: str) -> dict[str, Any]:
    """GET /operations/{operationId} once the execution has stopped."""
    deployment.wait(operation_id)
    event = load_event("get_operation")
    event["path"] = f"/operations/{operation_id}"
    event["pathParameters"] = {"operationId": operation_id}
    response = deployment.call("GetOperationFunction", event)
    assert response.status == 200, response.body
    found: dict[str, Any] = response.body
    return found


@pytest.fixture(autouse=True)
def settled(deployment: Deployment) -> Iterator[None]:
    """Let every execution a test started stop before moto's state goes, so none leaks into the next test."""
    yield
    for execution in executions(deployment):
        if execution["status"] == "RUNNING":
            deployment.wait(execution["name"])


# POST /repositories: invalid bodies ----------------------------------------------------------

INVALID_CREATE = [
    # name
    pytest.param(body_of(name="a"), "name", id="name-1-char"),
    pytest.param(body_of(name="a" * 257), "name", id="name-257-chars"),
    pytest.param(body_of(name="agent$a"), "name", id="name-bad-char"),
    pytest.param(body_of(name="agent a"), "name", id="name-space"),
    pytest.param(body_of(name="Agent-a"), "name", id="name-uppercase"),
    pytest.param(body_of(name="-agent"), "name", id="name-leading-dash"),
    pytest.param(body_of(name=".agent"), "name", id="name-leading-dot"),
    pytest.param(body_of(name="/agent"), "name", id="name-leading-slash"),
    pytest.param(body_of(name="agent-"), "name", id="name-trailing-dash"),
    pytest.param(body_of(name="team/"), "name", id="name-trailing-slash"),
    pytest.param(body_of(name="agent___a"), "name", id="name-triple-underscore"),
    pytest.param(body_of(name="agent._a"), "name", id="name-double-separator"),
    pytest.param(body_of(name="team//agent"), "name", id="name-double-slash"),
    pytest.param(body_of(name="team/-agent"), "name", id="name-segment-leading-dash"),
    pytest.param(body_of(name=12), "name", id="name-not-string"),
    pytest.param(body_of(name=None), "name", id="name-null"),
    pytest.param(json.dumps({"environment": "dev"}), "name", id="name-missing"),
    # environment
    pytest.param(body_of(environment="Dev"), "environment", id="environment-uppercase"),
    pytest.param(body_of(environment="dev!"), "environment", id="environment-bad-char"),
    pytest.param(body_of(environment="1dev"), "environment", id="environment-leading-digit"),
    pytest.param(body_of(environment=""), "environment", id="environment-empty"),
    pytest.param(body_of(environment="e" * 21), "environment", id="environment-21-chars"),
    pytest.param(body_of(environment=None), "environment", id="environment-null"),
    pytest.param(body_of(environment="qa"), "environment", id="environment-not-allowed"),
    pytest.param(body_of(environment="pre-prod"), "environment", id="environment-with-dash"),
    # imageScanning
    pytest.param(body_of(imageScanning="yes"), "imageScanning", id="imageScanning-string"),
    pytest.param(body_of(imageScanning="true"), "imageScanning", id="imageScanning-string-true"),
    pytest.param(body_of(imageScanning=1), "imageScanning", id="imageScanning-int"),
    pytest.param(body_of(imageScanning=None), "imageScanning", id="imageScanning-null"),
    # imageTagMutability, encryption, kmsKeyArn
    pytest.param(body_of(imageTagMutability="mutable"), "imageTagMutability", id="mutability-lowercase"),
    pytest.param(body_of(imageTagMutability="FROZEN"), "imageTagMutability", id="mutability-unknown"),
    pytest.param(body_of(encryption="NONE"), "encryption", id="encryption-unknown"),
    pytest.param(body_of(encryption="kms"), "encryption", id="encryption-lowercase"),
    pytest.param(body_of(kmsKeyArn="not-an-arn"), "kmsKeyArn", id="kmsKeyArn-not-arn"),
    pytest.param(body_of(kmsKeyArn="alias/aws/ecr"), "kmsKeyArn", id="kmsKeyArn-alias"),
    pytest.param(
        body_of(kmsKeyArn="arn:aws:s3:::bucket/key"), "kmsKeyArn", id="kmsKeyArn-arn-of-other-service"
    ),
    pytest.param(
        body_of(encryption="AES256", kmsKeyArn=KMS_KEY_ARN),
        "kmsKeyArn",
        id="kmsKeyArn-with-AES256",
    ),
    # lifecyclePolicy
    pytest.param(
        body_of(lifecyclePolicy={"untaggedExpiryDays": 0}),
        "lifecyclePolicy.untaggedExpiryDays",
        id="untaggedExpiryDays-0",
    ),
    pytest.param(
        body_of(lifecyclePolicy={"untaggedExpiryDays": 3651}),
        "lifecyclePolicy.untaggedExpiryDays",
        id="untaggedExpiryDays-3651",
    ),
    pytest.param(
        body_of(lifecyclePolicy={"untaggedExpiryDays": -1}),
        "lifecyclePolicy.untaggedExpiryDays",
        id="untaggedExpiryDays-negative",
    ),
    pytest.param(
        body_of(lifecyclePolicy={"untaggedExpiryDays": "30"}),
        "lifecyclePolicy.untaggedExpiryDays",
        id="untaggedExpiryDays-string",
    ),
    pytest.param(
        body_of(lifecyclePolicy={"untaggedExpiryDays": 1.5}),
        "lifecyclePolicy.untaggedExpiryDays",
        id="untaggedExpiryDays-float",
    ),
    pytest.param(
        body_of(lifecyclePolicy={"untaggedExpiryDays": 30.0}),
        "lifecyclePolicy.untaggedExpiryDays",
        id="untaggedExpiryDays-integral-float",
    ),
    pytest.param(
        body_of(lifecyclePolicy={"untaggedExpiryDays": True}),
        "lifecyclePolicy.untaggedExpiryDays",
        id="untaggedExpiryDays-bool",
    ),
    pytest.param(
        body_of(lifecyclePolicy={"untaggedExpiryDays": None}),
        "lifecyclePolicy.untaggedExpiryDays",
        id="untaggedExpiryDays-null",
    ),
    pytest.param(
        body_of(lifecyclePolicy={"maxImageCount": 0}), "lifecyclePolicy.maxImageCount", id="maxImageCount-0"
    ),
    pytest.param(
        body_of(lifecyclePolicy={"maxImageCount": 10001}),
        "lifecyclePolicy.maxImageCount",
        id="maxImageCount-10001",
    ),
    pytest.param(
        body_of(lifecyclePolicy={"maxImageCount": "5"}),
        "lifecyclePolicy.maxImageCount",
        id="maxImageCount-string",
    ),
    pytest.param(
        body_of(lifecyclePolicy={"untaggedExpiryDays": 30, "keepDays": 5}),
        "lifecyclePolicy.keepDays",
        id="lifecyclePolicy-unknown-field",
    ),
    pytest.param(body_of(lifecyclePolicy=None), "lifecyclePolicy", id="lifecyclePolicy-null"),
    pytest.param(body_of(lifecyclePolicy=[]), "lifecyclePolicy", id="lifecyclePolicy-array"),
    # tags
    pytest.param(body_of(tags={f"key{i}": "v" for i in range(41)}), "tags", id="tags-41"),
    pytest.param(body_of(tags={"": "v"}), "tags", id="tag-key-empty"),
    # CloudFormation's AWS::ECR::Repository: keys of 1-127 characters, values of 1-255 (docs/api.md)
    pytest.param(body_of(tags={"k" * 128: "v"}), "tags", id="tag-key-128-chars"),
    pytest.param(body_of(tags={"team": "v" * 256}), "tags", id="tag-value-256-chars"),
    pytest.param(body_of(tags={"team": ""}), "tags", id="tag-value-empty"),
    pytest.param(body_of(tags={"aws:x": "v"}), "tags", id="tag-key-aws-prefix"),
    pytest.param(body_of(tags={"AWS:x": "v"}), "tags", id="tag-key-AWS-prefix"),
    pytest.param(body_of(tags={"Aws:x": "v"}), "tags", id="tag-key-Aws-prefix"),
    pytest.param(body_of(tags={"agentcore:x": "v"}), "tags", id="tag-key-agentcore-prefix"),
    pytest.param(body_of(tags={"AgentCore:x": "v"}), "tags", id="tag-key-AgentCore-prefix"),
    # 40 tags of 127 + 255 four-byte characters: a TemplateBody well over CloudFormation's 51,200 bytes
    pytest.param(
        body_of(tags={f"{i:02d}" + "\U0001f600" * 125: "\U0001f600" * 255 for i in range(40)}),
        "tags",
        id="tags-over-the-template-size-limit",
    ),
    pytest.param(body_of(tags={"ManagedBy": "v"}), "tags", id="tag-key-ManagedBy"),
    pytest.param(body_of(tags={"Environment": "v"}), "tags", id="tag-key-Environment"),
    pytest.param(body_of(tags={"team": 1}), "tags.team", id="tag-value-not-string"),
    pytest.param(body_of(tags=["team"]), "tags", id="tags-array"),
    # the body as a whole
    pytest.param(body_of(colour="red"), "colour", id="unknown-top-level-field"),
    pytest.param(body_of(Name="agent-b"), "Name", id="unknown-field-wrong-case"),
    pytest.param("{not json", "body", id="body-not-json"),
    pytest.param(json.dumps([{"name": "agent-a"}]), "body", id="body-array-of-object"),
    pytest.param("[]", "body", id="body-empty-array"),
    pytest.param(json.dumps("agent-a"), "body", id="body-json-string"),
    pytest.param("42", "body", id="body-json-number"),
    pytest.param("null", "body", id="body-json-null"),
    pytest.param("", "body", id="body-empty"),
    pytest.param(None, "body", id="body-absent"),
]


@pytest.mark.parametrize(("body", "field"), INVALID_CREATE)
def test_invalid_create_request_is_rejected_before_anything_starts(
    deployment: Deployment, body: str | None, field: str
) -> None:
    response = post_repository(deployment, body)

    assert_validation_error(response, field)
    assert_nothing_started(deployment)


def test_every_invalid_field_is_reported_at_once(deployment: Deployment) -> None:
    body = body_of(name="Bad", imageScanning="yes", lifecyclePolicy={"maxImageCount": 0}, extra=1)

    response = post_repository(deployment, body)

    for field in ("name", "imageScanning", "lifecyclePolicy.maxImageCount", "extra"):
        assert_validation_error(response, field)
    assert_nothing_started(deployment)


# POST /repositories: values on the edge of a rule ------------------------------------------

VALID_BOUNDARIES = [
    pytest.param({"name": "ab"}, id="name-2-chars"),
    pytest.param({"name": "a" * 256}, id="name-256-chars"),
    pytest.param({"name": NAME_256_WITH_SEPARATORS}, id="name-256-chars-with-separators"),
    pytest.param({"name": "a.b_c-d/e"}, id="name-every-separator"),
    pytest.param({"name": "agent-a", "environment": "prod"}, id="environment-prod"),
    pytest.param({"name": "agent-a", "environment": "staging"}, id="environment-staging"),
    pytest.param({"name": "agent-a", "imageScanning": False}, id="imageScanning-false"),
    pytest.param({"name": "agent-a", "imageTagMutability": "MUTABLE"}, id="mutability-MUTABLE"),
    pytest.param({"name": "agent-a", "encryption": "AES256", "kmsKeyArn": None}, id="AES256-null-kmsKeyArn"),
    pytest.param({"name": "agent-a", "encryption": "KMS", "kmsKeyArn": KMS_KEY_ARN}, id="KMS-with-kmsKeyArn"),
    pytest.param(
        {"name": "agent-a", "lifecyclePolicy": {"untaggedExpiryDays": 1}}, id="untaggedExpiryDays-1"
    ),
    pytest.param(
        {"name": "agent-a", "lifecyclePolicy": {"untaggedExpiryDays": 3650}}, id="untaggedExpiryDays-3650"
    ),
    pytest.param({"name": "agent-a", "lifecyclePolicy": {"maxImageCount": 1}}, id="maxImageCount-1"),
    pytest.param({"name": "agent-a", "lifecyclePolicy": {"maxImageCount": 10000}}, id="maxImageCount-10000"),
    pytest.param({"name": "agent-a", "lifecyclePolicy": {"maxImageCount": None}}, id="maxImageCount-null"),
    pytest.param({"name": "agent-a", "tags": {f"key{i}": f"value{i}" for i in range(40)}}, id="tags-40"),
    pytest.param({"name": "agent-a", "tags": {"k" * 127: "v" * 255}}, id="tag-key-127-value-255"),
    pytest.param({"name": "agent-a", "tags": {"team": "v"}}, id="tag-value-1-char"),
    pytest.param({"name": "agent-a", "tags": {"awsome": "v", "agentcore": "v"}}, id="tag-key-near-reserved"),
    # 40 tags of 127 + 255 characters of 2 UTF-8 bytes: about 31 KB, which fits (as \uXXXX escapes
    # it would not: 6 bytes a character)
    pytest.param(
        {"name": "agent-a", "tags": {f"{i:02d}" + "é" * 125: "é" * 255 for i in range(40)}},
        id="tags-40-of-the-longest-two-byte-characters",
    ),
]


@pytest.mark.parametrize("request_body", VALID_BOUNDARIES)
def test_boundary_values_are_accepted_and_applied(
    deployment: Deployment, request_body: dict[str, Any]
) -> None:
    response = post_repository(deployment, json.dumps(request_body))

    assert response.status == 202, response.body
    operation_id = response.body["operationId"]
    assert response.headers["Location"] == f"/operations/{operation_id}"
    assert response.body["action"] == "CREATE"
    assert response.body["status"] == "RUNNING"
    assert response.body["repositoryName"] == request_body["name"]
    assert [execution["name"] for execution in executions(deployment)] == [operation_id]

    done = operation(deployment, operation_id)
    assert done["status"] == "SUCCEEDED", done["error"]
    repository = done["repository"]
    for key, value in request_body.items():
        if key == "lifecyclePolicy":
            assert {k: repository[key][k] for k in value} == value
        else:
            assert repository[key] == value, key


# PUT /lifecycle-policies/{name+} -------------------------------------------------------------

INVALID_LIFECYCLE = [
    pytest.param(json.dumps({"untaggedExpiryDays": 0}), "untaggedExpiryDays", id="untaggedExpiryDays-0"),
    pytest.param(
        json.dumps({"untaggedExpiryDays": 3651}), "untaggedExpiryDays", id="untaggedExpiryDays-3651"
    ),
    pytest.param(
        json.dumps({"untaggedExpiryDays": "30"}), "untaggedExpiryDays", id="untaggedExpiryDays-string"
    ),
    pytest.param(
        json.dumps({"untaggedExpiryDays": 1.5}), "untaggedExpiryDays", id="untaggedExpiryDays-float"
    ),
    pytest.param(json.dumps({"maxImageCount": 0}), "maxImageCount", id="maxImageCount-0"),
    pytest.param(json.dumps({"maxImageCount": 10001}), "maxImageCount", id="maxImageCount-10001"),
    pytest.param(json.dumps({"maxImageCount": True}), "maxImageCount", id="maxImageCount-bool"),
    pytest.param(json.dumps({"untaggedExpiryDays": 7, "keepDays": 5}), "keepDays", id="unknown-field"),
    pytest.param("{not json", "body", id="body-not-json"),
    pytest.param(json.dumps([{"untaggedExpiryDays": 7}]), "body", id="body-array-of-object"),
    pytest.param("[]", "body", id="body-empty-array"),
    pytest.param("", "body", id="body-empty"),
]


@pytest.mark.parametrize(("body", "field"), INVALID_LIFECYCLE)
def test_invalid_lifecycle_policy_is_rejected_before_the_repository_is_looked_up(
    deployment: Deployment, body: str, field: str
) -> None:
    """The repository does not exist: a 400 rather than a 404 shows validation comes first."""
    response = put_lifecycle(deployment, body)

    assert_validation_error(response, field)
    assert_nothing_started(deployment)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            json.dumps({"untaggedExpiryDays": 1, "maxImageCount": 10000}), id="lower-and-upper-bound"
        ),
        pytest.param(
            json.dumps({"untaggedExpiryDays": 3650, "maxImageCount": 1}), id="upper-and-lower-bound"
        ),
        pytest.param(json.dumps({"maxImageCount": None}), id="maxImageCount-null"),
        pytest.param("{}", id="all-defaults"),
    ],
)
def test_valid_lifecycle_policy_for_an_unknown_repository_is_not_found(
    deployment: Deployment, body: str
) -> None:
    response = put_lifecycle(deployment, body)

    assert response.status == 404, response.body
    assert response.body["error"]["code"] == "NotFound"
    assert_nothing_started(deployment)


def test_invalid_lifecycle_policy_leaves_a_managed_repository_alone(deployment: Deployment) -> None:
    created = deployment.call("CreateRepositoryFunction", load_event("create_repository_full"))
    assert created.status == 202, created.body
    assert operation(deployment, created.body["operationId"])["status"] == "SUCCEEDED"
    stack_before = deployment.cfn.describe_stacks()["Stacks"]

    response = put_lifecycle(deployment, json.dumps({"untaggedExpiryDays": 0, "maxImageCount": 100}))

    assert_validation_error(response, "untaggedExpiryDays")
    assert [execution["name"] for execution in executions(deployment)] == [created.body["operationId"]]
    assert deployment.cfn.describe_stacks()["Stacks"] == stack_before


# GET /repositories query parameters ----------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        pytest.param({"limit": "0"}, "limit", id="limit-0"),
        pytest.param({"limit": "101"}, "limit", id="limit-101"),
        pytest.param({"limit": "-1"}, "limit", id="limit-negative"),
        pytest.param({"limit": "abc"}, "limit", id="limit-not-number"),
        pytest.param({"limit": "1.5"}, "limit", id="limit-float"),
        pytest.param({"environment": "Bad!"}, "environment", id="environment-bad-pattern"),
        pytest.param({"environment": "e" * 21}, "environment", id="environment-21-chars"),
        pytest.param({"nextToken": "x"}, "nextToken", id="nextToken-not-base64"),
        pytest.param({"nextToken": "t" * 1025}, "nextToken", id="nextToken-too-long"),
        pytest.param({"nextToken": "!!!"}, "nextToken", id="nextToken-not-url-safe"),
    ],
)
def test_invalid_list_query_is_rejected(deployment: Deployment, query: dict[str, str], field: str) -> None:
    response = list_repositories(deployment, query)

    assert_validation_error(response, field, location="query")


@pytest.mark.parametrize(
    "query",
    [
        pytest.param({"limit": "1"}, id="limit-1"),
        pytest.param({"limit": "100"}, id="limit-100"),
        pytest.param({"environment": "staging"}, id="environment-staging"),
        pytest.param({}, id="no-query"),
    ],
)
def test_list_query_on_the_edge_is_accepted(deployment: Deployment, query: dict[str, str]) -> None:
    response = list_repositories(deployment, query)

    assert response.status == 200, response.body
    assert response.body == {"items": [], "nextToken": None}


# Idempotency-Key header --------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("k" * 65, id="65-chars"),
        pytest.param("retry!", id="bang"),
        pytest.param("retry 1", id="space"),
        pytest.param("retry.1", id="dot"),
        pytest.param("", id="empty"),
    ],
)
def test_invalid_idempotency_key_is_rejected(deployment: Deployment, key: str) -> None:
    response = post_repository(deployment, body_of(), headers={"Idempotency-Key": key})

    assert_validation_error(response, "idempotency-key", location="header")
    assert_nothing_started(deployment)


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("k" * 64, id="64-chars"),
        pytest.param("a", id="1-char"),
        pytest.param("A_z-09", id="mixed"),
    ],
)
def test_idempotency_key_on_the_edge_is_accepted(deployment: Deployment, key: str) -> None:
    response = post_repository(deployment, body_of(), headers={"Idempotency-Key": key})

    assert response.status == 202, response.body
    assert operation(deployment, response.body["operationId"])["status"] == "SUCCEEDED"


# Repository names in paths -----------------------------------------------------------------

PATH_ROUTES = [
    pytest.param("GetRepositoryFunction", "get_repository", "/repositories/", id="GET-repository"),
    pytest.param("DeleteRepositoryFunction", "delete_repository", "/repositories/", id="DELETE-repository"),
    pytest.param(
        "GetLifecyclePolicyFunction",
        "get_lifecycle_policy",
        "/lifecycle-policies/",
        id="GET-lifecycle-policy",
    ),
    pytest.param(
        "PutLifecyclePolicyFunction",
        "put_lifecycle_policy",
        "/lifecycle-policies/",
        id="PUT-lifecycle-policy",
    ),
]


@pytest.mark.parametrize(("function", "event_name", "prefix"), PATH_ROUTES)
@pytest.mark.parametrize(
    "name",
    [
        pytest.param("UPPER", id="uppercase"),
        pytest.param("a", id="1-char"),
        pytest.param("a" * 257, id="257-chars"),
        pytest.param("team/-agent", id="segment-leading-dash"),
        pytest.param("team//agent", id="double-slash"),
    ],
)
def test_bad_repository_name_in_path_is_rejected(
    deployment: Deployment, function: str, event_name: str, prefix: str, name: str
) -> None:
    event = with_path(load_event(event_name), prefix, name)

    response = deployment.call(function, event)

    assert_validation_error(response, "name", location="path")
    assert_nothing_started(deployment)


@pytest.mark.parametrize(("function", "event_name", "prefix"), PATH_ROUTES)
def test_valid_repository_name_in_path_reaches_the_lookup(
    deployment: Deployment, function: str, event_name: str, prefix: str
) -> None:
    event = with_path(load_event(event_name), prefix, "team/agent.b_c")

    response = deployment.call(function, event)

    assert response.status == 404, response.body
    assert response.body["error"]["code"] == "NotFound"


# Bodies that are not one reading of JSON, and bodies that are not JSON (found by fuzzing) ----
# Python's json keeps the last of two equal keys and takes NaN; past its parser's depth or int()'s
# digit limit it raises other errors than JSONDecodeError, which Powertools answered with a 500.

DEEP = 10_000
BIG_INTEGER = "1" + "0" * 5000  # 10**5000: more digits than int() takes (4300)


def odd_json(wrap: str) -> list[Any]:
    """Bodies whose `{}` is the place of an integer field: `wrap` is the body around it."""

    def body(value: str) -> str:
        return wrap.replace("{}", value)

    return [
        pytest.param("[" * DEEP, "body", id="10000-open-brackets"),
        pytest.param("[" * DEEP + "]" * DEEP, "body", id="arrays-10000-deep"),
        pytest.param(body('{"a": ' * DEEP + "1" + "}" * DEEP), "body", id="objects-10000-deep"),
        pytest.param(body(BIG_INTEGER), "body", id="integer-of-5001-digits"),
        pytest.param(BIG_INTEGER, "body", id="body-integer-of-5001-digits"),
        pytest.param(body("NaN"), "body", id="NaN"),
        pytest.param(body("-Infinity"), "body", id="minus-Infinity"),
        pytest.param("\ufeff" + body("1"), "body", id="byte-order-mark"),
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        *odd_json('{"name": "agent-a", "lifecyclePolicy": {"untaggedExpiryDays": {}}}'),
        pytest.param('{"name": "agent-a", "name": "agent-b"}', "body", id="duplicate-key"),
        pytest.param('{"name": "agent-a", "tags": {"team": "a", "team": "b"}}', "body", id="duplicate-tag"),
        pytest.param('{"name": "agent-a", "tags": {"\\udfff": "v"}}', "body", id="unpaired-surrogate-key"),
        pytest.param('{"name": "agent-a", "tags": {"k": "a\\ud800"}}', "body", id="unpaired-surrogate-value"),
        pytest.param('{"name": "agent-\\ud800"}', "body", id="unpaired-surrogate-name"),
        pytest.param(
            '{"name": "agent-a", "lifecyclePolicy": {"untaggedExpiryDays": 1' + "0" * 4000 + "}}",
            "lifecyclePolicy.untaggedExpiryDays",
            id="integer-of-4001-digits",
        ),
        pytest.param(
            '{"name": "agent-a", "lifecyclePolicy": {"untaggedExpiryDays": 1e400}}',
            "lifecyclePolicy.untaggedExpiryDays",
            id="1e400",
        ),
    ],
)
def test_a_create_body_with_no_single_json_reading_is_a_validation_error(
    deployment: Deployment, body: str, field: str
) -> None:
    response = post_repository(deployment, body)

    assert_validation_error(response, field)
    assert_nothing_started(deployment)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        *odd_json('{"untaggedExpiryDays": {}}'),
        pytest.param('{"untaggedExpiryDays": 7, "untaggedExpiryDays": 8}', "body", id="duplicate-key"),
        pytest.param('{"maxImageCount": 1e400}', "maxImageCount", id="1e400"),
    ],
)
def test_a_lifecycle_body_with_no_single_json_reading_is_a_validation_error(
    deployment: Deployment, body: str, field: str
) -> None:
    response = put_lifecycle(deployment, body)

    assert_validation_error(response, field)
    assert_nothing_started(deployment)


def test_a_duplicate_key_is_named(deployment: Deployment) -> None:
    response = post_repository(deployment, '{"name": "agent-a", "name": "agent-b"}')

    assert_validation_error(response, "body")
    assert "duplicate key 'name'" in response.body["error"]["details"][0]["message"]


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
def test_a_body_that_is_not_sent_as_json_is_unsupported_media_type(
    deployment: Deployment, content_type: str | None
) -> None:
    event = api_events.create_repository({"name": "agent-a"})
    headers = {k: v for k, v in event["headers"].items() if k.lower() != "content-type"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    event["headers"], event["multiValueHeaders"] = headers, {k: [v] for k, v in headers.items()}

    response = deployment.call("CreateRepositoryFunction", event)

    assert response.status == 415, response.body
    assert response.body["error"]["code"] == "UnsupportedMediaType"
    assert response.body["error"]["message"]
    assert_nothing_started(deployment)


@pytest.mark.parametrize("raw", [b"\xff\xfe{}", b'{"name": "agent-\xe9"}'])
def test_a_body_that_is_not_utf8_is_a_validation_error(deployment: Deployment, raw: bytes) -> None:
    """API Gateway hands a body that is not UTF-8 text to the function base64-encoded."""
    event = api_events.create_repository({"name": "agent-a"})
    event["body"], event["isBase64Encoded"] = base64.b64encode(raw).decode(), True

    response = deployment.call("CreateRepositoryFunction", event)

    assert_validation_error(response, "body")
    assert_nothing_started(deployment)


# A repository that goes while it is read (a delete operation ending; found by fuzzing) --------


@pytest.fixture
def vanishing(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """team/agent-a exists; once DescribeRepositories has found it, it is deleted (with its stack),
    as when a delete operation ends between the reads of a request."""
    operation_id = post_repository(deployment, body_of(name="team/agent-a")).body["operationId"]
    assert operation(deployment, operation_id)["status"] == "SUCCEEDED"
    describe = Ecr.describe
    gone: list[str] = []

    def describe_then_delete(self: Ecr, name: str) -> Any:
        found = describe(self, name)
        if found is not None and not gone:
            gone.append(name)
            deployment.ecr.delete_repository(repositoryName=name, force=True)
            deployment.cfn.delete_stack(StackName=TEAM_AGENT_A_DEV_STACK)
        return found

    monkeypatch.setattr(Ecr, "describe", describe_then_delete)
    yield gone


@pytest.mark.parametrize(
    ("function", "event"),
    [
        pytest.param("GetRepositoryFunction", api_events.get_repository("team/agent-a"), id="GET-repository"),
        pytest.param(
            "GetLifecyclePolicyFunction", api_events.get_lifecycle_policy("team/agent-a"), id="GET-lifecycle"
        ),
        pytest.param(
            "PutLifecyclePolicyFunction",
            api_events.put_lifecycle_policy("team/agent-a", {"untaggedExpiryDays": 7}),
            id="PUT-lifecycle",
        ),
        pytest.param(
            "DeleteRepositoryFunction", api_events.delete_repository("team/agent-a"), id="DELETE-repository"
        ),
    ],
)
def test_a_repository_deleted_while_it_is_read_is_not_found(
    deployment: Deployment, vanishing: list[str], function: str, event: dict[str, Any]
) -> None:
    response = deployment.call(function, event)

    assert vanishing == ["team/agent-a"]
    assert response.status == 404, response.body
    assert response.body["error"]["code"] == "NotFound"
