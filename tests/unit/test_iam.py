"""local/iam.py: IAM's evaluation logic and what each call of the service authorizes.

Expected decisions follow the IAM User Guide ("Policy evaluation logic", "IAM JSON policy
elements: Condition operators"); expected resources follow the Service Authorization Reference.
"""

from __future__ import annotations

from typing import Any

import pytest
from local import iam

ACCOUNT, REGION = "123456789012", "us-east-1"
REPO = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team/agent-a"
LIST = "ecr:ListImages"
CFN = "cloudformation.amazonaws.com"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/CloudFormationServiceRole"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


# Evaluation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policies", "action", "resource", "allowed"),
    [
        pytest.param([], "ecr:ListImages", REPO, False, id="no-policy-implicit-deny"),
        pytest.param([policy(allow("ecr:ListImages", REPO))], "ecr:ListImages", REPO, True, id="exact"),
        pytest.param([policy(allow("ECR:listimages", REPO))], LIST, REPO, True, id="action-any-case"),
        pytest.param([policy(allow("ecr:List*", REPO))], LIST, REPO, True, id="action-wildcard"),
        pytest.param([policy(allow("ecr:?istImages", REPO))], LIST, REPO, True, id="action-qmark"),
        pytest.param([policy(allow("ecr:Describe*", REPO))], LIST, REPO, False, id="other-action"),
        pytest.param(
            [policy(allow("ecr:ListImages", REPO.replace("agent-a", "*")))], "ecr:ListImages", REPO, True,
            id="resource-wildcard-spans-slash",
        ),
        pytest.param(
            [policy(allow("ecr:ListImages", REPO.upper()))], "ecr:ListImages", REPO, False,
            id="resource-is-case-sensitive",
        ),
        pytest.param(
            [policy(allow([LIST, "ecr:BatchDeleteImage"], [REPO, "arn:aws:ecr:*:*:repository/x"]))],
            "ecr:BatchDeleteImage", REPO, True, id="lists",
        ),
        pytest.param(
            [policy(allow("ecr:*", REPO), deny("ecr:BatchDeleteImage", REPO))], "ecr:BatchDeleteImage", REPO,
            False, id="explicit-deny-wins",
        ),
        pytest.param(
            [policy(allow("ecr:*", REPO)), policy(deny("ecr:BatchDeleteImage"))], "ecr:BatchDeleteImage",
            REPO, False, id="deny-in-another-policy-wins",
        ),
        pytest.param(
            [policy({"Effect": "Allow", "NotAction": "ecr:BatchDeleteImage", "Resource": "*"})],
            "ecr:ListImages", REPO, True, id="not-action-allows-others",
        ),
        pytest.param(
            [policy({"Effect": "Allow", "NotAction": "ecr:BatchDeleteImage", "Resource": "*"})],
            "ecr:BatchDeleteImage", REPO, False, id="not-action-excludes",
        ),
        pytest.param(
            [policy({"Effect": "Allow", "Action": "ecr:*", "NotResource": REPO})], "ecr:ListImages", REPO,
            False, id="not-resource-excludes",
        ),
    ],
)  # fmt: skip
def test_identity_policies(policies: list[dict[str, Any]], action: str, resource: str, allowed: bool) -> None:
    assert iam.evaluate(policies, action, resource).allowed is allowed


