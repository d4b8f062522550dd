"""local/emulator, patches 11 to 16: CloudFormation's state rules, tokens, schemas and handler
permissions, and IAM, as AWS applies them. CloudFormation is driven directly with the repository
template, as in test_emulator.py; roles are made in the emulator's IAM and assumed through STS.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from cfnlint.schema.manager import PROVIDER_SCHEMA_MANAGER
from local import emulator

from tests.unit.test_emulator import (
    NAME,
    REGION,
    STACK,
    create,
    create_function,
    describe,
    image_tags,
    parameters,
    push_image,
    repository,
    repository_exists,
    resource_events,
    stack_parameters,
    status,
    template,
)

ACCOUNT = "123456789012"
REPOSITORIES = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/*"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "cloudformation.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


@pytest.fixture
def enforced(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(emulator.options, "enforce_iam", True)
    yield


def make_role(name: str, *statements: dict[str, Any], service: str = "cloudformation.amazonaws.com") -> str:
    iam = boto3.client("iam", region_name=REGION)
    trust = json.dumps(TRUST).replace("cloudformation.amazonaws.com", service)
    arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(document))
    return arn


def allow(actions: list[str], resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resource, **extra}


def schema_permissions(*handlers: str) -> list[str]:
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGION, "AWS::ECR::Repository").schema
    return sorted({p for handler in handlers for p in schema["handlers"][handler]["permissions"]})


def ecr_role(name: str, without: set[str] = frozenset()) -> str:  # type: ignore[assignment]
    """A CloudFormation service role with the ECR handler permissions of the schema but `without`."""
    handlers = ("create", "read", "update", "delete", "list")
    actions = [p for p in schema_permissions(*handlers) if p.startswith("ecr:") and p not in without]
    return make_role(name, allow(actions, REPOSITORIES))


def assumed(role_arn: str) -> boto3.Session:
    credentials = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn=role_arn, RoleSessionName="test"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=REGION,
    )


def error_of(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    error: dict[str, Any] = raised.value.response["Error"]
    return error


def update(cfn: Any, token: str | None = None, role: str | None = None, **values: str) -> Any:
    extra: dict[str, Any] = {}
    if token:
        extra["ClientRequestToken"] = token
    if role:
        extra["RoleARN"] = role
    return cfn.update_stack(
        StackName=STACK, TemplateBody=template(), Parameters=parameters(**values), **extra
    )


def events(cfn: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = cfn.describe_stack_events(StackName=STACK)["StackEvents"]
    return found


# 11. STACK_STATE_RULES ----------------------------------------------------------------------


def test_update_of_a_rolled_back_create_is_refused(cfn: Any, ecr: Any) -> None:
    """AWS: a ROLLBACK_COMPLETE stack can only be deleted."""
    ecr.create_repository(repositoryName=NAME)
    stack_id = create(cfn)
    assert status(cfn) == "ROLLBACK_COMPLETE"

    error = error_of(update, cfn=cfn, MaxImageCount="3")

    assert error["Code"] == "ValidationError"
    assert error["Message"] == f"Stack:{stack_id} is in ROLLBACK_COMPLETE state and can not be updated."


def test_update_of_a_failed_delete_is_refused_and_images_stay(cfn: Any, ecr: Any) -> None:
    """AWS: a DELETE_FAILED stack cannot be updated (say, to set EmptyOnDelete): only deleted again."""
    stack_id = create(cfn)
    push_image(ecr, "v1")
    cfn.delete_stack(StackName=STACK)
    assert status(cfn) == "DELETE_FAILED"

    error = error_of(update, cfn=cfn, EmptyOnDelete="true")

    assert error["Message"] == f"Stack:{stack_id} is in DELETE_FAILED state and can not be updated."
    assert image_tags(ecr) == ["v1"]


def test_update_and_delete_of_a_stack_being_updated_are_refused(
    cfn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS: no change starts while another is in progress."""
    stack_id = create(cfn)
    monkeypatch.setattr(emulator.options, "settle_seconds", 30)
    update(cfn, MaxImageCount="3")
    assert status(cfn) == "UPDATE_IN_PROGRESS"

    assert error_of(update, cfn=cfn, MaxImageCount="4")["Message"] == (
        f"Stack:{stack_id} is in UPDATE_IN_PROGRESS state and can not be updated."
    )
    assert error_of(cfn.delete_stack, StackName=STACK)["Message"] == (
        f"Stack [{STACK}] cannot be deleted while in status UPDATE_IN_PROGRESS"
    )


def test_continue_update_rollback_needs_update_rollback_failed(cfn: Any) -> None:
    """AWS: ContinueUpdateRollback is for a stack in UPDATE_ROLLBACK_FAILED only."""
    stack_id = create(cfn)

    error = error_of(cfn.continue_update_rollback, StackName=STACK)

    assert error["Code"] == "ValidationError"
    assert f"Stack:{stack_id} is in CREATE_COMPLETE state" in error["Message"]


