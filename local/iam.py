"""IAM for the local stack: the authorization AWS applies to a request, written out for the calls
this service makes.

Two parts, both pure (the emulator feeds them moto's roles and requests):

- `evaluate`: IAM's policy evaluation logic (IAM User Guide, "Policy evaluation logic" and "IAM
  JSON policy element reference"). An explicit `Deny` in any statement that applies denies; else
  an `Allow` allows; else the request is denied implicitly. `Action`/`NotAction` match without
  regard to letter case, `Resource`/`NotResource` with it, both with the `*` and `?` wildcards. Every
  operator of a `Condition` must hold, every key of an operator must hold, and a key holds when any
  of its values matches. A key the request does not carry makes an operator false, a negated
  operator (`StringNotEquals`...) true, and any `...IfExists` operator true. Resource-based
  policies (a Lambda function's) also match `Principal`.
- `needs`: what AWS authorizes for one API call (the Service Authorization Reference): the IAM
  action, the resource ARN, and the condition keys it sets; plus the second authorizations a call
  triggers (`iam:PassRole` for a CloudFormation `RoleARN`, `cloudformation:TagResource` for stack
  tags). An operation this table does not know is refused, so that a new call the service makes
  is added here with its real resource rather than passing unchecked.

Not modelled (docs/local-fidelity.md): policy variables, permissions boundaries, session policies,
service control policies, `ForAnyValue`/`ForAllValues`, numeric and date operators.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urlsplit

Policy = Mapping[str, Any]
Context = Mapping[str, str | Sequence[str]]


# Evaluation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    allowed: bool
    explicit_deny: bool = False


@cache
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.compile(regex, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _matches(patterns: Any, value: str, ignore_case: bool) -> bool:
    return any(_glob(str(pattern), ignore_case).fullmatch(value) for pattern in _as_list(patterns))


def _element(statement: Mapping[str, Any], name: str, value: str, ignore_case: bool) -> bool:
    """Whether `value` is covered by the statement's `name` or excluded by its `Not{name}`."""
    if name in statement:
        return _matches(statement[name], value, ignore_case)
    if f"Not{name}" in statement:
        return not _matches(statement[f"Not{name}"], value, ignore_case)
    return name == "Resource"  # a resource-based policy's statement may leave Resource out


def _principal(statement: Mapping[str, Any], principal: str) -> bool:
    given = statement.get("Principal")
    if given is None:
        return True  # an identity-based policy: the principal is the one holding it
    if given == "*":
        return True
    if not isinstance(given, Mapping):
        return False
    values = [value for group in given.values() for value in _as_list(group)]
    return any(_principal_matches(str(value), principal) for value in values)


def _principal_matches(value: str, principal: str) -> bool:
    """A Principal entry: "*", the principal itself, or its account (an ID, or `arn:...:root`)."""
    if value in ("*", principal):
        return True
    account = value.split(":")[4] if value.endswith(":root") else value if value.isdigit() else None
    return account is not None and f":{account}:" in principal


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


_POSITIVE: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda expected, actual: actual == expected,
    "StringEqualsIgnoreCase": lambda expected, actual: actual.lower() == expected.lower(),
    "StringLike": lambda expected, actual: bool(_glob(expected, False).fullmatch(actual)),
    "ArnEquals": lambda expected, actual: actual == expected,
    "ArnLike": lambda expected, actual: bool(_glob(expected, False).fullmatch(actual)),
    "Bool": lambda expected, actual: actual.lower() == expected.lower(),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _condition(conditions: Mapping[str, Mapping[str, Any]], context: Context) -> bool:
    lowered = {key.lower(): value for key, value in context.items()}
    for operator, keys in conditions.items():
        if_exists = operator.endswith("IfExists")
        base = operator.removesuffix("IfExists")
        for key, expected in keys.items():
            actual = lowered.get(key.lower())
            expected_values = [str(value) for value in _as_list(expected)]
            if base == "Null":
                if (actual is None) != (expected_values[0].lower() == "true"):
                    return False
                continue
            if actual is None:
                if not (if_exists or base in _NEGATED):
                    return False
                continue
            actual_values = [actual] if isinstance(actual, str) else list(actual)
            test = _POSITIVE.get(_NEGATED.get(base, base))
            if test is None:
                raise ValueError(f"the local IAM does not evaluate the condition operator {operator}")
            matched = any(test(want, have) for want in expected_values for have in actual_values)
            if matched == (base in _NEGATED):
                return False
    return True