PASS_ROLE = allow(
    "iam:PassRole",
    "arn:aws:iam::123456789012:role/Cfn",
    Condition={"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}},
)


@pytest.mark.parametrize(
    ("statement", "context", "allowed"),
    [
        pytest.param(PASS_ROLE, {"iam:PassedToService": CFN}, True, id="equals"),
        pytest.param(PASS_ROLE, {"iam:PassedToService": "lambda.amazonaws.com"}, False, id="equals-other"),
        pytest.param(PASS_ROLE, {}, False, id="equals-key-missing"),
        pytest.param(PASS_ROLE, {"IAM:PASSEDTOSERVICE": CFN}, True, id="key-any-case"),
        pytest.param(
            allow("s:A", Condition={"StringNotEquals": {"aws:SourceAccount": "999999999999"}}), {}, True,
            id="negated-key-missing-holds",
        ),
        pytest.param(
            allow("s:A", Condition={"StringEqualsIfExists": {"aws:SourceAccount": "1"}}), {}, True,
            id="if-exists-key-missing-holds",
        ),
        pytest.param(
            allow("s:A", Condition={"StringEqualsIfExists": {"aws:SourceAccount": "1"}}),
            {"aws:SourceAccount": "2"}, False, id="if-exists-key-present-checked",
        ),
        pytest.param(
            allow("s:A", Condition={"ArnLike": {"aws:SourceArn": "arn:aws:events:*:*:rule/bus/*"}}),
            {"aws:SourceArn": "arn:aws:events:us-east-1:1:rule/bus/r"}, True, id="arn-like",
        ),
        pytest.param(
            allow("s:A", Condition={"StringLike": {"k": ["a*", "b*"]}}), {"k": "bx"}, True, id="any-value",
        ),
        pytest.param(
            allow("s:A", Condition={"StringEquals": {"k": "a"}, "StringLike": {"j": "x*"}}),
            {"k": "a", "j": "y"}, False, id="every-operator",
        ),
        pytest.param(allow("s:A", Condition={"Null": {"k": "true"}}), {}, True, id="null-true-missing"),
        pytest.param(allow("s:A", Condition={"Null": {"k": "false"}}), {}, False, id="null-false-missing"),
        pytest.param(allow("s:A", Condition={"Bool": {"k": "true"}}), {"k": "True"}, True, id="bool"),
    ],
)  # fmt: skip
def test_conditions(statement: dict[str, Any], context: dict[str, str], allowed: bool) -> None:
    resource = statement["Resource"] if statement["Resource"] != "*" else "arn:aws:iam::123456789012:role/Cfn"
    action = statement["Action"]

    assert iam.evaluate([policy(statement)], action, resource, context).allowed is allowed


def test_a_condition_that_does_not_hold_leaves_a_deny_out() -> None:
    """A Deny whose condition does not hold does not apply (moto's own evaluator denies here)."""
    policies = [
        policy(
            allow("ecr:*"), deny("ecr:*", Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}})
        )
    ]

    assert iam.evaluate(policies, "ecr:ListImages", REPO, {"aws:RequestedRegion": REGION}).allowed


def test_an_operator_the_local_iam_does_not_know_is_an_error() -> None:
    with pytest.raises(ValueError, match="NumericLessThan"):
        iam.evaluate(
            [policy(allow("s:A", Condition={"NumericLessThan": {"k": "1"}}))], "s:A", "*", {"k": "0"}
        )


