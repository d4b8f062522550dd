"""What template.yaml deploys, built in moto for the unit tests: functions, workflow, bus.

The state machine is the real ASL with its DefinitionSubstitutions taken from template.yaml, and
moto's Lambda invocations run the real handler named in the template, in this process. The rule
that brings CloudFormation's status events to StackStatusChangedFunction is the template's, on
the default bus, and its invocations (asynchronous, as EventBridge makes them) run in a thread.
"""

from __future__ import annotations

import copy
import importlib
import io
import json
import logging
import os
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from local.template import load

from agentcore_ecr import wiring
from agentcore_ecr.domain.models import Action, CreateRepositoryRequest, WorkflowInput
from agentcore_ecr.domain.naming import stack_name_for

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
RESULT_TYPES = ["Repository Operation Succeeded", "Repository Operation Failed"]
CATALOG_TABLE_NAME = "agentcore-ecr-catalog"
STACK_STATUS_RULE = "stack-status-changed"
PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "StackNamePrefix": "agentcore",
}


def resolve(node: Any) -> Any:
    """A value of the template with its `Ref`s and `Fn::Sub`s of pseudo parameters resolved."""
    if isinstance(node, dict) and set(node) == {"Ref"} and node["Ref"] in PSEUDO_PARAMETERS:
        return PSEUDO_PARAMETERS[node["Ref"]]
    if isinstance(node, dict) and set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
        text = node["Fn::Sub"]
        for name, value in PSEUDO_PARAMETERS.items():
            text = text.replace("${" + name + "}", value)
        return text
    if isinstance(node, dict):
        return {key: resolve(value) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(value) for value in node]
    return node


def workflow_definition(
    template: dict[str, Any],
    arns: dict[str, str],
    bus_name: str,
    pseudo_parameters: dict[str, str] = PSEUDO_PARAMETERS,
) -> str:
    """The ASL as CloudFormation gives it to Step Functions: the template's DefinitionSubstitutions
    resolved (functions' ARNs from `arns`, the bus's name, pseudo parameters such as the partition)."""
    workflow = template["Resources"]["RepositoryWorkflow"]["Properties"]
    definition: str = (ROOT / workflow["DefinitionUri"]).read_text()
    for key, value in workflow["DefinitionSubstitutions"].items():
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            resolved: str = arns[value["Fn::GetAtt"][0]]
        elif value == {"Ref": "EventBus"}:
            resolved = bus_name
        elif isinstance(value, dict) and value.get("Ref") in pseudo_parameters:
            resolved = pseudo_parameters[str(value["Ref"])]
        else:
            raise AssertionError(f"unexpected substitution {key}: {value}")
        definition = definition.replace("${" + key + "}", resolved)
    assert "${" not in definition, "every substitution of the ASL comes from the template"
    return definition


def load_template(path: Path = ROOT / "template.yaml") -> dict[str, Any]:
    """The template with intrinsics in their long form ({"Ref": ...}, {"Fn::Sub": ...})."""
    return load(path)


