"""template.yaml and samconfig.toml read against AWS's documented rules (each test names the rule),
for the settings a first deployment would otherwise get wrong."""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

import pytest
from cfnlint.schema.manager import PROVIDER_SCHEMA_MANAGER
from local.gateway import INTEGRATION_TIMEOUT_SECONDS
from local.template import LocalTemplate

from agentcore_ecr.aws.clients import client, worst_case_seconds
from agentcore_ecr.openapi import document
from tests.deployment import PSEUDO_PARAMETERS, ROOT, load_template, workflow_definition
from tests.deployment import functions as functions_of

LAMBDA_LOG_LEVELS = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}  # Lambda API: LoggingConfig


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def local() -> LocalTemplate:
    return LocalTemplate(load_template())


@pytest.fixture(scope="module")
def translated(local: LocalTemplate) -> dict[str, Any]:
    return local.translated


def test_api_gateway_invokes_the_functions_under_their_resource_policies(translated: dict[str, Any]) -> None:
    """SAM's default InvokeRole for AWS_IAM is CALLER_CREDENTIALS (integration credentials
    `arn:aws:iam::*:user/*`): every route would run as the caller, who has no lambda:InvokeFunction."""
    body = translated["Resources"]["Api"]["Properties"]["Body"]
    integrations = [
        operation["x-amazon-apigateway-integration"]
        for methods in body["paths"].values()
        for operation in methods.values()
    ]

    assert len(integrations) == 8
    assert all("credentials" not in integration for integration in integrations)
    permissions = [r for r in translated["Resources"].values() if r["Type"] == "AWS::Lambda::Permission"]
    assert sum(p["Properties"]["Principal"] == "apigateway.amazonaws.com" for p in permissions) == 8


def test_the_cloudformation_role_has_exactly_the_repository_handlers_permissions(
    template: dict[str, Any],
) -> None:
    """CloudFormation calls the AWS::ECR::Repository handlers with the service role: the schema's
    create, read, update, delete and list permissions, and nothing more."""
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", "AWS::ECR::Repository").schema
    needed = {p for handler in schema["handlers"].values() for p in handler["permissions"]}
    statements = template["Resources"]["CloudFormationServiceRole"]["Properties"]["Policies"][0][
        "PolicyDocument"
    ]["Statement"]
    granted = {action for statement in statements for action in statement["Action"]}

    assert granted == needed
    (kms,) = [statement for statement in statements if statement["Action"][0].startswith("kms:")]
    assert kms["Condition"] == {
        "StringEquals": {"kms:ViaService": {"Fn::Sub": "ecr.${AWS::Region}.amazonaws.com"}}
    }


def test_log_level_is_lambdas_application_log_level(template: dict[str, Any]) -> None:
    """Under the JSON log format, Lambda's ApplicationLogLevel (AWS_LAMBDA_LOG_LEVEL) wins over
    POWERTOOLS_LOG_LEVEL (Powertools for AWS Lambda, Logger: "AWS Lambda Advanced Logging Controls")."""
    logging_config = template["Globals"]["Function"]["LoggingConfig"]

    assert logging_config["LogFormat"] == "JSON"
    assert logging_config["ApplicationLogLevel"] == {"Ref": "LogLevel"}
    assert set(template["Parameters"]["LogLevel"]["AllowedValues"]) <= LAMBDA_LOG_LEVELS


def test_every_log_group_has_the_retention_parameter(template: dict[str, Any]) -> None:
    """Lambda's own /aws/lambda/<name> groups keep logs for ever: the functions log to a group of
    the stack instead (Lambda Developer Guide, "Configuring CloudWatch log groups": one group may
    serve several functions, each stream is named after its function)."""
    groups = {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Logs::LogGroup"
    }

    assert set(groups) == {"FunctionLogGroup", "ApiAccessLogGroup", "WorkflowLogGroup"}
    assert all(
        group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"} for group in groups.values()
    )
    assert template["Globals"]["Function"]["LoggingConfig"]["LogGroup"] == {"Ref": "FunctionLogGroup"}
    assert not any(  # Lambda refuses custom log group names that begin with aws/
        group["Properties"]["LogGroupName"]["Fn::Sub"].lstrip("/").startswith("aws/lambda")
        for group in groups.values()
    )