def _statements(policy: Policy) -> list[Mapping[str, Any]]:
    statements = policy.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def evaluate(
    policies: Iterable[Policy],
    action: str,
    resource: str,
    context: Context | None = None,
    principal: str | None = None,
) -> Decision:
    """IAM's decision for `action` on `resource` under `policies` (identity-based, or with
    `principal` a resource-based policy's caller)."""
    allowed = False
    for policy in policies:
        for statement in _statements(policy):
            applies = (
                _element(statement, "Action", action, ignore_case=True)
                and _element(statement, "Resource", resource, ignore_case=False)
                and (principal is None or _principal(statement, principal))
                and _condition(statement.get("Condition", {}), context or {})
            )
            if applies and statement.get("Effect") == "Deny":
                return Decision(allowed=False, explicit_deny=True)
            allowed = allowed or (applies and statement.get("Effect") == "Allow")
    return Decision(allowed=allowed)


def denial_message(principal: str, action: str, resource: str, decision: Decision) -> str:
    """AWS's AccessDenied text."""
    why = (
        "with an explicit deny in an identity-based policy"
        if decision.explicit_deny
        else f"because no identity-based policy allows the {action} action"
    )
    return f"User: {principal} is not authorized to perform: {action} on resource: {resource} {why}"


# What a call needs -------------------------------------------------------------------------


@dataclass(frozen=True)
class Need:
    """One authorization AWS makes for a call."""

    action: str
    resource: str
    context: Context = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    service: str  # boto3's name: ecr, cloudformation, stepfunctions, events, lambda, sqs...
    operation: str  # the API's name: DescribeRepositories, Invoke...
    params: Mapping[str, Any]
    region: str
    account: str


IAM_PREFIX = {"stepfunctions": "states"}
IAM_ACTION = {("lambda", "Invoke"): "InvokeFunction"}
ALWAYS_ALLOWED = {("sts", "GetCallerIdentity")}  # IAM User Guide: no permission is required


def _arn(call: Call, service: str, resource: str) -> str:
    return f"arn:aws:{service}:{call.region}:{call.account}:{resource}"


def _ecr(call: Call, stack_arn: Callable[[str], str]) -> list[str] | None:
    params = call.params
    if call.operation == "GetAuthorizationToken":
        return ["*"]
    if "resourceArn" in params:
        return [str(params["resourceArn"])]
    if "repositoryName" in params:
        return [_arn(call, "ecr", f"repository/{params['repositoryName']}")]
    if call.operation == "DescribeRepositories":
        names = params.get("repositoryNames") or ["*"]
        return [_arn(call, "ecr", f"repository/{name}") for name in names]
    return None


def _cloudformation(call: Call, stack_arn: Callable[[str], str]) -> list[str] | None:
    name = str(call.params.get("StackName") or "")
    if name:
        return [name if name.startswith("arn:") else stack_arn(name)]
    if call.operation in ("DescribeStacks", "ListStacks", "ValidateTemplate"):
        return ["*"]  # CloudFormation User Guide: without a stack name, the action needs "*"
    return None


def _states(call: Call, stack_arn: Callable[[str], str]) -> list[str] | None:
    for key in ("executionArn", "stateMachineArn"):
        if key in call.params:
            return [str(call.params[key])]
    if call.operation in ("SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"):
        return ["*"]
    return None


def _events(call: Call, stack_arn: Callable[[str], str]) -> list[str] | None:
    if call.operation != "PutEvents":
        return None
    buses = {str(entry.get("EventBusName") or "default") for entry in call.params.get("Entries", [])}
    return sorted(
        bus if bus.startswith("arn:") else _arn(call, "events", f"event-bus/{bus}") for bus in buses
    )


def function_arn(name: str, region: str, account: str) -> str:
    """A Lambda FunctionName (name, partial or full ARN, with or without a qualifier) as the ARN IAM
    evaluates."""
    if name.startswith("arn:"):
        return name
    parts = name.split(":")
    if len(parts) >= 3:  # account:function:name[:qualifier]
        return f"arn:aws:lambda:{region}:{':'.join(parts)}"
    return f"arn:aws:lambda:{region}:{account}:function:{name}"


