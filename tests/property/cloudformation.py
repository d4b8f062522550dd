"""The part of CloudFormation a repository stack meets, for checking rendered templates offline.

- `parameter_problems`: the constraints CreateStack applies to parameter values (AllowedValues,
  AllowedPattern, MinLength/MaxLength, MinValue/MaxValue, Number) - CloudFormation User Guide,
  "Parameters".
- `Stack.resolve`: a resource's properties with the intrinsics the repository template uses (`Ref`
  of parameters and `AWS::NoValue`, `Fn::If` on `Conditions` of `Fn::Not`/`Fn::Equals`, `Fn::Sub`)
  resolved; anything else fails loudly, so a new intrinsic in the template cannot slip by.
- The resolved properties are then checked against the resource type's schema, as bundled with
  cfn-lint, by the local emulator's `validate_properties` (jsonschema, with CloudFormation's
  coercion of template strings to the schema's booleans and numbers).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from local.emulator.cloudformation import resolve_ref, validate_properties

from tests.deployment import load_template
from tests.unit.test_repository_template import render

REGION = "us-east-1"
ECR_REPOSITORY = "AWS::ECR::Repository"
NO_VALUE = object()  # AWS::NoValue: the property is left out


def parameter_problems(name: str, declaration: Mapping[str, Any], value: str) -> list[str]:
    """Why CreateStack would refuse `value` for the parameter (empty: it would take it)."""
    problems = []
    if "AllowedValues" in declaration and value not in [str(item) for item in declaration["AllowedValues"]]:
        problems.append(f"{name}={value!r} is not one of {declaration['AllowedValues']}")
    if "AllowedPattern" in declaration and not re.fullmatch(declaration["AllowedPattern"], value):
        problems.append(f"{name}={value!r} does not match {declaration['AllowedPattern']}")
    if "MinLength" in declaration and len(value) < int(declaration["MinLength"]):
        problems.append(f"{name}={value!r} is shorter than {declaration['MinLength']}")
    if "MaxLength" in declaration and len(value) > int(declaration["MaxLength"]):
        problems.append(f"{name}={value!r} is longer than {declaration['MaxLength']}")
    if declaration.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            return [*problems, f"{name}={value!r} is not a number"]
        if "MinValue" in declaration and number < float(declaration["MinValue"]):
            problems.append(f"{name}={value} is under {declaration['MinValue']}")
        if "MaxValue" in declaration and number > float(declaration["MaxValue"]):
            problems.append(f"{name}={value} is over {declaration['MaxValue']}")
    return problems


@dataclass(frozen=True)
class Stack:
    """A template with the parameter values of one stack (a parameter not given takes its Default)."""

    template: Mapping[str, Any]
    given: Mapping[str, str]

    @property
    def parameters(self) -> dict[str, str]:
        declared = self.template.get("Parameters", {})
        defaults = {name: str(spec["Default"]) for name, spec in declared.items() if "Default" in spec}
        return {**defaults, **self.given}

    def problems(self) -> list[str]:
        """Every way the parameter values break the template's declarations."""
        declared = self.template.get("Parameters", {})
        problems = [
            f"{name} is not a parameter of the template" for name in self.given if name not in declared
        ]
        missing = [name for name in declared if name not in self.parameters]
        problems += [f"{name} has no value and no Default" for name in missing]
        for name, value in self.parameters.items():
            if name in declared:
                problems += parameter_problems(name, declared[name], value)
        return problems

    def condition(self, name: str) -> bool:
        return self._holds(self.template["Conditions"][name])

    def _holds(self, node: Any) -> bool:
        assert isinstance(node, dict), node
        assert len(node) == 1, node
        ((function, arguments),) = node.items()
        if function == "Fn::Not":
            (inner,) = arguments
            return not self._holds(inner)
        if function == "Fn::Equals":
            left, right = (self.resolve(argument) for argument in arguments)
            return str(left) == str(right)  # CloudFormation compares the two as strings
        if function == "Condition":
            return self.condition(arguments)
        raise AssertionError(f"a condition function this helper does not know: {function}")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            resolved = [self.resolve(item) for item in value]
            return [item for item in resolved if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                if argument == "AWS::NoValue":
                    return NO_VALUE
                assert argument in self.parameters, f"Ref to {argument}, which is no parameter"
                return self.parameters[argument]
            if key == "Fn::If":
                condition, when_true, when_false = argument
                return self.resolve(when_true if self.condition(condition) else when_false)
            if key == "Fn::Sub":
                assert isinstance(argument, str), "Fn::Sub with a variable map"
                return render(argument, self.parameters)
            assert not key.startswith("Fn::"), f"an intrinsic this helper does not know: {key}"
        resolved_map = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved_map.items() if item is not NO_VALUE}

    def resource_properties(self, logical_id: str) -> dict[str, Any]:
        properties: dict[str, Any] = self.resolve(self.template["Resources"][logical_id]["Properties"])
        return properties


def load_rendered(directory: Path, template_body: str) -> dict[str, Any]:
    """A TemplateBody read back as CloudFormation reads it: YAML, UTF-8, short-form intrinsics."""
    path = directory / "rendered.yaml"
    path.write_bytes(template_body.encode("utf-8"))
    return load_template(path)


def check_against_schema(logical_id: str, resource_type: str, properties: dict[str, Any]) -> None:
    """Raises `StackResourceError` with CloudFormation's wording when the schema refuses `properties`."""
    validate_properties(REGION, logical_id, resource_type, properties)


@cache
def resource_schema(resource_type: str) -> dict[str, Any]:
    from cfnlint.schema.manager import PROVIDER_SCHEMA_MANAGER  # noqa: PLC0415 - slow to load

    schema: dict[str, Any] = PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGION, resource_type).schema
    return schema


def schema_node(resource_type: str, *path: str) -> dict[str, Any]:
    """The schema of a property, `$ref`s followed.

    `schema_node(type, "LifecyclePolicy", "LifecyclePolicyText")`: LifecyclePolicy's LifecyclePolicyText.
    """
    schema = resource_schema(resource_type)
    node: dict[str, Any] = {"properties": schema["properties"]}
    for name in path:
        node = resolve_ref(schema, node["properties"][name])
    return node