@pytest.mark.parametrize(("reserved", "expected"), [(None, None), ("10", 10), ("25", 25), ("0", None)])
def test_each_function_reserves_the_parameters_concurrency(
    reserved: str | None, expected: int | None
) -> None:
    """ReservedConcurrentExecutions 0 would throttle every invocation: the parameter's 0 means
    no reservation at all. It is the default: Lambda keeps 100 of the account's concurrency
    unreserved, so 15 functions reserving N need a quota of 15 x N + 100, which a new account
    (whose quota can be 10) lacks (tests/unit/test_emulator_concurrency.py deploys them)."""
    local = LocalTemplate(
        load_template(), overrides={} if reserved is None else {"FunctionReservedConcurrency": reserved}
    )

    settings = {
        function: local.properties(function).get("ReservedConcurrentExecutions")
        for function in local.functions()
    }

    assert len(settings) == 15  # every function of the template
    assert all((value if value is None else int(value)) == expected for value in settings.values())


def test_the_api_writes_json_access_logs_naming_the_caller(translated: dict[str, Any]) -> None:
    (stage,) = [r for r in translated["Resources"].values() if r["Type"] == "AWS::ApiGateway::Stage"]
    setting = stage["Properties"]["AccessLogSetting"]
    fields = json.loads(setting["Format"])

    # The log group's own ARN: GetAtt's Arn ends in ":*", the ARN of its streams
    assert setting["DestinationArn"]["Fn::Sub"].endswith(":log-group:${ApiAccessLogGroup}")
    assert fields["userArn"] == "$context.identity.userArn"
    assert fields["caller"] == "$context.identity.caller"
    assert {"requestId", "httpMethod", "resourcePath", "status", "sourceIp", "errorType"} <= set(fields)
    assert not any("header" in value or "body" in value for value in fields.values())


def test_only_asynchronously_invoked_functions_have_a_dead_letter_queue(translated: dict[str, Any]) -> None:
    """API Gateway and the workflow invoke synchronously; EventBridge invokes the intake,
    OperationStoppedFunction and StackStatusChangedFunction asynchronously, and Lambda sends an
    event that failed its retries to the queue."""
    functions = {n: r for n, r in translated["Resources"].items() if r["Type"] == "AWS::Lambda::Function"}

    with_queue = {
        name for name, function in functions.items() if "DeadLetterConfig" in function["Properties"]
    }

    assert with_queue == {
        "ProvisioningIntakeFunction",
        "OperationStoppedFunction",
        "StackStatusChangedFunction",
    }


def test_every_checkov_suppression_says_why(template: dict[str, Any]) -> None:
    skips = [
        (name, skip)
        for name, resource in template["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]

    assert skips
    assert all(re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]) for _, skip in skips)
    assert all(len(skip.get("comment", "")) > 40 for _, skip in skips), "a reviewer needs the reason"


ACCESS_DENIED_TYPES = [
    "ACCESS_DENIED",
    "INVALID_SIGNATURE",
    "EXPIRED_TOKEN",
    "UNAUTHORIZED",
    "MISSING_AUTHENTICATION_TOKEN",
]


@pytest.mark.parametrize("kind", ACCESS_DENIED_TYPES)
def test_signature_and_authorization_failures_answer_access_denied(
    template: dict[str, Any], kind: str
) -> None:
    response = template["Resources"]["Api"]["Properties"]["GatewayResponses"][kind]
    body = json.loads(
        response["ResponseTemplates"]["application/json"].replace("$context.error.messageString", '"m"')
    )

    assert response["StatusCode"] == "403"
    assert body["error"]["code"] == "AccessDenied"


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("REQUEST_TOO_LARGE", "413", "PayloadTooLarge"),
        ("UNSUPPORTED_MEDIA_TYPE", "415", "UnsupportedMediaType"),
    ],
)
def test_the_gateways_own_4xx_use_the_contracts_codes(
    template: dict[str, Any], kind: str, status: str, code: str
) -> None:
    response = template["Resources"]["Api"]["Properties"]["GatewayResponses"][kind]

    assert response["StatusCode"] == status
    assert json.loads(response["ResponseTemplates"]["application/json"])["error"]["code"] == code