def test_an_update_without_a_role_keeps_the_stacks_role(cfn: Any) -> None:
    """AWS: a stack keeps using the service role it was given."""
    role = ecr_role("kept")
    cfn.create_stack(StackName=STACK, TemplateBody=template(), Parameters=parameters(), RoleARN=role)

    update(cfn, MaxImageCount="3")

    assert describe(cfn)["RoleARN"] == role


# 12. CLIENT_REQUEST_TOKEN ----------------------------------------------------------------------


def test_every_event_of_an_operation_carries_its_token(cfn: Any) -> None:
    """AWS: all events of one operation have its ClientRequestToken."""
    cfn.create_stack(
        StackName=STACK, TemplateBody=template(), Parameters=parameters(), ClientRequestToken="c-1"
    )
    update(cfn, token="u-1", MaxImageCount="3")

    tokens = [(event["ResourceStatus"], event.get("ClientRequestToken")) for event in reversed(events(cfn))]

    assert tokens[0] == ("CREATE_IN_PROGRESS", "c-1")
    assert ("CREATE_COMPLETE", "c-1") in tokens
    assert tokens[-1] == ("UPDATE_COMPLETE", "u-1")
    assert {token for _, token in tokens} == {"c-1", "u-1"}


def test_a_retried_create_is_the_same_create(cfn: Any) -> None:
    """AWS: CreateStack retried with its token answers the same stack instead of AlreadyExists."""
    first = cfn.create_stack(
        StackName=STACK, TemplateBody=template(), Parameters=parameters(), ClientRequestToken="c-1"
    )
    again = cfn.create_stack(
        StackName=STACK, TemplateBody=template(), Parameters=parameters(), ClientRequestToken="c-1"
    )

    assert again["StackId"] == first["StackId"]
    assert [e["ResourceStatus"] for e in events(cfn)].count("CREATE_COMPLETE") == 1
    assert (
        error_of(
            cfn.create_stack,
            StackName=STACK,
            TemplateBody=template(),
            Parameters=parameters(),
            ClientRequestToken="c-2",
        )["Code"]
        == "AlreadyExistsException"
    )


def test_a_retried_update_is_the_same_update(cfn: Any) -> None:
    """AWS: UpdateStack retried with the token of the stack's latest operation starts nothing."""
    create(cfn)
    update(cfn, token="u-1", MaxImageCount="3")
    count = len(events(cfn))

    update(cfn, token="u-1", MaxImageCount="3")  # not "No updates are to be performed"

    assert len(events(cfn)) == count
    assert status(cfn) == "UPDATE_COMPLETE"


def test_a_retried_failed_delete_is_not_tried_again(cfn: Any, ecr: Any) -> None:
    create(cfn)
    push_image(ecr, "v1")
    cfn.delete_stack(StackName=STACK, ClientRequestToken="d-1")
    count = len(events(cfn))

    cfn.delete_stack(StackName=STACK, ClientRequestToken="d-1")

    assert len(events(cfn)) == count
    assert status(cfn) == "DELETE_FAILED"


# 13. RESOURCE_SCHEMAS ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        pytest.param(
            {"team": "v" * 256}, "#/Tags/2/Value: expected maxLength: 255, actual: 256", id="value-256"
        ),
        pytest.param({"k" * 128: "v"}, "#/Tags/2/Key: expected maxLength: 127, actual: 128", id="key-128"),
        pytest.param({"team": ""}, "#/Tags/2/Value: expected minLength: 1, actual: 0", id="value-empty"),
    ],
)
def test_properties_outside_the_schema_fail_the_create(
    cfn: Any, ecr: Any, tags: dict[str, str], message: str
) -> None:
    """AWS: CloudFormation validates the properties against AWS::ECR::Repository's schema first."""
    create(cfn, tags=tags)

    assert status(cfn) == "ROLLBACK_COMPLETE"
    (failed,) = resource_events(cfn, "CREATE_FAILED")
    assert failed["ResourceStatusReason"] == (
        f"Properties validation failed for resource Repository with message: [{message}]"
    )
    assert not repository_exists(ecr)


def test_properties_outside_the_schema_fail_the_update_and_change_nothing(cfn: Any, ecr: Any) -> None:
    create(cfn, tags={"team": "a"})

    cfn.update_stack(StackName=STACK, TemplateBody=template({"team": "b" * 256}), Parameters=parameters())

    assert status(cfn) == "UPDATE_ROLLBACK_COMPLETE"
    (failed,) = resource_events(cfn, "UPDATE_FAILED")
    assert "Properties validation failed for resource Repository" in failed["ResourceStatusReason"]
    tags = ecr.list_tags_for_resource(resourceArn=repository(ecr)["repositoryArn"])["tags"]
    assert {"Key": "team", "Value": "a"} in tags


