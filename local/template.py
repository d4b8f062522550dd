"""template.yaml as `sam deploy` deploys it: translated by SAM's own translator (samtranslator),
with its intrinsic functions resolved to the local stack's resources.

The local stack provisions what the translated template declares: the IAM roles with their
policies (SAM's policy templates expanded), the Lambda functions with their environment and their
resource-based permissions, the EventBridge rules, the queues, the state machine, and the REST
API's OpenAPI body (routes, integrations and their credentials, method auth, gateway responses).
"""

from __future__ import annotations

import copy
import logging
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
import yaml

ACCOUNT = "123456789012"
REGION = "us-east-1"
STACK_NAME = "agentcore-ecr-local"
API_ID = "localapi01"  # an API Gateway id is 10 characters of [a-z0-9]
ARTIFACTS = "local-artifacts"  # the bucket `sam package` would upload to; the local stack reads the files
CALLER_CREDENTIALS = "arn:aws:iam::*:user/*"  # an integration that invokes as the caller


class _NoValue:
    """`AWS::NoValue`: the property (or list item) it stands for is left out."""


NO_VALUE = _NoValue()


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form intrinsics, read as their long form."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        assert isinstance(node, yaml.MappingNode)
        value = loader.construct_mapping(node, deep=True)
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {"Ref" if suffix == "Ref" else f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load(path: Path) -> dict[str, Any]:
    template: dict[str, Any] = yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    return template


def translate(sam: dict[str, Any]) -> dict[str, Any]:
    """The CloudFormation template SAM's translator makes of `sam`, offline.

    As `sam package` does first, local paths become S3 locations: `CodeUri` points at one
    artifact, and a state machine's `DefinitionUri` keeps its file's path as the key.
    """
    from samtranslator.parser.parser import Parser  # noqa: PLC0415
    from samtranslator.translator.translator import Translator  # noqa: PLC0415

    logging.getLogger("samtranslator").setLevel(logging.ERROR)  # "unpublished metrics" notes
    template = copy.deepcopy(sam)
    code = f"s3://{ARTIFACTS}/functions.zip"
    template.setdefault("Globals", {}).setdefault("Function", {})["CodeUri"] = code
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function" and "CodeUri" in properties:
            properties["CodeUri"] = code
        if resource["Type"] == "AWS::Serverless::StateMachine" and isinstance(
            properties.get("DefinitionUri"), str
        ):
            properties["DefinitionUri"] = {"Bucket": ARTIFACTS, "Key": properties["DefinitionUri"]}
    translator = Translator(
        managed_policy_map={}, sam_parser=Parser(), boto_session=boto3.Session(region_name=REGION)
    )
    translated: dict[str, Any] = translator.translate(
        template, parameter_values={}, get_managed_policy_map=None
    )
    return translated


@dataclass(frozen=True)
class Route:
    """One method of the REST API, as the translated OpenAPI body declares it."""

    method: str
    path: str  # as in the template: /repositories/{name+}
    function: str  # the logical id of the integration's function
    credentials: str | None  # the integration's: None (resource-based permission), a role, or the caller's
    iam_auth: bool  # the method's `security` is AWS_IAM
    pattern: re.Pattern[str] = field(compare=False)

    @classmethod
    def of(cls, method: str, path: str, function: str, credentials: str | None, iam_auth: bool) -> Route:
        regex = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", re.escape(path))
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", regex)
        return cls(method.upper(), path, function, credentials, iam_auth, re.compile(f"^{regex}$"))


@dataclass(frozen=True)
class Rule:
    name: str
    bus: str
    pattern: dict[str, Any]
    targets: list[dict[str, Any]]


@dataclass
class LocalTemplate:
    """The translated template with every name the local stack gives its resources."""

    sam: dict[str, Any]
    overrides: dict[str, str] = field(default_factory=dict)
    endpoint: str = "http://127.0.0.1:5000"  # the local AWS, where the queues' URLs point

    @cached_property
    def translated(self) -> dict[str, Any]:
        return translate(self.sam)

    @property
    def resources(self) -> dict[str, Any]:
        resources: dict[str, Any] = self.translated["Resources"]
        return resources

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name: res for name, res in self.resources.items() if res["Type"] == kind}

    def condition(self, name: str) -> bool:
        """A condition of the template, evaluated with the local parameters."""
        return self._holds(self.translated.get("Conditions", {})[name])

    def _holds(self, expression: Any) -> bool:
        if isinstance(expression, dict) and len(expression) == 1:
            ((function, arguments),) = expression.items()
            if function == "Fn::Equals":  # CloudFormation compares the two values as strings
                first, second = (str(self.resolve(argument)) for argument in arguments)
                return first == second
            if function == "Fn::Not":
                return not self._holds(arguments[0])
            if function == "Fn::And":
                return all(self._holds(argument) for argument in arguments)
            if function == "Fn::Or":
                return any(self._holds(argument) for argument in arguments)
            if function == "Condition":
                return self.condition(arguments)
        raise ValueError(f"the local stack cannot evaluate the condition {expression!r}")

    def parameter(self, name: str) -> str:
        if name in self.overrides:
            return self.overrides[name]
        return str(self.translated["Parameters"][name].get("Default", ""))

    def properties(self, logical_id: str) -> dict[str, Any]:
        properties: dict[str, Any] = self.resolve(self.resources[logical_id].get("Properties", {}))
        return properties

    # Names and ARNs of the local resources -------------------------------------------------

    def function_arn(self, logical_id: str) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical_id}"

    def role_arn(self, logical_id: str) -> str:
        return f"arn:aws:iam::{ACCOUNT}:role/{logical_id}"

    def ref(self, name: str) -> str:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": STACK_NAME,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.translated.get("Parameters", {}):
            return self.parameter(name)
        kind = self.resources[name]["Type"]
        properties = self.resources[name].get("Properties", {})
        named = {
            "AWS::Events::EventBus": "Name",
            "AWS::Logs::LogGroup": "LogGroupName",
        }
        if kind in named:
            return str(self.resolve(properties[named[kind]]))
        if kind == "AWS::StepFunctions::StateMachine":
            machine = self.resolve(properties["StateMachineName"])
            return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{machine}"
        if kind == "AWS::SQS::Queue":
            return f"{self.endpoint}/{ACCOUNT}/{name}"
        if kind == "AWS::ApiGateway::RestApi":
            return API_ID
        return name  # functions, roles, rules, deployments...: the logical id is the local name

    def get_att(self, name: str, attribute: str) -> str:
        kind = self.resources[name]["Type"]
        arns = {
            "AWS::Lambda::Function": self.function_arn(name),
            "AWS::IAM::Role": self.role_arn(name),
            "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
            "AWS::StepFunctions::StateMachine": self.ref(name),
        }
        if attribute == "Arn" and kind in arns:
            return arns[kind]
        if attribute == "Arn" and kind == "AWS::Events::Rule":
            bus = self.resolve(self.resources[name]["Properties"].get("EventBusName", "default"))
            return (
                f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{bus}/{name}"
                if bus != "default"
                else (f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}")
            )
        if attribute == "Arn" and kind == "AWS::Logs::LogGroup":
            return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{self.ref(name)}:*"
        if kind == "AWS::SQS::Queue" and attribute == "QueueName":
            return name
        raise KeyError(f"the local stack does not know {name}.{attribute} ({kind})")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in map(self.resolve, value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if list(value) == ["Ref"]:
            return NO_VALUE if value["Ref"] == "AWS::NoValue" else self.ref(value["Ref"])
        if list(value) == ["Fn::If"]:
            condition, when_true, when_false = value["Fn::If"]
            return self.resolve(when_true if self.condition(condition) else when_false)
        if list(value) == ["Fn::GetAtt"]:
            name, attribute = value["Fn::GetAtt"]
            return self.get_att(name, attribute)
        if list(value) == ["Fn::Join"]:
            separator, items = value["Fn::Join"]
            return str(separator).join(str(self.resolve(item)) for item in items)
        if list(value) == ["Fn::Sub"]:
            text = value["Fn::Sub"]
            variables: dict[str, Any] = {}
            if isinstance(text, list):
                text, variables = text

            def substitute(match: re.Match[str]) -> str:
                name = match[1]
                if name in variables:
                    return str(self.resolve(variables[name]))
                if "." in name and not name.startswith("AWS::"):
                    resource, attribute = name.split(".", 1)
                    return self.get_att(resource, attribute)
                return self.ref(name)

            return re.sub(r"\$\{([^}!]+)\}", substitute, text)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    # What the local stack runs --------------------------------------------------------------

    def functions(self) -> list[str]:
        return list(self.of_type("AWS::Lambda::Function"))

    def function_environment(self, logical_id: str) -> dict[str, str]:
        variables = self.properties(logical_id).get("Environment", {}).get("Variables", {})
        return {key: str(value) for key, value in variables.items()}

    def function_setting(self, logical_id: str, name: str, default: Any) -> Any:
        return self.properties(logical_id).get(name, default)

    def dead_letter_queue(self, logical_id: str) -> str | None:
        queue = self.properties(logical_id).get("DeadLetterConfig", {}).get("TargetArn")
        return str(queue) if queue else None

    def routes(self) -> list[Route]:
        """Every method of every REST API of the translated template (their OpenAPI bodies)."""
        routes = []
        for api in self.of_type("AWS::ApiGateway::RestApi"):
            body = self.properties(api)["Body"]
            for path, methods in body.get("paths", {}).items():
                for method, operation in methods.items():
                    integration = operation.get("x-amazon-apigateway-integration", {})
                    function = re.search(r"function:([^/:]+)/invocations", str(integration.get("uri", "")))
                    if function is None:
                        continue
                    iam_auth = any("AWS_IAM" in scheme for scheme in operation.get("security", []))
                    routes.append(
                        Route.of(method, path, function[1], integration.get("credentials"), iam_auth)
                    )
        return routes

    def stage(self) -> str:
        stages = [self.properties(stage)["StageName"] for stage in self.of_type("AWS::ApiGateway::Stage")]
        return stages[0] if stages else "Prod"

    def gateway_responses(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for api in self.of_type("AWS::ApiGateway::RestApi"):
            found.update(self.properties(api)["Body"].get("x-amazon-apigateway-gateway-responses", {}))
        return found

    def rules(self) -> list[Rule]:
        return [
            Rule(
                name=logical_id,
                bus=str(properties.get("EventBusName", "default")),
                pattern=properties["EventPattern"],
                targets=properties.get("Targets", []),
            )
            for logical_id in self.of_type("AWS::Events::Rule")
            for properties in [self.properties(logical_id)]
        ]