def functions(template: dict[str, Any]) -> dict[str, str]:
    """Logical id -> handler, for every function of the template."""
    return {
        logical_id: resource["Properties"]["Handler"]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return event


@dataclass
class FakeContext:
    function_name: str
    memory_limit_in_mb: int = 256
    aws_request_id: str = "00000000-0000-4000-8000-000000000000"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def run_handler(handler_path: str, event: dict[str, Any], function_name: str) -> Any:
    module_name, _, attribute = handler_path.rpartition(".")
    handler = getattr(importlib.import_module(module_name), attribute)
    return handler(event, FakeContext(function_name=function_name, aws_request_id=str(uuid.uuid4())))


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: Any


class Deployment:
    def __init__(self, template: dict[str, Any]) -> None:
        self.template = template
        self.handlers = functions(template)
        self.region = "us-east-1"
        self.sfn = boto3.client("stepfunctions", region_name=self.region)
        self.sqs = boto3.client("sqs", region_name=self.region)
        self.events = boto3.client("events", region_name=self.region)
        self.ecr = boto3.client("ecr", region_name=self.region)
        self.cfn = boto3.client("cloudformation", region_name=self.region)
        self.state_machine_arn = ""
        self.results_queue_url = ""
        self._async: list[threading.Thread] = []
        self.async_results: list[tuple[str, Any]] = []  # (function, what its handler returned)

    # Setup ------------------------------------------------------------------------------

    def deploy(self, bus_name: str) -> None:
        iam = boto3.client("iam", region_name=self.region)
        role = iam.create_role(RoleName="agentcore-ecr-test", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        self.create_cloudformation_role(iam)
        lam = boto3.client("lambda", region_name=self.region)
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.writestr("placeholder.py", "")
        arns = {}
        for logical_id, handler in self.handlers.items():
            arns[logical_id] = lam.create_function(
                FunctionName=logical_id,
                Runtime="python3.13",
                Role=role,
                Handler=handler,
                Code={"ZipFile": code.getvalue()},
            )["FunctionArn"]
        self.create_catalog()
        self.events.create_event_bus(Name=bus_name)
        self.results_queue_url = self.sqs.create_queue(QueueName="results")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(
            QueueUrl=self.results_queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        self.events.put_rule(
            Name="results",
            EventBusName=bus_name,
            EventPattern=json.dumps({"source": ["agentcore.ecr"], "detail-type": RESULT_TYPES}),
        )
        self.events.put_targets(
            Rule="results", EventBusName=bus_name, Targets=[{"Id": "queue", "Arn": queue_arn}]
        )
        self.deploy_stack_status_rule(arns["StackStatusChangedFunction"])
        definition = workflow_definition(self.template, arns, bus_name)
        self.state_machine_arn = self.sfn.create_state_machine(
            name="agentcore-ecr-repository-workflow", definition=definition, roleArn=role
        )["stateMachineArn"]

    def create_cloudformation_role(self, iam: Any) -> None:
        """The template's CloudFormationServiceRole, under the name the functions' environment gives
        StartStackChangeFunction (CLOUDFORMATION_ROLE_ARN): the role the repository stacks are made
        with, which matters where a test has the emulator enforce IAM."""
        properties = self.template["Resources"]["CloudFormationServiceRole"]["Properties"]
        name = os.environ["CLOUDFORMATION_ROLE_ARN"].rsplit("/", 1)[-1]
        trust = resolve(properties["AssumeRolePolicyDocument"])
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
        for policy in properties["Policies"]:
            document = json.dumps(resolve(policy["PolicyDocument"]))
            iam.put_role_policy(RoleName=name, PolicyName=policy["PolicyName"], PolicyDocument=document)

    def deploy_stack_status_rule(self, function_arn: str) -> None:
        function = self.template["Resources"]["StackStatusChangedFunction"]["Properties"]
        pattern = resolve(function["Events"]["StackStatusChanged"]["Properties"]["Pattern"])
        self.events.put_rule(Name=STACK_STATUS_RULE, EventPattern=json.dumps(pattern))
        self.events.put_targets(Rule=STACK_STATUS_RULE, Targets=[{"Id": "function", "Arn": function_arn}])

    def invoke_async(self, function: str, payload: bytes, dead_letter_arn: str | None) -> None:
        """EventBridge's invocation of a Lambda target: the handler, in a thread of its own."""

        def run() -> None:
            try:
                self.async_results.append(
                    (function, run_handler(self.handlers[function], json.loads(payload), function))
                )
            except Exception:  # Lambda would retry; the waiting execution polls anyway
                logging.getLogger(__name__).exception("%s failed on an event", function)

        thread = threading.Thread(target=run, name=f"async-{function}", daemon=True)
        self._async.append(thread)
        thread.start()

    def drain(self, timeout: float = 10) -> None:
        """Wait for the asynchronous invocations under way."""
        for thread in self._async:
            thread.join(timeout)
        self._async.clear()

    def create_catalog(self) -> None:
        """The catalog table with the template's keys and indexes."""
        table = self.template["Resources"]["Catalog"]["Properties"]
        boto3.client("dynamodb", region_name=self.region).create_table(
            TableName=CATALOG_TABLE_NAME,
            **{
                key: table[key]
                for key in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")
            },
        )

    def catalog_item(self, name: str) -> dict[str, Any] | None:
        client = boto3.client("dynamodb", region_name=self.region)
        item: dict[str, Any] | None = client.get_item(
            TableName=CATALOG_TABLE_NAME, Key={"name": {"S": name}}, ConsistentRead=True
        ).get("Item")
        return item

    def invoke_from_workflow(
        self,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: dict[str, str],
    ) -> bytes:
        """moto's Lambda invoke, handed to the real handler."""
        logical_id = function_name.rsplit(":", 1)[-1]
        try:
            result = run_handler(self.handlers[logical_id], json.loads(body or "{}"), logical_id)
        except Exception as error:  # noqa: BLE001 - reported the way Lambda reports it
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": type(error).__name__, "errorMessage": str(error)}).encode()
        return json.dumps(result).encode()

    # Use --------------------------------------------------------------------------------

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        """Run a function's handler on an event, as Lambda would."""
        return run_handler(self.handlers[logical_id], copy.deepcopy(event), logical_id)

    def call(self, logical_id: str, event: dict[str, Any]) -> ApiResponse:
        response = run_handler(self.handlers[logical_id], copy.deepcopy(event), logical_id)
        body = json.loads(response["body"]) if response.get("body") else None
        headers = dict(response.get("headers") or {})
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers[name] = ",".join(values)
        return ApiResponse(status=response["statusCode"], headers=headers, body=body)

    def execution_arn(self, operation_id: str) -> str:
        head, _, machine = self.state_machine_arn.rpartition(":stateMachine:")
        return f"{head}:execution:{machine}:{operation_id}"

    def reset_wiring(self) -> None:
        """Re-read the environment (after a test changed a setting)."""
        wiring.reset()

    def start_workflow(self, request: dict[str, Any]) -> dict[str, Any]:
        """Start a CREATE execution directly (past the API's checks) and wait for its end."""
        settings = CreateRepositoryRequest.model_validate(request)
        settings = settings.model_copy(update={"encryption": settings.encryption or "KMS"})
        operation_id = str(uuid.uuid4())
        workflow = WorkflowInput(
            operation_id=operation_id,
            action=Action.CREATE,
            repository_name=settings.name,
            environment=settings.environment,
            stack_name=stack_name_for("agentcore", settings.name, settings.environment),
            fingerprint="direct",
            settings=settings,
        )
        self.sfn.start_execution(
            stateMachineArn=self.state_machine_arn,
            name=operation_id,
            input=json.dumps(workflow.to_json_dict()),
        )
        return self.wait(operation_id)

    def wait(self, operation_id: str, timeout: float = 60) -> dict[str, Any]:
        arn = self.execution_arn(operation_id)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            execution: dict[str, Any] = self.sfn.describe_execution(executionArn=arn)
            if execution["status"] != "RUNNING":
                return execution
            time.sleep(0.05)
        raise AssertionError(f"execution {operation_id} still running after {timeout}s")

    def result_events(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for _ in range(100):  # a bound: a test emits a handful of result events
            messages = self.sqs.receive_message(
                QueueUrl=self.results_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.results_queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        raise AssertionError("the results queue never ran dry")