def test_every_operation_documents_403() -> None:
    operations = [operation for methods in document()["paths"].values() for operation in methods.values()]

    assert len(operations) == 8
    assert all("403" in operation["responses"] for operation in operations)


def test_the_two_profiles_can_share_an_account_and_region() -> None:
    """Names an account and region hold once: the stack, its event bus, the artifact prefix, and
    the repository stacks' prefix (neither may read the other's `{prefix}-...` stacks)."""
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())

    def setting(profile: str) -> dict[str, str]:
        deploy = config[profile]["deploy"]["parameters"]
        overrides = dict(item.split("=", 1) for item in deploy["parameter_overrides"].split())
        return {
            "stack": config[profile]["global"]["parameters"]["stack_name"],
            "s3_prefix": deploy["s3_prefix"],
            "bus": overrides["EventBusName"],
            "prefix": overrides["StackNamePrefix"],
        }

    default, prod = setting("default"), setting("prod")

    assert all(default[key] != prod[key] for key in default)
    assert not default["prefix"].startswith(prod["prefix"] + "-")
    assert not prod["prefix"].startswith(default["prefix"] + "-")


def test_allowed_environments_have_no_dash(template: dict[str, Any]) -> None:
    pattern = template["Parameters"]["AllowedEnvironments"]["AllowedPattern"]

    assert re.fullmatch(pattern, "dev,staging,prod")
    assert not re.fullmatch(pattern, "dev,pre-prod")


@pytest.mark.parametrize("function", ["StartStackChangeFunction", "CheckStackFunction"])
def test_the_waiting_steps_get_the_poll_interval_and_the_timeout(
    template: dict[str, Any], function: str
) -> None:
    """The first wait comes from StartStackChange, every next one from CheckStack: both need the
    interval (a step without it would fail, not wait a default)."""
    variables = template["Resources"][function]["Properties"]["Environment"]["Variables"]

    assert variables["STACK_POLL_INTERVAL_SECONDS"] == {"Ref": "StackPollIntervalSeconds"}
    assert variables["STACK_TIMEOUT_MINUTES"] == {"Ref": "StackTimeoutMinutes"}