def test_template_strings_are_read_as_the_schemas_booleans_and_numbers(cfn: Any) -> None:
    """AWS: "true" for the boolean ScanOnPush and "30" in a rendered number are accepted."""
    create(cfn, ImageScanOnPush="false", UntaggedExpiryDays="30")

    assert status(cfn) == "CREATE_COMPLETE"


# 14. HANDLER_PERMISSIONS -------------------------------------------------------------------------


def create_with_role(cfn: Any, role: str) -> None:
    cfn.create_stack(StackName=STACK, TemplateBody=template(), Parameters=parameters(), RoleARN=role)


def test_a_role_with_every_handler_permission_creates_updates_and_deletes(
    cfn: Any, ecr: Any, enforced: None
) -> None:
    create_with_role(cfn, ecr_role("complete"))
    stack_id = describe(cfn)["StackId"]
    update(cfn, MaxImageCount="3")
    push_image(ecr, "v1")
    update(cfn, EmptyOnDelete="true", MaxImageCount="3")
    cfn.delete_stack(StackName=STACK)

    assert status(cfn, stack_id) == "DELETE_COMPLETE"
    assert not repository_exists(ecr)


def test_a_create_refused_after_the_repository_is_made_rolls_it_back(
    cfn: Any, ecr: Any, enforced: None
) -> None:
    """AWS: the create handler makes the repository, then fails on SetRepositoryPolicy; the rollback
    deletes it."""
    create_with_role(cfn, ecr_role("no-policy", without={"ecr:SetRepositoryPolicy"}))

    assert status(cfn) == "ROLLBACK_COMPLETE"
    (failed,) = resource_events(cfn, "CREATE_FAILED")
    reason = failed["ResourceStatusReason"]
    assert "is not authorized to perform: ecr:SetRepositoryPolicy" in reason
    assert "assumed-role/no-policy/AWSCloudFormation" in reason
    assert reason.endswith("(HandlerErrorCode: AccessDenied)")
    assert not repository_exists(ecr)


def test_a_rollback_that_cannot_delete_ends_rollback_failed(cfn: Any, ecr: Any, enforced: None) -> None:
    create_with_role(
        cfn, ecr_role("create-only", without={"ecr:SetRepositoryPolicy", "ecr:DeleteRepository"})
    )

    assert status(cfn) == "ROLLBACK_FAILED"
    (kept,) = resource_events(cfn, "DELETE_FAILED")
    assert "ecr:DeleteRepository" in kept["ResourceStatusReason"]
    assert repository_exists(ecr)
    assert error_of(update, cfn=cfn, MaxImageCount="3")["Message"].endswith(
        "is in ROLLBACK_FAILED state and can not be updated."
    )


def test_an_update_whose_rollback_fails_too_is_continued_with_a_better_role(
    cfn: Any, ecr: Any, enforced: None
) -> None:
    """AWS: a role without an update permission fails the update and its rollback
    (UPDATE_ROLLBACK_FAILED); ContinueUpdateRollback with a role that has it finishes the rollback."""
    create_with_role(cfn, ecr_role("complete"))
    lacking = ecr_role("no-delete-policy", without={"ecr:DeleteRepositoryPolicy"})

    update(cfn, role=lacking, MaxImageCount="3")

    assert status(cfn) == "UPDATE_ROLLBACK_FAILED"
    reasons = [event["ResourceStatusReason"] for event in resource_events(cfn, "UPDATE_FAILED")]
    assert len(reasons) == 2 and all("ecr:DeleteRepositoryPolicy" in reason for reason in reasons)
    assert error_of(update, cfn=cfn, MaxImageCount="4")["Message"].endswith(
        "is in UPDATE_ROLLBACK_FAILED state and can not be updated."
    )

    cfn.continue_update_rollback(StackName=STACK)  # with the stack's role: the lacking one again
    assert status(cfn) == "UPDATE_ROLLBACK_FAILED"
    cfn.continue_update_rollback(StackName=STACK, RoleARN=f"arn:aws:iam::{ACCOUNT}:role/complete")

    assert status(cfn) == "UPDATE_ROLLBACK_COMPLETE"
    assert stack_parameters(cfn)["MaxImageCount"] == "0"
    update(cfn, MaxImageCount="3")
    assert status(cfn) == "UPDATE_COMPLETE"


def test_a_role_without_delete_repository_fails_the_delete(cfn: Any, ecr: Any, enforced: None) -> None:
    create_with_role(cfn, ecr_role("no-delete", without={"ecr:DeleteRepository"}))

    cfn.delete_stack(StackName=STACK)

    assert status(cfn) == "DELETE_FAILED"
    (failed,) = resource_events(cfn, "DELETE_FAILED")
    assert "ecr:DeleteRepository" in failed["ResourceStatusReason"]
    assert repository_exists(ecr)


