"""Every event a function is given, in the shape AWS gives it: the events/ files and the events the
local stack builds (its gateway's proxy events, the EventBridge envelopes it delivers, and the
CloudFormation and Step Functions status events it announces), read with Powertools' parser models
for their source and the service's own models of the `detail`.

A field AWS always sends is required here even where the models let it be missing (Powertools'
models are lenient where API Gateway's test console is): a handler tried on an event without it
would pass locally and could fail on AWS.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel, EventBridgeModel
from local import emulator
from local.emulator import access, stack_events
from local.gateway import proxy_event
from local.template import LocalTemplate

from agentcore_ecr.domain.models import ExecutionStatusChange, StackStatusChange
from tests.deployment import EVENTS, load_template

REGION = "us-east-1"
# API Gateway Developer Guide, "Input format of a Lambda function for proxy integration" (REST API).
PROXY_FIELDS = {
    "resource",
    "path",
    "httpMethod",
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "pathParameters",
    "stageVariables",
    "requestContext",
    "body",
    "isBase64Encoded",
}
REQUEST_CONTEXT_FIELDS = {
    "accountId",
    "apiId",
    "domainName",
    "domainPrefix",
    "extendedRequestId",
    "httpMethod",
    "identity",
    "path",
    "protocol",
    "requestId",
    "requestTime",
    "requestTimeEpoch",
    "resourceId",
    "resourcePath",
    "stage",
}
IDENTITY_FIELDS = {
    "accessKey",
    "accountId",
    "caller",
    "cognitoAuthenticationProvider",
    "cognitoAuthenticationType",
    "cognitoIdentityId",
    "cognitoIdentityPoolId",
    "principalOrgId",
    "sourceIp",
    "user",
    "userAgent",
    "userArn",
}
# EventBridge User Guide, "Amazon EventBridge events": the envelope of every event.
ENVELOPE_FIELDS = {
    "version",
    "id",
    "detail-type",
    "source",
    "account",
    "time",
    "region",
    "resources",
    "detail",
}
# EventBridge event reference, "Step Functions Execution Status Change" (its sample event).
EXECUTION_DETAIL_FIELDS = {
    "executionArn",
    "stateMachineArn",
    "name",
    "status",
    "startDate",
    "stopDate",
    "input",
    "output",
    "inputDetails",
    "outputDetails",
    "error",
    "cause",
}
# CloudFormation User Guide, "Stack Status Change event detail".
STACK_DETAIL_FIELDS = {"stack-id", "status-details", "client-request-token"}
ISO_TIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"
CLF_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
CLF_TIME = r"^\d{2}/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/\d{4}:\d{2}:\d{2}:\d{2} \+0000$"


def assert_proxy_event(event: dict[str, Any]) -> None:
    parsed = APIGatewayProxyEventModel.model_validate(event)
    context = event["requestContext"]

    assert set(event) == PROXY_FIELDS
    assert set(context) >= REQUEST_CONTEXT_FIELDS, REQUEST_CONTEXT_FIELDS - set(context)
    assert set(context["identity"]) >= IDENTITY_FIELDS, IDENTITY_FIELDS - set(context["identity"])
    assert context["domainPrefix"] == context["domainName"].split(".", 1)[0]
    assert context["path"] == f"/{context['stage']}{event['path']}"
    assert context["resourcePath"] == event["resource"]
    assert re.fullmatch(CLF_TIME, parsed.requestContext.requestTime)
    epoch = time.gmtime(context["requestTimeEpoch"] // 1000)  # the same moment, in the same UTC
    assert parsed.requestContext.requestTime.replace(CLF_MONTHS[epoch.tm_mon - 1], f"{epoch.tm_mon:02}") == (
        time.strftime("%d/%m/%Y:%H:%M:%S +0000", epoch)
    )


def assert_envelope(event: dict[str, Any]) -> EventBridgeModel:
    assert set(event) == ENVELOPE_FIELDS, set(event) ^ ENVELOPE_FIELDS
    assert re.fullmatch(ISO_TIME, event["time"]), event["time"]  # not a Unix timestamp
    envelope = EventBridgeModel.model_validate(event)
    assert envelope.account.isdigit() and len(envelope.account) == 12
    assert isinstance(envelope.detail, dict)
    return envelope


def assert_execution_status_event(event: dict[str, Any]) -> None:
    envelope = assert_envelope(event)
    assert (envelope.source, envelope.detail_type) == ("aws.states", "Step Functions Execution Status Change")
    assert set(event["detail"]) == EXECUTION_DETAIL_FIELDS
    detail = ExecutionStatusChange.model_validate(envelope.detail)
    assert envelope.resources == [detail.execution_arn]


def assert_stack_status_event(event: dict[str, Any]) -> None:
    envelope = assert_envelope(event)
    assert (envelope.source, envelope.detail_type) == (
        "aws.cloudformation",
        "CloudFormation Stack Status Change",
    )
    assert set(event["detail"]) == STACK_DETAIL_FIELDS
    assert set(event["detail"]["status-details"]) == {"status", "status-reason"}
    detail = StackStatusChange.model_validate(envelope.detail)
    assert envelope.resources == [detail.stack_id]


def kind_of(event: dict[str, Any]) -> str:
    if "httpMethod" in event:
        return "api"
    if "detail-type" in event:
        return str(event["source"])
    return "direct"  # the workflow's task input, or an operator's invocation: no AWS envelope


SAMPLES = sorted(EVENTS.glob("*.json"))


@pytest.mark.parametrize("path", SAMPLES, ids=[path.stem for path in SAMPLES])
def test_every_sample_event_has_the_shape_its_source_gives(path: Path) -> None:
    event = json.loads(path.read_text())
    kind = kind_of(event)

    if kind == "api":
        assert_proxy_event(event)
    elif kind == "aws.states":
        assert_execution_status_event(event)
    elif kind == "aws.cloudformation":
        assert_stack_status_event(event)
    elif kind == "agentcore.ecr":
        assert_envelope(event)
    else:
        assert kind == "direct"
        assert path.stem in {
            "start_stack_change_create",
            "start_stack_change_delete_force",
            "check_stack",
            "await_stack",
            "finalize_operation_succeeded",
            "finalize_operation_failed",
            "repair_catalog",
        }


def test_every_source_has_a_sample() -> None:
    kinds = {kind_of(json.loads(path.read_text())) for path in SAMPLES}

    assert kinds == {"api", "aws.states", "aws.cloudformation", "agentcore.ecr", "direct"}


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
def test_the_local_gateway_builds_the_proxy_event_api_gateway_sends(signed: bool) -> None:
    routes = {(route.method, route.path): route for route in LocalTemplate(load_template()).routes()}
    route = routes[("GET", "/repositories/{name+}")]
    headers = [("Host", "127.0.0.1:5000"), ("User-Agent", "test"), ("Accept", "application/json")]
    caller = None
    if signed:
        authorization = "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261127/us-east-1/execute-api/aws4_request"
        headers.append(("Authorization", f"{authorization}, SignedHeaders=host, Signature=0"))
        caller = access.Principal(
            "arn:aws:iam::123456789012:user/platform", "123456789012", user_name="platform"
        )

    event = proxy_event(
        route, "GET", "/repositories/team/agent-a?x=1", headers, b"", "127.0.0.1", "v1", caller
    )

    assert_proxy_event(event)
    assert event["pathParameters"] == {"name": "team/agent-a"}
    assert event["requestContext"]["domainName"] == "127.0.0.1"
    identity = event["requestContext"]["identity"]
    if signed:
        assert identity["accessKey"] == "AKIAEXAMPLE"
        assert identity["userArn"] == "arn:aws:iam::123456789012:user/platform"
    else:
        assert identity["accessKey"] is None and identity["userArn"] is None


@pytest.fixture
def delivered(aws: None, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every event the emulator's EventBridge hands a Lambda target on the default bus."""
    from tests.unit.test_emulator import create_function  # noqa: PLC0415

    payloads: list[dict[str, Any]] = []
    monkeypatch.setattr(
        emulator.options, "invoke_async", lambda _name, payload, _queue: payloads.append(json.loads(payload))
    )
    events = boto3.client("events", region_name=REGION)
    events.put_rule(
        Name="everything",
        EventPattern=json.dumps({"source": ["aws.states", "aws.cloudformation", "agentcore.ecr"]}),
    )
    events.put_targets(Rule="everything", Targets=[{"Id": "capture", "Arn": create_function("capture")}])
    return payloads