ALARM_TOPIC = {"Fn::If": ["CreateAlarmTopic", {"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}]}


def _alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }


def test_every_alarm_notifies_the_alarm_topic_going_into_alarm_and_back(template: dict[str, Any]) -> None:
    """An alarm without AlarmActions changes state in the console and tells nobody."""
    alarms = _alarms(template)

    assert alarms
    assert all(alarm.get("AlarmActions") == [ALARM_TOPIC] for alarm in alarms.values())
    assert all(alarm.get("OKActions") == [ALARM_TOPIC] for alarm in alarms.values())
    topic = template["Resources"]["AlarmTopic"]
    assert topic["Condition"] == "CreateAlarmTopic"
    assert template["Conditions"]["CreateAlarmTopic"] == {"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}
    subscription = template["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "SubscribeAlarmEmail"
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "AlarmTopic"},
        "Protocol": "email",
        "Endpoint": {"Ref": "AlarmEmail"},
    }


def _watched(alarms: dict[str, dict[str, Any]], namespace: str, metric: str) -> list[dict[str, Any]]:
    return [
        {dimension["Name"]: dimension["Value"] for dimension in alarm["Dimensions"]}
        for alarm in alarms.values()
        if alarm["Namespace"] == namespace and alarm["MetricName"] == metric
    ]


def test_every_dead_letter_queue_has_an_alarm_on_its_first_message(
    template: dict[str, Any], translated: dict[str, Any]
) -> None:
    """Every queue a function or a rule target sends its failures to."""
    queues = {
        reference["Fn::GetAtt"][0]
        for resource in translated["Resources"].values()
        for reference in [
            resource["Properties"].get("DeadLetterConfig", {}).get("TargetArn"),
            *(
                target.get("DeadLetterConfig", {}).get("Arn")
                for target in resource["Properties"].get("Targets", [])
            ),
        ]
        if isinstance(reference, dict) and "Fn::GetAtt" in reference
    }
    alarms = _alarms(template)

    assert queues == {"ProvisioningDeadLetterQueue"}
    watched = _watched(alarms, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert sorted(dimensions["QueueName"]["Fn::GetAtt"][0] for dimensions in watched) == sorted(queues)
    assert all(
        alarm["Threshold"] == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"
        for alarm in alarms.values()
        if alarm["Namespace"] == "AWS/SQS"
    )


@pytest.mark.parametrize("metric", ["ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"])
def test_operations_that_end_other_than_succeeded_raise_an_alarm(
    template: dict[str, Any], metric: str
) -> None:
    assert _watched(_alarms(template), "AWS/States", metric) == [
        {"StateMachineArn": {"Ref": "RepositoryWorkflow"}}
    ]


def test_the_apis_5xx_raise_an_alarm(template: dict[str, Any], translated: dict[str, Any]) -> None:
    """API Gateway's REST metrics have the dimensions ApiName and Stage (API Gateway Developer
    Guide, "Amazon API Gateway dimensions and metrics"): the API's name is the stack's."""
    (watched,) = _watched(_alarms(template), "AWS/ApiGateway", "5XXError")
    (stage,) = [n for n, r in translated["Resources"].items() if r["Type"] == "AWS::ApiGateway::Stage"]

    assert template["Resources"]["Api"]["Properties"]["Name"] == {"Ref": "AWS::StackName"}
    assert watched["ApiName"] == {"Ref": "AWS::StackName"}
    assert watched["Stage"] == {"Ref": "Api.Stage"}
    assert translated["Resources"][stage]["Properties"]["StageName"] == "v1"


def test_every_function_has_a_throttles_alarm(template: dict[str, Any]) -> None:
    functions = [n for n, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"]

    watched = _watched(_alarms(template), "AWS/Lambda", "Throttles")

    assert len(functions) == 15
    assert sorted(dimensions["FunctionName"]["Ref"] for dimensions in watched) == sorted(functions)


@pytest.mark.parametrize("resource", ["Catalog", "CloudFormationServiceRole"])
def test_the_catalog_and_the_service_role_outlive_the_stack(template: dict[str, Any], resource: str) -> None:
    """Deleting the service's stack must not take the catalog, nor the role every repository stack
    changes under (a stack whose role is gone can be neither updated nor deleted). With no fixed
    name, a stack made again under the same name makes its own and does not collide with them."""
    declared = template["Resources"][resource]

    assert declared["DeletionPolicy"] == "Retain"
    assert declared["UpdateReplacePolicy"] == "Retain"
    assert not {"TableName", "RoleName"} & set(declared["Properties"])


def test_the_stage_throttles_every_method_with_the_parameters(template: dict[str, Any]) -> None:
    """Without MethodSettings a stage takes up to the account's 10,000 requests a second (5,000
    burst), far beyond what the functions' concurrency serves."""
    local = LocalTemplate(load_template())
    (stage,) = local.of_type("AWS::ApiGateway::Stage")
    (setting,) = local.properties(stage)["MethodSettings"]
    parameters = template["Parameters"]

    assert setting["ResourcePath"] == "/*"
    assert setting["HttpMethod"] == "*"
    assert int(setting["ThrottlingRateLimit"]) == parameters["ApiThrottlingRateLimit"]["Default"]
    assert int(setting["ThrottlingBurstLimit"]) == parameters["ApiThrottlingBurstLimit"]["Default"]
    assert (
        1
        <= parameters["ApiThrottlingRateLimit"]["Default"]
        <= parameters["ApiThrottlingRateLimit"]["MaxValue"]
    )
    assert parameters["ApiThrottlingRateLimit"]["MaxValue"] == 10000
    assert parameters["ApiThrottlingBurstLimit"]["MaxValue"] == 5000
    local = LocalTemplate(
        load_template(), overrides={"ApiThrottlingRateLimit": "7", "ApiThrottlingBurstLimit": "9"}
    )
    (setting,) = local.properties(stage)["MethodSettings"]
    assert (setting["ThrottlingRateLimit"], setting["ThrottlingBurstLimit"]) == ("7", "9")


def test_an_integration_timeout_answers_504_in_the_contracts_shape(template: dict[str, Any]) -> None:
    response = template["Resources"]["Api"]["Properties"]["GatewayResponses"]["INTEGRATION_TIMEOUT"]
    body = json.loads(response["ResponseTemplates"]["application/json"])

    assert response["StatusCode"] == "504"
    assert body["error"]["code"] == "Internal"
    assert body["error"]["message"].startswith("The request took too long;")


def test_every_function_behind_the_api_ends_before_the_integration_timeout(
    local: LocalTemplate, translated: dict[str, Any]
) -> None:
    """API Gateway waits 29 s for a REST API's integration, unless the integration sets its own
    timeoutInMillis (API Gateway Developer Guide, "Quotas for configuring and running a REST API
    in API Gateway"), then answers 504 while the function runs on and may still start the
    operation. So each function behind the API has a Timeout under it, and one AWS call with all
    its retries and waits fits within that Timeout, so the handler answers rather than Lambda
    stopping it."""
    body = translated["Resources"]["Api"]["Properties"]["Body"]
    integrations = [
        operation["x-amazon-apigateway-integration"]
        for methods in body["paths"].values()
        for operation in methods.values()
    ]
    behind = {route.function for route in local.routes()}
    timeouts = {name: local.properties(name)["Timeout"] for name in behind}
    services = ("cloudformation", "dynamodb", "ecr", "events", "stepfunctions")

    assert all("timeoutInMillis" not in integration for integration in integrations), "the default applies"
    assert len(behind) == 8
    assert all(timeout < INTEGRATION_TIMEOUT_SECONDS for timeout in timeouts.values()), timeouts
    for service in services:
        assert worst_case_seconds(client(service).meta.config) < min(timeouts.values()), service


def test_every_operation_is_signed_with_sigv4_and_documents_the_gateways_answers() -> None:
    """API Gateway's extension for IAM authorization is the apiKey scheme on Authorization with
    x-amazon-apigateway-authtype awsSigv4 (API Gateway Developer Guide, "OpenAPI extensions to API
    Gateway"); it answers 403, 429, 502 and 504 on any method, and the service 503 when AWS throttles it."""
    spec = document()
    operations = [operation for methods in spec["paths"].values() for operation in methods.values()]
    error_body = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}

    assert spec["components"]["securitySchemes"]["sigv4"] == {
        "type": "apiKey",
        "name": "Authorization",
        "in": "header",
        "description": spec["components"]["securitySchemes"]["sigv4"]["description"],
        "x-amazon-apigateway-authtype": "awsSigv4",
    }
    assert len(operations) == 8
    assert all(operation["security"] == [{"sigv4": []}] for operation in operations)
    for operation in operations:
        for status in ("403", "429", "500", "502", "503", "504"):
            assert operation["responses"][status]["content"] == error_body, status


def test_every_arn_of_the_workflow_follows_the_partition(template: dict[str, Any]) -> None:
    """ARNs carry their partition (`aws`, `aws-cn`, `aws-us-gov`: IAM User Guide, "IAM
    identifiers"): the ASL names none literally, and the template substitutes AWS::Partition."""
    asl = (ROOT / "statemachine/repository_workflow.asl.json").read_text()
    substitutions = template["Resources"]["RepositoryWorkflow"]["Properties"]["DefinitionSubstitutions"]
    arns = re.findall(r"arn:[^:\"]*:", asl)
    assert arns, "the workflow's tasks are named by ARN"
    assert set(arns) == {"arn:${Partition}:"}, "no ARN of the ASL names a partition literally"
    assert substitutions["Partition"] == {"Ref": "AWS::Partition"}


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov"])
def test_the_workflow_deployed_in_a_partition_names_its_tasks_there(
    template: dict[str, Any], partition: str
) -> None:
    """The ASL as CloudFormation resolves it in a stack of that partition: every task's resource
    (Lambda invoke, its callback form, EventBridge PutEvents) is `arn:<partition>:states:::...`."""
    functions = {name: f"arn:{partition}:lambda:r:1:function:{name}" for name in functions_of(template)}
    rendered = workflow_definition(
        template, functions, "bus", {**PSEUDO_PARAMETERS, "AWS::Partition": partition}
    )
    resources = {
        state["Resource"] for state in json.loads(rendered)["States"].values() if "Resource" in state
    }
    assert resources == {
        f"arn:{partition}:states:::lambda:invoke",
        f"arn:{partition}:states:::lambda:invoke.waitForTaskToken",
        f"arn:{partition}:states:::events:putEvents",
    }
