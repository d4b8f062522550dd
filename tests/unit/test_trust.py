"""Who may assume a role, and on which stacks the service may act: the template's trust policies,
CloudFormation grants and dead-letter queue policy, evaluated as AWS evaluates them (patch 25,
local/iam.py), in moto where a service assumes a role or writes to a queue."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from functools import cache
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from local import emulator, iam
from local.emulator.access import _as_policy
from local.template import LocalTemplate, load

from tests.deployment import ROOT
from tests.unit.test_emulator import REGION, create_function, parameters, template

ACCOUNT = "123456789012"
CFN = "cloudformation.amazonaws.com"


@pytest.fixture
def enforced(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(emulator.options, "enforce_iam", True)
    yield


@cache
def deployed() -> LocalTemplate:
    """template.yaml as SAM translates it, resolved with the local parameters."""
    return LocalTemplate(load(ROOT / "template.yaml"))


def role_policies(role: str) -> list[dict[str, Any]]:
    return [dict(_as_policy(p["PolicyDocument"])) for p in deployed().properties(role).get("Policies", [])]


def make_role(name: str, trust: dict[str, Any], *policies: dict[str, Any]) -> str:
    client = boto3.client("iam", region_name=REGION)
    arn: str = client.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    for number, document in enumerate(policies):
        client.put_role_policy(RoleName=name, PolicyName=f"p{number}", PolicyDocument=json.dumps(document))
    return arn


def service_trust(service: str, **condition: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


# The CloudFormation service role's trust policy -------------------------------------------------


def stack_role_trust() -> dict[str, Any]:
    trust: dict[str, Any] = deployed().properties("CloudFormationServiceRole")["AssumeRolePolicyDocument"]
    return trust


def test_cloudformation_assumes_the_templates_service_role(enforced: None) -> None:
    """No document says CloudFormation sets aws:SourceAccount when it assumes a stack's role: the
    trust policy must hold without it. A positive StringEquals on it would fail every stack call."""
    role = make_role("stack-role", stack_role_trust(), *role_policies("CloudFormationServiceRole"))
    cfn = boto3.client("cloudformation", region_name=REGION)

    cfn.create_stack(
        StackName="agentcore-t-dev-ecr", TemplateBody=template(), Parameters=parameters(), RoleARN=role
    )

    assert (
        cfn.describe_stacks(StackName="agentcore-t-dev-ecr")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    )


def test_a_trust_policy_that_needs_aws_source_account_cannot_be_assumed_by_cloudformation(
    enforced: None,
) -> None:
    strict = copy.deepcopy(stack_role_trust())
    strict["Statement"][0]["Condition"] = {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    role = make_role("strict-stack-role", strict, *role_policies("CloudFormationServiceRole"))
    other = make_role("lambda-only", service_trust("lambda.amazonaws.com"))
    cfn = boto3.client("cloudformation", region_name=REGION)

    for refused in (role, other):
        with pytest.raises(ClientError) as raised:
            cfn.create_stack(StackName="agentcore-t-dev-ecr", TemplateBody=template(), RoleARN=refused,
                             Parameters=parameters())  # fmt: skip
        error = raised.value.response["Error"]
        assert error["Code"] == "ValidationError"
        assert error["Message"] == f"Role {refused} is invalid or cannot be assumed"
    assert cfn.list_stacks()["StackSummaries"] == []


def test_a_stack_keeps_its_role_and_its_role_is_assumed_again_on_update_and_delete(enforced: None) -> None:
    role = make_role("stack-role", stack_role_trust(), *role_policies("CloudFormationServiceRole"))
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_stack(
        StackName="agentcore-t-dev-ecr", TemplateBody=template(), Parameters=parameters(), RoleARN=role
    )
    strict = service_trust(CFN, StringEquals={"aws:SourceAccount": ACCOUNT})
    boto3.client("iam", region_name=REGION).update_assume_role_policy(
        RoleName="stack-role", PolicyDocument=json.dumps(strict)
    )

    with pytest.raises(ClientError, match="is invalid or cannot be assumed"):
        cfn.update_stack(
            StackName="agentcore-t-dev-ecr", TemplateBody=template(), Parameters=parameters(MaxImageCount="3")
        )
    with pytest.raises(ClientError, match="is invalid or cannot be assumed"):
        cfn.delete_stack(StackName="agentcore-t-dev-ecr")


def test_lambda_and_step_functions_assume_only_roles_that_trust_them(enforced: None) -> None:
    lam, sfn = boto3.client("lambda", region_name=REGION), boto3.client("stepfunctions", region_name=REGION)
    stack_only = make_role("cfn-only", service_trust(CFN))
    machine = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:wf"
    for_wf = make_role("for-wf", service_trust("states.amazonaws.com", ArnEquals={"aws:SourceArn": machine}))
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})

    with pytest.raises(ClientError) as function_refused:
        lam.create_function(FunctionName="f", Runtime="python3.13", Role=stack_only, Handler="h.h",
                            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18})  # fmt: skip
    with pytest.raises(ClientError) as machine_refused:
        sfn.create_state_machine(name="other", definition=definition, roleArn=for_wf)
    made = sfn.create_state_machine(name="wf", definition=definition, roleArn=for_wf)

    assert function_refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "cannot be assumed by Lambda" in function_refused.value.response["Error"]["Message"]
    assert machine_refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert made["stateMachineArn"] == machine


def test_every_role_of_the_template_trusts_the_service_that_uses_it() -> None:
    """Each function's role trusts Lambda, the workflow's Step Functions, the stacks' CloudFormation,
    with only the condition keys each service sends (patch 25's)."""
    template = deployed()
    users: dict[str, tuple[str, dict[str, str]]] = {
        template.properties(function)["Role"].rsplit("/", 1)[-1]: ("lambda.amazonaws.com", {})
        for function in template.functions()
    }
    users["RepositoryWorkflowRole"] = (
        "states.amazonaws.com",
        {"aws:SourceArn": template.ref("RepositoryWorkflow"), "aws:SourceAccount": ACCOUNT},
    )
    users["CloudFormationServiceRole"] = (CFN, {})
    roles = template.of_type("AWS::IAM::Role")

    assert set(users) == set(roles)
    for role, (service, context) in users.items():
        trust = template.properties(role)["AssumeRolePolicyDocument"]
        decision = iam.evaluate(
            [trust], "sts:AssumeRole", template.role_arn(role), context, principal=service
        )
        assert decision.allowed, role


# The functions' CloudFormation grants -------------------------------------------------------------

STACK_ARN = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{{}}/0a1b2c3d"
SERVICE_TAGS = {"ManagedBy": "agentcore-ecr", "Environment": "dev"}
CLI_TAGS = {"Name": "agent-a", "Environment": "dev", "ManagedBy": "AgentCorePlatformCLI"}


def decide(role: str, operation: str, stack: str, tags: dict[str, str] | None, **params: Any) -> bool:
    """Whether the role may make this CloudFormation call on `stack` (tagged `tags`; None: no such stack)."""
    arn = STACK_ARN.format(stack)
    call = iam.Call("cloudformation", operation, {"StackName": arn, **params}, REGION, ACCOUNT)
    found = iam.needs(call, lambda name: name, lambda asked: tags if asked == arn else None)
    assert found is not None
    policies = role_policies(role)
    return all(
        iam.evaluate(policies, n.action, n.resource, n.context).allowed
        for n in found
        if n.action != "iam:PassRole"
    )


def cloudformation_roles() -> list[str]:
    return sorted(
        role
        for role in deployed().of_type("AWS::IAM::Role")
        if any("cloudformation:" in json.dumps(policy) for policy in role_policies(role))
    )


SERVICE_REQUEST_TAGS = [{"Key": key, "Value": value} for key, value in SERVICE_TAGS.items()]


@pytest.mark.parametrize("own_stack", ["agentcore-ecr", "agentcore-ecr-local", "agentcore-registry"])
def test_no_function_may_change_or_read_the_services_own_stack(own_stack: str) -> None:
    """`stack/{prefix}-*` matched the service's own stack (`agentcore-ecr`) and any `agentcore-*`
    stack: each grant now names the repository stacks' form, `{prefix}-{slug}-{environment}-ecr`."""
    changes = ("UpdateStack", "DeleteStack", "ContinueUpdateRollback")
    for role in cloudformation_roles():
        for operation in changes:
            assert not decide(role, operation, own_stack, SERVICE_TAGS), (role, operation)
        assert not decide(role, "CreateStack", own_stack, None, Tags=SERVICE_REQUEST_TAGS), role
        if role != "RepairCatalogFunctionRole":  # it lists every stack: DescribeStacks on "*"
            assert not decide(role, "DescribeStacks", own_stack, SERVICE_TAGS), role


def test_the_stack_change_function_changes_repository_stacks_and_adopts_agentcore_clis() -> None:
    role, stack = "StartStackChangeFunctionRole", "agentcore-team-agent-a-dev-ecr"

    assert decide(role, "CreateStack", stack, None, Tags=SERVICE_REQUEST_TAGS)
    assert not decide(role, "CreateStack", stack, None)  # without the service's tag
    assert not decide(role, "CreateStack", stack, None, Tags=[{"Key": "ManagedBy", "Value": "other"}])
    for tags in (SERVICE_TAGS, CLI_TAGS, {}):  # the service's; agentcore-cli's (adoption); none
        assert decide(role, "UpdateStack", stack, tags, Tags=SERVICE_REQUEST_TAGS), tags
        assert decide(role, "DeleteStack", stack, tags), tags
        assert decide(role, "ContinueUpdateRollback", stack, tags), tags
    other = {"ManagedBy": "another-team"}
    assert not decide(role, "UpdateStack", stack, other, Tags=SERVICE_REQUEST_TAGS)
    assert not decide(role, "DeleteStack", stack, other)
    assert decide(role, "DescribeStacks", "agentcore-none-dev-ecr", None)  # "does not exist", not denied


def test_a_call_on_the_services_own_stack_is_refused_locally(enforced: None) -> None:
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_stack(StackName="agentcore-ecr", TemplateBody=template(), Parameters=parameters(),
                     Tags=SERVICE_REQUEST_TAGS)  # fmt: skip
    role = make_role("start-stack-change", service_trust("lambda.amazonaws.com"),
                     *role_policies("StartStackChangeFunctionRole"))  # fmt: skip
    credentials = boto3.client("sts", region_name=REGION).assume_role(RoleArn=role, RoleSessionName="fn")[
        "Credentials"
    ]
    as_function = boto3.client(
        "cloudformation",
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )

    with pytest.raises(ClientError) as raised:
        as_function.delete_stack(StackName="agentcore-ecr")

    assert raised.value.response["Error"]["Code"] == "AccessDenied"
    assert "cloudformation:DeleteStack" in raised.value.response["Error"]["Message"]
    assert cfn.describe_stacks(StackName="agentcore-ecr")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"


# The dead-letter queue's policy -------------------------------------------------------------------


def test_eventbridge_writes_to_the_dead_letter_queue_for_each_of_the_services_rules(
    enforced: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CloudFormation names the rules (`{stack}-{logical id}-{suffix}`, each part shortened to fit 64
    characters), so a policy that matches them by a name pattern may match none; locally a rule is
    named by its logical ID. The policy names them by ARN."""
    monkeypatch.setattr(emulator.options, "invoke_async", lambda name, payload, dead_letter: None)
    template = deployed()
    sqs, events = boto3.client("sqs", region_name=REGION), boto3.client("events", region_name=REGION)
    queue_url = sqs.create_queue(QueueName="ProvisioningDeadLetterQueue")["QueueUrl"]
    policy = template.properties("ProvisioningDeadLetterQueuePolicy")["PolicyDocument"]
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
    queue_arn = template.get_att("ProvisioningDeadLetterQueue", "Arn")
    function = create_function("no-permission")  # its resource policy lets no rule invoke it
    rules = template.rules()
    for bus in {rule.bus for rule in rules} - {"default"}:
        events.create_event_bus(Name=bus)
    for number, rule in enumerate(rules):
        events.put_rule(
            Name=rule.name, EventBusName=rule.bus, EventPattern=json.dumps({"source": [f"t.{number}"]})
        )
        target = {"Id": "f", "Arn": function, "DeadLetterConfig": {"Arn": queue_arn}}
        events.put_targets(Rule=rule.name, EventBusName=rule.bus, Targets=[target])
        entry = {"Source": f"t.{number}", "DetailType": "t", "Detail": "{}", "EventBusName": rule.bus}
        events.put_events(Entries=[entry])

    received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    rule_arns = {m["MessageAttributes"]["RULE_ARN"]["StringValue"] for m in received.get("Messages", [])}

    assert len(rules) == 3
    assert rule_arns == {template.get_att(rule.name, "Arn") for rule in rules}