def wait_for(payloads: list[dict[str, Any]], found: Any, timeout: float = 10) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while not found(payloads):
        assert time.monotonic() < deadline, f"not delivered in {timeout} s: {payloads}"
        time.sleep(0.02)
    return list(payloads)


def test_the_local_stack_delivers_eventbridge_envelopes(delivered: list[dict[str, Any]]) -> None:
    boto3.client("events", region_name=REGION).put_events(
        Entries=[
            {"Source": "agentcore.ecr", "DetailType": "Repository Provisioning Requested", "Detail": "{}"}
        ]
    )

    (event,) = wait_for(delivered, lambda found: len(found) == 1)
    envelope = assert_envelope(event)
    assert (envelope.region, envelope.resources) == (REGION, [])


def test_the_local_stack_announces_step_functions_status_events(delivered: list[dict[str, Any]]) -> None:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="machine", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
    machine = sfn.create_state_machine(name="machine", definition=json.dumps(definition), roleArn=role)[
        "stateMachineArn"
    ]
    sfn.start_execution(stateMachineArn=machine, name="one", input="{}")

    found = wait_for(delivered, lambda events: any(e["detail"]["status"] == "SUCCEEDED" for e in events))

    assert [event["detail"]["status"] for event in found] == ["RUNNING", "SUCCEEDED"]
    for event in found:
        assert_execution_status_event(event)


def test_the_local_stack_announces_cloudformation_status_events(delivered: list[dict[str, Any]]) -> None:
    cfn = boto3.client("cloudformation", region_name=REGION)
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
    cfn.create_stack(
        StackName="agentcore-shape-dev-ecr", TemplateBody=json.dumps(template), ClientRequestToken="t-1"
    )

    found = wait_for(
        delivered,
        lambda events: any(e["detail"]["status-details"]["status"] == "CREATE_COMPLETE" for e in events),
    )
    stack_events.cancel()

    assert found
    for event in found:
        assert_stack_status_event(event)
        assert event["detail"]["client-request-token"] == "t-1"