def test_resource_policy_matches_the_service_principal_and_source() -> None:
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:F"
    permission = {
        "Effect": "Allow",
        "Principal": {"Service": "apigateway.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": function,
        "Condition": {"ArnLike": {"AWS:SourceArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:api/*/GET/x/*"}},
    }
    source = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:api/v1/GET/x/team/a"

    def decide(service: str, source_arn: str) -> bool:
        context = {"aws:SourceArn": source_arn}
        return iam.evaluate([policy(permission)], "lambda:InvokeFunction", function, context, service).allowed

    assert decide("apigateway.amazonaws.com", source)
    assert not decide("events.amazonaws.com", source)
    assert not decide("apigateway.amazonaws.com", source.replace("GET", "DELETE"))


def test_denial_message_is_aws_wording() -> None:
    principal = f"arn:aws:sts::{ACCOUNT}:assumed-role/R/s"

    implicit = iam.denial_message(principal, "ecr:ListImages", REPO, iam.Decision(allowed=False))
    explicit = iam.denial_message(principal, "ecr:ListImages", REPO, iam.Decision(False, explicit_deny=True))

    assert implicit == (
        f"User: {principal} is not authorized to perform: ecr:ListImages on resource: {REPO} "
        "because no identity-based policy allows the ecr:ListImages action"
    )
    assert explicit.endswith("with an explicit deny in an identity-based policy")


# What a call authorizes ----------------------------------------------------------------------


def needs(service: str, operation: str, **params: Any) -> list[tuple[str, str, dict[str, Any]]] | None:
    call = iam.Call(service, operation, params, REGION, ACCOUNT)
    found = iam.needs(call, lambda name: f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/id-1")
    return None if found is None else [(need.action, need.resource, dict(need.context)) for need in found]


STACK = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/agentcore-x-dev-ecr/id-1"
TAG = {"Key": "ManagedBy", "Value": "agentcore-ecr"}
REQUEST_TAGS = {"aws:RequestTag/ManagedBy": "agentcore-ecr", "aws:TagKeys": ["ManagedBy"]}
MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:wf"
EXECUTION = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:wf:op-1"


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        pytest.param(("ecr", "DescribeRepositories", {"repositoryNames": ["team/agent-a"]}),
                     [("ecr:DescribeRepositories", REPO, {})], id="ecr-describe"),
        pytest.param(("ecr", "ListTagsForResource", {"resourceArn": REPO}),
                     [("ecr:ListTagsForResource", REPO, {})], id="ecr-tags"),
        pytest.param(("ecr", "BatchDeleteImage", {"repositoryName": "team/agent-a", "imageIds": []}),
                     [("ecr:BatchDeleteImage", REPO, {})], id="ecr-batch-delete"),
        pytest.param(("ecr", "GetAuthorizationToken", {}), [("ecr:GetAuthorizationToken", "*", {})],
                     id="ecr-token"),
        pytest.param(("cloudformation", "DescribeStacks", {}), [("cloudformation:DescribeStacks", "*", {})],
                     id="cfn-describe-all"),
        pytest.param(("cloudformation", "DescribeStacks", {"StackName": "agentcore-x-dev-ecr"}),
                     [("cloudformation:DescribeStacks", STACK, {})], id="cfn-describe-one"),
        pytest.param(("cloudformation", "DeleteStack", {"StackName": STACK, "RoleARN": ROLE}),
                     [("cloudformation:DeleteStack", STACK, {}),
                      ("iam:PassRole", ROLE, {"iam:PassedToService": CFN})],
                     id="cfn-delete-with-role"),
        pytest.param(("cloudformation", "CreateStack", {"StackName": "agentcore-x-dev-ecr", "Tags": [TAG]}),
                     [("cloudformation:CreateStack", STACK, REQUEST_TAGS),
                      ("cloudformation:TagResource", STACK,
                       {"cloudformation:CreateAction": "CreateStack", **REQUEST_TAGS})],
                     id="cfn-create-with-tags"),
        pytest.param(("stepfunctions", "StartExecution", {"stateMachineArn": MACHINE}),
                     [("states:StartExecution", MACHINE, {})], id="sfn-start"),
        pytest.param(("stepfunctions", "DescribeExecution", {"executionArn": EXECUTION}),
                     [("states:DescribeExecution", EXECUTION, {})], id="sfn-describe"),
        pytest.param(("events", "PutEvents", {"Entries": [{"EventBusName": "b"}, {}]}),
                     [("events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/b", {}),
                      ("events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default", {})],
                     id="events-buses"),
        pytest.param(("lambda", "Invoke", {"FunctionName": "F"}),
                     [("lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:F", {})],
                     id="lambda-invoke-is-invokefunction"),
        pytest.param(("sqs", "SendMessage", {"QueueUrl": f"http://127.0.0.1:5000/{ACCOUNT}/dlq"}),
                     [("sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq", {})], id="sqs-send"),
        pytest.param(("sts", "GetCallerIdentity", {}), [], id="sts-identity-needs-nothing"),
        pytest.param(("ecr", "PutRegistryPolicy", {}), None, id="unknown-is-refused"),
    ],
)  # fmt: skip
def test_what_a_call_authorizes(call: tuple[str, str, dict[str, Any]], expected: Any) -> None:
    service, operation, params = call

    assert needs(service, operation, **params) == expected


def test_a_call_on_a_stack_carries_the_stacks_tags_and_its_own() -> None:
    """The `stack` resource type's condition key is aws:ResourceTag; UpdateStack takes aws:RequestTag
    and aws:TagKeys (Service Authorization Reference, CloudFormation)."""
    call = iam.Call("cloudformation", "UpdateStack", {"StackName": STACK, "Tags": [TAG]}, REGION, ACCOUNT)
    tags = {"ManagedBy": "AgentCorePlatformCLI", "Environment": "dev"}
    found = iam.needs(call, lambda name: name, lambda arn: tags if arn == STACK else None)
    stack_tags = {"aws:ResourceTag/ManagedBy": "AgentCorePlatformCLI", "aws:ResourceTag/Environment": "dev"}

    assert found is not None
    assert [(need.action, dict(need.context)) for need in found] == [
        ("cloudformation:UpdateStack", {**stack_tags, **REQUEST_TAGS}),
        (
            "cloudformation:TagResource",
            {**stack_tags, "cloudformation:CreateAction": "UpdateStack", **REQUEST_TAGS},
        ),
    ]
