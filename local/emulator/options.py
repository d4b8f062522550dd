"""The emulator's settings, shared by every patch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# CloudFormation's stack quota per account and Region by default (CloudFormation User Guide,
# "Understand CloudFormation quotas": Stacks; Service Quotas code L-0485CB21, "Stack count").
DEFAULT_STACK_QUOTA = 2000

Invoke = Callable[[str, bytes], tuple[bytes, "str | None"]]
Decision = Callable[[str, str, str, bool], None]  # principal ARN, action, resource, allowed
InvokeAsync = Callable[[str, bytes, "str | None"], None]


@dataclass
class EmulatorOptions:
    settle_seconds: float = 0.0
    stack_quota: int = DEFAULT_STACK_QUOTA  # patch STACK_QUOTA: stacks an account may have in a Region
    invoke: Invoke | None = None  # function name, payload -> (response, function error or None)
    invoke_async: InvokeAsync | None = None  # function name, payload, dead-letter ARN of the target
    enforce_iam: bool = False  # patches HANDLER_PERMISSIONS, IAM_ENFORCED, STATE_MACHINE_ROLE
    aws_managed_policies: frozenset[str] | None = None  # names of those to load (None: all of them)
    record_decision: Decision | None = None  # told every authorization the IAM patches make
    lambda_concurrency_quota: int = 1000  # LAMBDA_CONCURRENCY_QUOTA: the account's concurrent executions


options = EmulatorOptions()
