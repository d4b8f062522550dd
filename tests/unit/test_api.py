"""Every route, status and error code of the contract, through the real handlers on moto."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError
from local import emulator

from agentcore_ecr.aws.ecr import Ecr
from agentcore_ecr.domain.models import Repository
from agentcore_ecr.observability import logger
from tests import api_events
from tests.deployment import ApiResponse, Deployment, load_event
from tests.examples import lifecycle_policy
from tests.unit.test_emulator import parameters as emulator_parameters
from tests.unit.test_emulator import template as emulator_template
from tests.unit.test_workflow import push_image, run

TWIN_STACK = "agentcore-a-b-2e7336dc--dev-ecr"  # the stack name of "a.b"


def create(deployment: Deployment, body: dict[str, Any], key: str | None = None) -> ApiResponse:
    return deployment.call("CreateRepositoryFunction", api_events.create_repository(body, key))


def created(deployment: Deployment, name: str, **fields: Any) -> dict[str, Any]:
    operation = run(
        deployment, "CreateRepositoryFunction", api_events.create_repository({"name": name, **fields})
    )
    assert operation["status"] == "SUCCEEDED", operation
    return operation


def executions(deployment: Deployment) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = deployment.sfn.list_executions(
        stateMachineArn=deployment.state_machine_arn
    )["executions"]
    return found


def assert_error(response: ApiResponse, status: int, code: str) -> None:
    assert response.status == status, response.body
    assert response.body["error"]["code"] == code
    assert response.body["error"]["message"]


# Reads -------------------------------------------------------------------------------------


def test_get_returns_the_repository(deployment: Deployment) -> None:
    created(deployment, "team/agent-a", tags={"team": "a"}, encryption="AES256")

    got = deployment.call("GetRepositoryFunction", api_events.get_repository("team/agent-a"))

    assert got.status == 200
    assert got.body["name"] == "team/agent-a"
    assert got.body["tags"] == {"team": "a"}
    assert got.body["encryption"] == "AES256"
    assert got.body["kmsKeyArn"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", got.body["createdAt"])
    assert set(got.body) == set(Repository.model_json_schema(by_alias=True)["properties"])
    assert len(got.body) == 16  # the contract's 15 fields and drift


@pytest.mark.parametrize("name", ["team/agent-a", "agent.v2", "agent_b", "a/b/c-d.e_f"])
def test_names_with_slashes_dots_and_underscores(deployment: Deployment, name: str) -> None:
    operation = created(deployment, name)

    assert operation["repository"]["name"] == name
    assert re.fullmatch(r"[a-zA-Z][-a-zA-Z0-9]*", operation["repository"]["stackName"])
    assert deployment.call("GetRepositoryFunction", api_events.get_repository(name)).status == 200


@pytest.mark.parametrize("name", ["a__b", "my--agent", "a--b/c__d", "a---b.c_d__e"])
def test_every_name_ecr_takes_is_created(deployment: Deployment, name: str) -> None:
    # ECR's rule (botocore's model, the AWS::ECR::Repository schema): `__` and runs of `-` join too.
    operation = created(deployment, name)

    assert operation["repository"]["name"] == name
    assert deployment.ecr.describe_repositories(repositoryNames=[name])["repositories"]
    got = deployment.call("GetRepositoryFunction", api_events.get_repository(name))
    assert got.status == 200
    assert got.body["name"] == name


@pytest.mark.parametrize("name", ["a___b", "a_-b", "a.-b", "a//b", "-ab", "ab-"])
def test_a_name_ecr_refuses_is_400(deployment: Deployment, name: str) -> None:
    response = create(deployment, {"name": name})

    assert_error(response, 400, "ValidationError")
    assert_error(
        deployment.call("GetRepositoryFunction", api_events.get_repository(name)), 400, "ValidationError"
    )
    assert executions(deployment) == []


def test_get_unknown_repository_is_404(deployment: Deployment) -> None:
    assert_error(
        deployment.call("GetRepositoryFunction", api_events.get_repository("nope/none")), 404, "NotFound"
    )


def test_get_repository_not_managed_by_the_service_is_404(deployment: Deployment) -> None:
    deployment.ecr.create_repository(repositoryName="outside")

    response = deployment.call("GetRepositoryFunction", api_events.get_repository("outside"))

    assert_error(response, 404, "NotFound")


def test_list_pages_neither_repeat_nor_skip(deployment: Deployment) -> None:
    names = ["b-agent", "a-agent", "e.agent", "c/agent", "d_agent"]
    for name in names:
        created(deployment, name)
    created(deployment, "prod-agent", environment="prod")
    deployment.ecr.create_repository(repositoryName="unmanaged")

    seen: list[str] = []
    token: str | None = None
    for _ in range(10):
        query = {"environment": "dev", "limit": "2", **({"nextToken": token} if token else {})}
        page = deployment.call("ListRepositoriesFunction", api_events.list_repositories(**query))
        assert page.status == 200
        assert len(page.body["items"]) <= 2
        seen.extend(item["name"] for item in page.body["items"])
        token = page.body["nextToken"]
        if token is None:
            break

    assert seen == sorted(names)
    everything = deployment.call("ListRepositoriesFunction", api_events.list_repositories())
    assert [item["name"] for item in everything.body["items"]] == sorted([*names, "prod-agent"])
    assert everything.body["nextToken"] is None


def test_list_page_stays_consistent_when_repositories_change_between_pages(deployment: Deployment) -> None:
    for name in ["a-one", "c-three", "e-five"]:
        created(deployment, name)
    first = deployment.call("ListRepositoriesFunction", api_events.list_repositories(limit="2"))
    created(deployment, "b-two")  # sorts before the cursor: not repeated, not shifting the rest

    second = deployment.call(
        "ListRepositoriesFunction", api_events.list_repositories(limit="2", nextToken=first.body["nextToken"])
    )

    assert [i["name"] for i in first.body["items"]] == ["a-one", "c-three"]
    assert [i["name"] for i in second.body["items"]] == ["e-five"]


def test_list_rejects_a_token_it_did_not_issue(deployment: Deployment) -> None:
    response = deployment.call("ListRepositoriesFunction", api_events.list_repositories(nextToken="%%%"))

    assert_error(response, 400, "ValidationError")


def test_lifecycle_policy_read_shows_the_live_policy(deployment: Deployment) -> None:
    created(deployment, "team/agent-a", lifecyclePolicy={"untaggedExpiryDays": 5, "maxImageCount": 10})

    response = deployment.call("GetLifecyclePolicyFunction", api_events.get_lifecycle_policy("team/agent-a"))

    assert response.status == 200
    assert response.body["untaggedExpiryDays"] == 5
    assert response.body["maxImageCount"] == 10
    assert json.loads(response.body["policyText"]) == lifecycle_policy(5, 10)


def test_lifecycle_policy_of_unknown_repository_is_404(deployment: Deployment) -> None:
    response = deployment.call("GetLifecyclePolicyFunction", api_events.get_lifecycle_policy("nope"))
    assert_error(response, 404, "NotFound")
    response = deployment.call(
        "PutLifecyclePolicyFunction", api_events.put_lifecycle_policy("nope", {"untaggedExpiryDays": 3})
    )
    assert_error(response, 404, "NotFound")


def test_operation_not_found(deployment: Deployment) -> None:
    for operation_id in ["5b8e3b7c-0f5e-4d47-9a1e-1c2b3d4e5f60", "not-an-id"]:
        response = deployment.call("GetOperationFunction", api_events.get_operation(operation_id))
        assert_error(response, 404, "NotFound")


def test_auth_token_is_not_cached_and_never_logged(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the noisiest logging the service has: DEBUG, and events logged by every handler
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")
    buffer = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", buffer)
    level = logger.log_level
    logger.setLevel("DEBUG")
    try:
        response = deployment.call("AuthTokenFunction", api_events.auth_token())
    finally:
        logger.setLevel(level)

    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert set(response.body) == {"username", "password", "proxyEndpoint", "expiresAt"}
    assert response.body["username"] == "AWS"
    password = response.body["password"]
    assert len(password) > 8
    lines = buffer.getvalue().splitlines()
    assert any(json.loads(line)["message"] == "registry token issued" for line in lines)
    assert all(password not in line for line in lines)


def test_unknown_route_is_404_in_the_error_shape(deployment: Deployment) -> None:
    event = load_event("get_repository")
    event["path"] = "/nothing-here"
    assert_error(deployment.call("GetRepositoryFunction", event), 404, "NotFound")


def test_an_aws_fault_is_500_without_its_raw_text(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Ecr, name: str) -> None:
        raise ClientError(
            {"Error": {"Code": "InternalFailure", "Message": "secret raw text"}}, "DescribeRepositories"
        )

    monkeypatch.setattr(Ecr, "describe", broken)

    response = deployment.call("GetRepositoryFunction", api_events.get_repository("team/agent-a"))

    assert_error(response, 500, "Internal")
    assert "secret raw text" not in json.dumps(response.body)
    assert "Traceback" not in json.dumps(response.body)


# Mutations ---------------------------------------------------------------------------------


def test_create_answers_202_with_a_running_operation(deployment: Deployment) -> None:
    emulator.options.settle_seconds = 5

    response = create(deployment, {"name": "team/agent-a"})

    assert response.status == 202
    assert response.headers["Location"] == f"/operations/{response.body['operationId']}"
    assert response.body["status"] == "RUNNING"
    assert response.body["action"] == "CREATE"
    assert response.body["stoppedAt"] is None
    polled = deployment.call("GetOperationFunction", api_events.get_operation(response.body["operationId"]))
    assert polled.body["status"] == "RUNNING"


def test_create_refuses_a_repository_the_service_does_not_manage(deployment: Deployment) -> None:
    deployment.ecr.create_repository(repositoryName="outside")

    assert_error(create(deployment, {"name": "outside"}), 409, "RepositoryExists")
    assert executions(deployment) == []
    assert deployment.ecr.describe_repositories(repositoryNames=["outside"])["repositories"]


def test_create_refuses_a_managed_repository_of_another_environment(deployment: Deployment) -> None:
    created(deployment, "team/agent-a", environment="staging")

    assert_error(create(deployment, {"name": "team/agent-a", "environment": "dev"}), 409, "RepositoryExists")


KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_encryption_is_fixed_after_creation(deployment: Deployment) -> None:
    created(deployment, "team/agent-a")
    before = len(executions(deployment))

    assert_error(
        create(deployment, {"name": "team/agent-a", "encryption": "AES256"}), 409, "ImmutableSetting"
    )
    kms = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    assert_error(create(deployment, {"name": "team/agent-a", "kmsKeyArn": kms}), 409, "ImmutableSetting")
    assert len(executions(deployment)) == before


@pytest.mark.parametrize(
    ("created_with", "kept"),
    [
        pytest.param({"encryption": "AES256"}, ("AES256", None), id="aes256"),
        pytest.param({"kmsKeyArn": KMS_KEY}, ("KMS", KMS_KEY), id="customer-managed-key"),
    ],
)
def test_an_update_that_omits_encryption_keeps_the_repositorys(
    deployment: Deployment, created_with: dict[str, str], kept: tuple[str, str | None]
) -> None:
    # Contract 1.1: omitted on an update, encryption and kmsKeyArn keep the current setting.
    created(deployment, "team/agent-a", **created_with)

    operation = run(
        deployment,
        "CreateRepositoryFunction",
        api_events.create_repository({"name": "team/agent-a", "imageTagMutability": "MUTABLE"}),
    )

    assert operation["status"] == "SUCCEEDED", operation
    assert operation["action"] == "UPDATE"
    repository = operation["repository"]
    assert (repository["encryption"], repository["kmsKeyArn"]) == kept
    assert repository["imageTagMutability"] == "MUTABLE"


def test_a_second_change_while_one_runs_is_409(deployment: Deployment) -> None:
    emulator.options.settle_seconds = 5
    first = create(deployment, {"name": "team/agent-a"})
    assert first.status == 202

    assert_error(create(deployment, {"name": "team/agent-a"}), 409, "OperationInProgress")
    assert len(executions(deployment)) == 1


def test_delete_refuses_while_images_exist_and_deletes_nothing(deployment: Deployment) -> None:
    created(deployment, "team/agent-a")
    push_image(deployment, "team/agent-a", "v1")
    before = len(executions(deployment))

    response = deployment.call("DeleteRepositoryFunction", api_events.delete_repository("team/agent-a"))

    assert_error(response, 409, "RepositoryNotEmpty")
    assert len(executions(deployment)) == before
    assert deployment.ecr.list_images(repositoryName="team/agent-a")["imageIds"]


def test_delete_of_an_empty_repository(deployment: Deployment) -> None:
    created(deployment, "team/agent-a")

    operation = run(deployment, "DeleteRepositoryFunction", api_events.delete_repository("team/agent-a"))

    assert operation["status"] == "SUCCEEDED"
    assert operation["action"] == "DELETE"
    got = deployment.call("GetRepositoryFunction", api_events.get_repository("team/agent-a"))
    assert_error(got, 404, "NotFound")


def test_delete_of_an_unknown_or_unmanaged_repository(deployment: Deployment) -> None:
    deployment.ecr.create_repository(repositoryName="outside")

    assert_error(
        deployment.call("DeleteRepositoryFunction", api_events.delete_repository("nope")), 404, "NotFound"
    )
    response = deployment.call(
        "DeleteRepositoryFunction", api_events.delete_repository("outside", force=True)
    )
    assert_error(response, 409, "NotManaged")
    assert deployment.ecr.describe_repositories(repositoryNames=["outside"])["repositories"]


def test_lifecycle_change_of_an_unmanaged_repository_is_409(deployment: Deployment) -> None:
    deployment.ecr.create_repository(repositoryName="outside")

    response = deployment.call(
        "PutLifecyclePolicyFunction", api_events.put_lifecycle_policy("outside", {"untaggedExpiryDays": 3})
    )

    assert_error(response, 409, "NotManaged")


# Idempotency-Key ---------------------------------------------------------------------------


def test_same_key_same_request_same_operation_while_running_and_after(deployment: Deployment) -> None:
    emulator.options.settle_seconds = 0.5
    body = {"name": "team/agent-a", "tags": {"a": "1"}}

    first = create(deployment, body, key="k-1")
    while_running = create(deployment, body, key="k-1")
    deployment.wait(first.body["operationId"])
    after = create(deployment, dict(reversed(list(body.items()))), key="k-1")

    assert first.status == while_running.status == after.status == 202
    assert first.body["operationId"] == while_running.body["operationId"] == after.body["operationId"]
    assert after.body["status"] == "SUCCEEDED"
    assert len(executions(deployment)) == 1


def test_same_key_other_request_is_422(deployment: Deployment) -> None:
    first = create(deployment, {"name": "team/agent-a"}, key="k-2")
    deployment.wait(first.body["operationId"])

    assert_error(create(deployment, {"name": "team/agent-b"}, key="k-2"), 422, "IdempotencyKeyReused")
    response = deployment.call(
        "DeleteRepositoryFunction", api_events.delete_repository("team/agent-a", key="k-2")
    )
    assert_error(response, 422, "IdempotencyKeyReused")
    assert len(executions(deployment)) == 1


def test_keys_work_on_delete_and_lifecycle(deployment: Deployment) -> None:
    created(deployment, "team/agent-a")

    put = api_events.put_lifecycle_policy("team/agent-a", {"untaggedExpiryDays": 3}, key="lc-1")
    first = deployment.call("PutLifecyclePolicyFunction", put)
    deployment.wait(first.body["operationId"])
    again = deployment.call("PutLifecyclePolicyFunction", put)
    assert first.body["operationId"] == again.body["operationId"]

    delete = api_events.delete_repository("team/agent-a", key="del-1")
    first = deployment.call("DeleteRepositoryFunction", delete)
    deployment.wait(first.body["operationId"])
    again = deployment.call("DeleteRepositoryFunction", delete)
    assert again.status == 202
    assert first.body["operationId"] == again.body["operationId"]
    assert again.body["status"] == "SUCCEEDED"


def foreign_stack(deployment: Deployment, stack_name: str, repository_name: str) -> None:
    """A stack of the repository template at `stack_name` whose RepositoryName names another
    repository: what two names whose digests collide would leave (the rule itself makes none)."""
    deployment.cfn.create_stack(
        StackName=stack_name,
        TemplateBody=emulator_template(),
        Parameters=emulator_parameters(RepositoryName=repository_name),
    )


@pytest.mark.parametrize("first", ["a-b-2e7336dc", "a.b"])
def test_a_contrived_twin_takes_no_other_names_stack(deployment: Deployment, first: str) -> None:
    # "a-b-2e7336dc" spells the slug and digest of "a.b" (`printf a.b | sha256sum`): it keeps its
    # agentcore-cli stack name, and "a.b"'s stack name ends "--dev-ecr", so either may come first.
    second = "a.b" if first == "a-b-2e7336dc" else "a-b-2e7336dc"
    created(deployment, first)

    operation = created(deployment, second)

    stacks = {
        name: deployment.call("GetRepositoryFunction", api_events.get_repository(name)).body["stackName"]
        for name in ("a.b", "a-b-2e7336dc")
    }
    assert operation["repository"]["stackName"] == stacks[second]
    assert stacks == {
        "a.b": "agentcore-a-b-2e7336dc--dev-ecr",
        "a-b-2e7336dc": "agentcore-a-b-2e7336dc-dev-ecr",
    }


def test_a_name_whose_stack_name_is_taken_is_refused_naming_the_owner(deployment: Deployment) -> None:
    # The stack's RepositoryName parameter says whose it is: a stack named as "a.b"'s but made for
    # "c.d" (as a collision of 8-digit digests would make it) is refused to "a.b", untouched.
    foreign_stack(deployment, TWIN_STACK, "c.d")

    response = create(deployment, {"name": "a.b"})

    assert_error(response, 409, "RepositoryExists")
    assert "'c.d'" in response.body["error"]["message"]
    stack = deployment.cfn.describe_stacks(StackName=TWIN_STACK)["Stacks"][0]
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}["RepositoryName"] == "c.d"


def test_reads_and_deletes_check_whose_stack_it_is(deployment: Deployment) -> None:
    # Given "a-b-2e7336dc" exists outside the service with the service's tags, while a stack under
    # its stack name belongs to "a.b" (a stack that says so in its RepositoryName parameter)
    foreign_stack(deployment, "agentcore-a-b-2e7336dc-dev-ecr", "a.b")
    deployment.ecr.create_repository(
        repositoryName="a-b-2e7336dc",
        tags=[{"Key": "ManagedBy", "Value": "agentcore-ecr"}, {"Key": "Environment", "Value": "dev"}],
    )

    got = deployment.call("GetRepositoryFunction", api_events.get_repository("a-b-2e7336dc"))
    deleted = deployment.call("DeleteRepositoryFunction", api_events.delete_repository("a-b-2e7336dc"))
    policy = api_events.put_lifecycle_policy("a-b-2e7336dc", {"untaggedExpiryDays": 3})
    changed = deployment.call("PutLifecyclePolicyFunction", policy)

    assert_error(got, 404, "NotFound")
    assert_error(deleted, 409, "NotManaged")
    assert_error(changed, 409, "NotManaged")
    listed = deployment.call("ListRepositoriesFunction", api_events.list_repositories()).body["items"]
    assert listed == []
    assert deployment.ecr.describe_repositories(repositoryNames=["a.b", "a-b-2e7336dc"])["repositories"]