def test_without_a_role_the_handlers_run_as_the_caller(cfn: Any, ecr: Any, enforced: None) -> None:
    caller = make_role(
        "caller",
        allow(["cloudformation:*"], f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/*"),
        allow(["ecr:CreateRepository", "ecr:DeleteRepository"], REPOSITORIES),
    )

    assumed(caller).client("cloudformation").create_stack(
        StackName=STACK, TemplateBody=template(), Parameters=parameters()
    )

    assert status(cfn) == "ROLLBACK_COMPLETE"
    (failed,) = resource_events(cfn, "CREATE_FAILED")
    assert (
        "assumed-role/caller/test is not authorized to perform: ecr:PutLifecyclePolicy"
        in failed["ResourceStatusReason"]
    )


# 15. IAM_ENFORCED --------------------------------------------------------------------------------


def test_requests_of_an_assumed_role_are_authorized_on_their_resources(ecr: Any, enforced: None) -> None:
    ecr.create_repository(repositoryName="team/a")
    ecr.create_repository(repositoryName="other/a")
    role = make_role(
        "reader", allow(["ecr:DescribeRepositories"], f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team/*")
    )
    client = assumed(role).client("ecr")

    assert client.describe_repositories(repositoryNames=["team/a"])["repositories"]
    error = error_of(client.describe_repositories, repositoryNames=["other/a"])
    assert error["Code"] == "AccessDeniedException"
    assert error["Message"] == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/reader/test is not authorized to perform: "
        f"ecr:DescribeRepositories on resource: arn:aws:ecr:{REGION}:{ACCOUNT}:repository/other/a "
        "because no identity-based policy allows the ecr:DescribeRepositories action"
    )
    assert error_of(client.list_images, repositoryName="team/a")["Code"] == "AccessDeniedException"


def test_query_protocol_services_answer_access_denied(cfn: Any, enforced: None) -> None:
    role = make_role("nothing", allow(["s3:GetObject"]))

    error = error_of(assumed(role).client("cloudformation").describe_stacks)

    assert error["Code"] == "AccessDenied"


def test_passing_a_role_to_cloudformation_needs_pass_role(cfn: Any, enforced: None) -> None:
    service_role = ecr_role("service")
    stacks = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/*"
    without = assumed(make_role("no-pass", allow(["cloudformation:*"], stacks)))
    with_pass = assumed(
        make_role(
            "pass",
            allow(["cloudformation:*"], stacks),
            allow(
                ["iam:PassRole"],
                service_role,
                Condition={"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}},
            ),
        )
    )
    kwargs = {
        "StackName": STACK,
        "TemplateBody": template(),
        "Parameters": parameters(),
        "RoleARN": service_role,
    }

    error = error_of(without.client("cloudformation").create_stack, **kwargs)
    with_pass.client("cloudformation").create_stack(**kwargs)

    assert "iam:PassRole" in error["Message"]
    assert status(cfn) == "CREATE_COMPLETE"


def test_other_credentials_are_not_checked(ecr: Any, enforced: None) -> None:
    ecr.create_repository(repositoryName="team/a")

    assert ecr.describe_repositories()["repositories"]


def test_an_action_the_local_iam_does_not_know_is_refused(ecr: Any, enforced: None) -> None:
    role = make_role("admin", allow(["*"]))

    error = error_of(assumed(role).client("ecr").describe_registry)

    assert "the local IAM does not know" in error["Message"]


# 16. STATE_MACHINE_ROLE ---------------------------------------------------------------------------


def run_machine(role: str, function_arn: str) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": function_arn, "Payload": {"a": 1}},
                "End": True,
            }
        },
    }
    machine = sfn.create_state_machine(
        name=f"m-{uuid.uuid4().hex[:6]}", definition=json.dumps(definition), roleArn=role
    )
    execution = sfn.start_execution(stateMachineArn=machine["stateMachineArn"])["executionArn"]
    for _ in range(200):
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)
    raise AssertionError("the execution did not end")


def test_task_integrations_run_as_the_state_machines_role(
    aws: None, enforced: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    function = create_function("target")
    monkeypatch.setattr(emulator.options, "invoke", lambda name, payload: (payload, None))
    states = "states.amazonaws.com"
    allowed = make_role("machine", allow(["lambda:InvokeFunction"], f"{function}*"), service=states)
    refused = make_role("machine-without-lambda", allow(["events:PutEvents"]), service=states)

    succeeded = run_machine(allowed, function)
    failed = run_machine(refused, function)

    assert succeeded["status"] == "SUCCEEDED", succeeded
    assert failed["status"] == "FAILED"
    assert "AccessDenied" in failed.get("error", "") + failed.get("cause", "")
