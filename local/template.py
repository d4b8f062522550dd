"""template.yaml, read the way the local stack needs it: functions with their environment, API
routes, EventBridge rules, the state machine and its substitutions, intrinsics resolved to the
local resources.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ACCOUNT = "123456789012"
REGION = "us-east-1"
STACK_NAME = "agentcore-ecr-local"


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


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as in the template: /repositories/{name+}
    function: str
    pattern: re.Pattern[str]

    @classmethod
    def of(cls, method: str, path: str, function: str) -> Route:
        regex = re.sub(r"\{(\w+)\+\}", r"(?P<\1>.+)", path)
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", regex)
        return cls(method.upper(), path, function, re.compile(f"^{regex}$"))


@dataclass(frozen=True)
class Rule:
    name: str
    function: str
    bus: str
    pattern: dict[str, Any]
    dead_letter_arn: str | None


@dataclass
class LocalTemplate:
    """The template with every name the local stack gives its resources."""

    template: dict[str, Any]
    overrides: dict[str, str] = field(default_factory=dict)

    @property
    def resources(self) -> dict[str, Any]:
        resources: dict[str, Any] = self.template["Resources"]
        return resources

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name: res for name, res in self.resources.items() if res["Type"] == kind}

    def parameter(self, name: str) -> str:
        if name in self.overrides:
            return self.overrides[name]
        return str(self.template["Parameters"][name].get("Default", ""))

    # Names and ARNs of the local resources -------------------------------------------------

    def function_arn(self, logical_id: str) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical_id}"

    def queue_url(self, logical_id: str, endpoint: str) -> str:
        return f"{endpoint}/{ACCOUNT}/{logical_id}"

    def ref(self, name: str, endpoint: str) -> str:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": STACK_NAME,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.template.get("Parameters", {}):
            return self.parameter(name)
        kind = self.resources[name]["Type"]
        properties = self.resources[name].get("Properties", {})
        if kind == "AWS::Serverless::Function":
            return name
        if kind == "AWS::Events::EventBus":
            return str(self.resolve(properties["Name"], endpoint))
        if kind == "AWS::Serverless::StateMachine":
            return (
                f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{self.resolve(properties['Name'], endpoint)}"
            )
        if kind == "AWS::SQS::Queue":
            return self.queue_url(name, endpoint)
        if kind == "AWS::IAM::Role":
            return name
        raise KeyError(f"the local stack does not know how to Ref {name} ({kind})")

    def get_att(self, name: str, attribute: str, endpoint: str) -> str:
        kind = self.resources[name]["Type"]
        if attribute == "Arn":
            if kind == "AWS::Serverless::Function":
                return self.function_arn(name)
            if kind == "AWS::IAM::Role":
                return f"arn:aws:iam::{ACCOUNT}:role/{name}"
            if kind == "AWS::SQS::Queue":
                return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
            if kind == "AWS::Logs::LogGroup":
                group = self.resolve(self.resources[name]["Properties"]["LogGroupName"], endpoint)
                return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:*"
        if kind == "AWS::SQS::Queue" and attribute == "QueueName":
            return name
        raise KeyError(f"the local stack does not know {name}.{attribute} ({kind})")

    def resolve(self, value: Any, endpoint: str) -> Any:
        if isinstance(value, list):
            return [self.resolve(item, endpoint) for item in value]
        if not isinstance(value, dict):
            return value
        if list(value) == ["Ref"]:
            return self.ref(value["Ref"], endpoint)
        if list(value) == ["Fn::GetAtt"]:
            name, attribute = value["Fn::GetAtt"]
            return self.get_att(name, attribute, endpoint)
        if list(value) == ["Fn::Sub"]:
            text = value["Fn::Sub"]
            variables: dict[str, Any] = {}
            if isinstance(text, list):
                text, variables = text

            def substitute(match: re.Match[str]) -> str:
                name = match[1]
                if name in variables:
                    return str(self.resolve(variables[name], endpoint))
                if "." in name and not name.startswith("AWS::"):
                    resource, attribute = name.split(".", 1)
                    return self.get_att(resource, attribute, endpoint)
                return self.ref(name, endpoint)

            return re.sub(r"\$\{([^}]+)\}", substitute, text)
        return {key: self.resolve(item, endpoint) for key, item in value.items()}

    # What the local stack runs --------------------------------------------------------------

    def function_environment(self, logical_id: str, endpoint: str) -> dict[str, str]:
        globals_env = (
            self.template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        )
        own = self.resources[logical_id]["Properties"].get("Environment", {}).get("Variables", {})
        return {key: str(self.resolve(value, endpoint)) for key, value in {**globals_env, **own}.items()}

    def function_setting(self, logical_id: str, name: str, default: Any) -> Any:
        own = self.resources[logical_id]["Properties"]
        return own.get(name, self.template.get("Globals", {}).get("Function", {}).get(name, default))

    def routes(self) -> list[Route]:
        routes = []
        for logical_id, function in self.of_type("AWS::Serverless::Function").items():
            for event in function["Properties"].get("Events", {}).values():
                if event["Type"] == "Api":
                    routes.append(
                        Route.of(event["Properties"]["Method"], event["Properties"]["Path"], logical_id)
                    )
        return routes

    def rules(self, endpoint: str) -> list[Rule]:
        rules = []
        for logical_id, function in self.of_type("AWS::Serverless::Function").items():
            for event_id, event in function["Properties"].get("Events", {}).items():
                if event["Type"] == "EventBridgeRule":
                    properties = event["Properties"]
                    rules.append(
                        Rule(
                            name=f"{logical_id}{event_id}",
                            function=logical_id,
                            bus=str(self.resolve(properties.get("EventBusName", "default"), endpoint)),
                            pattern=properties["Pattern"],
                            dead_letter_arn=self.resolve(
                                properties.get("DeadLetterConfig", {}).get("Arn"), endpoint
                            ),
                        )
                    )
        return rules

    def dead_letter_queue(self, logical_id: str, endpoint: str) -> str | None:
        queue = self.resources[logical_id]["Properties"].get("DeadLetterQueue")
        return str(self.resolve(queue["TargetArn"], endpoint)) if queue else None

    def gateway_response(self, kind: str) -> tuple[int, str] | None:
        """(status, body template) of a GatewayResponses entry of the template's API."""
        for api in self.of_type("AWS::Serverless::Api").values():
            response = api["Properties"].get("GatewayResponses", {}).get(kind)
            if response:
                status = int(response.get("StatusCode") or (500 if "5XX" in kind else 400))
                return status, response.get("ResponseTemplates", {}).get("application/json", "")
        return None