def _lambda(call: Call, stack_arn: Callable[[str], str]) -> list[str] | None:
    name = call.params.get("FunctionName")
    return [function_arn(str(name), call.region, call.account)] if name else None


def _sqs(call: Call, stack_arn: Callable[[str], str]) -> list[str] | None:
    if "QueueUrl" in call.params:
        path = urlsplit(str(call.params["QueueUrl"])).path.strip("/").split("/")
        return [_arn(call, "sqs", path[-1])]
    if "QueueName" in call.params:
        return [_arn(call, "sqs", str(call.params["QueueName"]))]
    return None


def _dynamodb(call: Call, stack_arn: Callable[[str], str]) -> list[str] | None:
    """A table, or for a Query or Scan of an index the index (Service Authorization Reference)."""
    table = call.params.get("TableName")
    if not table:
        return None
    index = call.params.get("IndexName")
    return [_arn(call, "dynamodb", f"table/{table}" + (f"/index/{index}" if index else ""))]


RESOURCES: dict[str, Callable[[Call, Callable[[str], str]], list[str] | None]] = {
    "ecr": _ecr,
    "cloudformation": _cloudformation,
    "stepfunctions": _states,
    "events": _events,
    "lambda": _lambda,
    "sqs": _sqs,
    "dynamodb": _dynamodb,
}
CLOUDFORMATION_ROLE_CALLS = frozenset({"CreateStack", "UpdateStack", "DeleteStack", "ContinueUpdateRollback"})
CLOUDFORMATION_TAGGING_CALLS = frozenset({"CreateStack", "UpdateStack"})


def _tag_keys(prefix: str, tags: Mapping[str, str]) -> dict[str, str | list[str]]:
    """`aws:ResourceTag/{key}` (or `aws:RequestTag/{key}`) for each tag, as IAM sets them."""
    return {f"aws:{prefix}/{key}": value for key, value in tags.items()}


def _request_tags(call: Call) -> dict[str, str | list[str]]:
    """A call's `Tags`: `aws:RequestTag/{key}` each, and `aws:TagKeys` (Service Authorization
    Reference, CloudFormation: CreateStack, UpdateStack and TagResource take both)."""
    tags = {str(tag["Key"]): str(tag["Value"]) for tag in call.params.get("Tags") or []}
    if not tags:
        return {}
    return {**_tag_keys("RequestTag", tags), "aws:TagKeys": sorted(tags)}


def needs(
    call: Call,
    stack_arn: Callable[[str], str],
    stack_tags: Callable[[str], Mapping[str, str] | None] | None = None,
) -> list[Need] | None:
    """Every authorization AWS makes for `call`; None when the local IAM does not know the call.

    `stack_arn` turns a stack name into the ARN of that stack (`stack/{name}/*` when there is none);
    `stack_tags` gives the tags of the live stack of an ARN (None when there is no such stack), which
    IAM sets as `aws:ResourceTag/{key}` on every action on a stack (the `stack` resource type's
    condition key).
    """
    if (call.service, call.operation) in ALWAYS_ALLOWED:
        return []
    resources_of = RESOURCES.get(call.service)
    resources = resources_of(call, stack_arn) if resources_of else None
    if resources is None:
        return None
    name = IAM_ACTION.get((call.service, call.operation), call.operation)
    action = f"{IAM_PREFIX.get(call.service, call.service)}:{name}"
    found = [Need(action, resource) for resource in resources]
    if call.service == "cloudformation":
        requested = _request_tags(call) if call.operation in CLOUDFORMATION_TAGGING_CALLS else {}
        context_of = {
            resource: _tag_keys("ResourceTag", (stack_tags(resource) if stack_tags else None) or {})
            for resource in resources
        }
        found = [Need(action, resource, {**context_of[resource], **requested}) for resource in resources]
        if call.operation in CLOUDFORMATION_ROLE_CALLS and call.params.get("RoleARN"):
            # CloudFormation User Guide ("service role"): passing a role needs iam:PassRole on it.
            passed = {"iam:PassedToService": "cloudformation.amazonaws.com"}
            found.append(Need("iam:PassRole", str(call.params["RoleARN"]), passed))
        if call.operation in CLOUDFORMATION_TAGGING_CALLS and call.params.get("Tags"):
            tagging = {"cloudformation:CreateAction": call.operation, **requested}
            found.extend(
                Need("cloudformation:TagResource", resource, {**context_of[resource], **tagging})
                for resource in resources
            )
    return found
