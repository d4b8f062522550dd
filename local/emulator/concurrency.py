"""Patch 31, LAMBDA_CONCURRENCY_QUOTA: Lambda keeps part of the account's concurrency unreserved.

moto reserves whatever a function asks for (unless MOTO_LAMBDA_CONCURRENCY_QUOTA is set in its
process's environment), so a template that reserves more than a new account can spare deploys
locally and fails on AWS. Lambda refuses a reservation that would leave less than 100 concurrent
executions unreserved for the account's other functions (Lambda API Reference,
PutFunctionConcurrency: "as long as you leave at least 100 simultaneous executions unreserved";
Lambda Developer Guide, "Configuring reserved concurrency": you can reserve up to the unreserved
account concurrency minus 100), with InvalidParameterValueException, HTTP 400, "Specified
ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below
its minimum value of [100]." In an account whose quota is under 100, the minimum that message
names is the quota itself (Lambda answers "[10]" and "[50]" in accounts of those quotas), so no
function can reserve anything there but 0.

The quota is `options.lambda_concurrency_quota`: AWS's default, 1,000, unless the local stack is
started with another (Lambda quotas: "New AWS accounts have reduced concurrency and memory
quotas"; a new account's can be 10). Checked on PutFunctionConcurrency, and on moto's
CloudFormation `AWS::Lambda::Function` with ReservedConcurrentExecutions, which moto hands to
CreateFunction (on AWS, the property is set by PutFunctionConcurrency, which the resource schema's
create handler lists among its permissions; CreateFunction itself takes no reservation).
Invocations are not throttled: this is the rule a deployment meets, not the one traffic meets.
"""

from __future__ import annotations

from typing import Any

from local.emulator.options import options

MINIMUM_UNRESERVED = 100  # Lambda API Reference, PutFunctionConcurrency
MESSAGE = (
    "Specified ReservedConcurrentExecutions for function decreases account's "
    "UnreservedConcurrentExecution below its minimum value of [{minimum}]."
)


def minimum_unreserved(quota: int) -> int:
    """What Lambda keeps unreserved: 100, or all of a quota smaller than that."""
    return min(MINIMUM_UNRESERVED, quota)


def unreserved_after(backend: Any, function_name: str, reserved: int) -> int:
    """The account's unreserved concurrency once `function_name` reserves `reserved` (its own
    earlier reservation, if any, replaced)."""
    elsewhere = sum(
        int(function.reserved_concurrency)
        for function in backend.list_functions()
        if function.reserved_concurrency is not None and function.function_name != function_name
    )
    return options.lambda_concurrency_quota - elsewhere - reserved


def check(backend: Any, function_name: str, reserved: Any) -> None:
    """Refuse, as Lambda does, a reservation that leaves too little unreserved."""
    from moto.awslambda.exceptions import InvalidParameterValueException  # noqa: PLC0415

    minimum = minimum_unreserved(options.lambda_concurrency_quota)
    if unreserved_after(backend, function_name, int(reserved)) < minimum:
        raise InvalidParameterValueException(MESSAGE.format(minimum=minimum))


def apply() -> None:
    from moto.awslambda.models import LambdaBackend  # noqa: PLC0415

    original_put = LambdaBackend.put_function_concurrency
    original_create = LambdaBackend.create_function

    def put_function_concurrency(self: Any, function_name: str, reserved_concurrency: Any) -> Any:
        function = self.get_function(function_name)  # an unknown function is ResourceNotFound first
        check(self, function.function_name, reserved_concurrency)
        return original_put(self, function_name, reserved_concurrency)

    def create_function(self: Any, spec: dict[str, Any]) -> Any:
        reserved = spec.get("ReservedConcurrentExecutions")
        if reserved is not None:
            check(self, str(spec.get("FunctionName", "")).rsplit(":", 1)[-1], reserved)
        return original_create(self, spec)

    LambdaBackend.put_function_concurrency = put_function_concurrency  # type: ignore[method-assign]
    LambdaBackend.create_function = create_function  # type: ignore[method-assign]
