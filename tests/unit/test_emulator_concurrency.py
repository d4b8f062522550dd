"""local/emulator, patch 31, LAMBDA_CONCURRENCY_QUOTA: Lambda keeps part of the account's concurrency
unreserved, and template.yaml's functions deploy under that rule as the local stack deploys them.

Lambda API Reference, PutFunctionConcurrency: a function may reserve concurrency "as long as you
leave at least 100 simultaneous executions unreserved"; Lambda quotas: the default quota is 1,000,
and a new account's is reduced (it can be 10). The functions are made in the in-process moto with
`local.stack.provision_functions`, the local stack's own code.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from local import emulator
from local.stack import provision_functions
from local.template import LocalTemplate

from tests.deployment import load_template
from tests.unit.test_emulator import REGION, create_function

FUNCTIONS = 15  # of template.yaml
MESSAGE = (
    "Specified ReservedConcurrentExecutions for function decreases account's "
    "UnreservedConcurrentExecution below its minimum value of [{minimum}]."
)


@pytest.fixture
def lambda_client(aws: None) -> Any:
    return boto3.client("lambda", region_name=REGION)


def quota(monkeypatch: pytest.MonkeyPatch, value: int) -> None:
    """The account's concurrency quota, as `make run CONCURRENCY_QUOTA=` sets it."""
    monkeypatch.setattr(emulator.options, "lambda_concurrency_quota", value)


def answer(error: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    """The refusal as a caller sees it: its code, its HTTP status and its message."""
    response = error.value.response
    return (
        str(response["Error"]["Code"]),
        int(response["ResponseMetadata"]["HTTPStatusCode"]),
        str(response["Error"]["Message"]),
    )


def lambdas_refusal(minimum: int = 100) -> tuple[str, int, str]:
    return ("InvalidParameterValueException", 400, MESSAGE.format(minimum=minimum))


def reserved(lambda_client: Any, name: str) -> int | None:
    found: int | None = lambda_client.get_function_concurrency(FunctionName=name).get(
        "ReservedConcurrentExecutions"
    )
    return found


# PutFunctionConcurrency -----------------------------------------------------------------------


def test_a_reservation_that_leaves_fewer_than_100_unreserved_is_refused(lambda_client: Any) -> None:
    """AWS: at the default quota of 1,000, 900 may be reserved in all; one more is refused and
    changes nothing, while 0 (which reserves nothing) is still taken."""
    create_function("first")
    create_function("second")
    lambda_client.put_function_concurrency(FunctionName="first", ReservedConcurrentExecutions=900)

    with pytest.raises(ClientError) as error:
        lambda_client.put_function_concurrency(FunctionName="second", ReservedConcurrentExecutions=1)

    assert answer(error) == lambdas_refusal()
    assert reserved(lambda_client, "second") is None
    lambda_client.put_function_concurrency(FunctionName="second", ReservedConcurrentExecutions=0)
    assert reserved(lambda_client, "second") == 0


def test_a_functions_new_reservation_replaces_its_own(lambda_client: Any) -> None:
    """AWS: the function's earlier reservation is not counted against its new one."""
    create_function("only")
    lambda_client.put_function_concurrency(FunctionName="only", ReservedConcurrentExecutions=900)
    lambda_client.put_function_concurrency(FunctionName="only", ReservedConcurrentExecutions=900)

    with pytest.raises(ClientError) as error:
        lambda_client.put_function_concurrency(FunctionName="only", ReservedConcurrentExecutions=901)

    assert answer(error) == lambdas_refusal()
    assert reserved(lambda_client, "only") == 900


def test_a_deleted_reservation_or_function_frees_its_concurrency(lambda_client: Any) -> None:
    create_function("first")
    create_function("second")
    lambda_client.put_function_concurrency(FunctionName="first", ReservedConcurrentExecutions=900)
    lambda_client.delete_function_concurrency(FunctionName="first")
    lambda_client.put_function_concurrency(FunctionName="second", ReservedConcurrentExecutions=900)
    lambda_client.delete_function(FunctionName="second")

    lambda_client.put_function_concurrency(FunctionName="first", ReservedConcurrentExecutions=900)

    assert reserved(lambda_client, "first") == 900


def test_the_quota_is_the_one_the_local_stack_is_given(
    lambda_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A quota of 250 spares 150 for reservations, and not 151."""
    quota(monkeypatch, 250)
    create_function("first")
    create_function("second")
    lambda_client.put_function_concurrency(FunctionName="first", ReservedConcurrentExecutions=150)

    with pytest.raises(ClientError) as error:
        lambda_client.put_function_concurrency(FunctionName="second", ReservedConcurrentExecutions=1)

    assert answer(error) == lambdas_refusal()


def test_in_an_account_whose_quota_is_under_100_nothing_but_0_can_be_reserved(
    lambda_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS: with a quota of 10, Lambda keeps all 10 unreserved and names that minimum, "[10]"."""
    quota(monkeypatch, 10)
    create_function("small")

    with pytest.raises(ClientError) as error:
        lambda_client.put_function_concurrency(FunctionName="small", ReservedConcurrentExecutions=1)

    assert answer(error) == lambdas_refusal(minimum=10)
    lambda_client.put_function_concurrency(FunctionName="small", ReservedConcurrentExecutions=0)


def test_an_unknown_function_is_not_found_before_its_reservation_is_weighed(
    lambda_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    quota(monkeypatch, 10)

    with pytest.raises(ClientError) as error:
        lambda_client.put_function_concurrency(FunctionName="nobody", ReservedConcurrentExecutions=5)

    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_cloudformations_function_with_a_reservation_too_large_fails_its_stack(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto's AWS::Lambda::Function hands ReservedConcurrentExecutions to CreateFunction; AWS's
    handler sets it with PutFunctionConcurrency, and the resource fails with Lambda's refusal."""
    quota(monkeypatch, 10)
    iam = boto3.client("iam", region_name=REGION)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"Service": "lambda.amazonaws.com"}}]}  # fmt: skip
    role = iam.create_role(RoleName="cfn-function", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    body = {
        "Resources": {
            "Function": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": "reserving",
                    "Runtime": "python3.13",
                    "Handler": "index.handler",
                    "Role": role,
                    "Code": {"ZipFile": "def handler(event, context):\n    return event\n"},
                    "ReservedConcurrentExecutions": 1,
                },
            }
        }
    }
    cfn = boto3.client("cloudformation", region_name=REGION)

    cfn.create_stack(StackName="reserving", TemplateBody=json.dumps(body))

    assert cfn.describe_stacks(StackName="reserving")["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"
    reasons = [
        event.get("ResourceStatusReason", "")
        for event in cfn.describe_stack_events(StackName="reserving")["StackEvents"]
        if event["ResourceStatus"] == "CREATE_FAILED"
    ]
    assert any(MESSAGE.format(minimum=10) in reason for reason in reasons), reasons


# template.yaml's functions, as the local stack deploys them --------------------------------------


def deploy(parameters: dict[str, str]) -> LocalTemplate:
    """template.yaml's functions in moto, each with a role Lambda may assume, as the local stack
    makes them (CreateFunction, then PutFunctionConcurrency)."""
    template = LocalTemplate(load_template(), overrides=parameters)
    iam = boto3.client("iam", region_name=REGION)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"Service": "lambda.amazonaws.com"}}]}  # fmt: skip
    for role in {str(template.function_setting(function, "Role", "")) for function in template.functions()}:
        iam.create_role(RoleName=role.rsplit("/", 1)[-1], AssumeRolePolicyDocument=json.dumps(trust))
    provision_functions(template, boto3.client("lambda", region_name=REGION))
    return template


def test_the_template_has_15_functions() -> None:
    """The arithmetic of the tests below (and of the parameter's description): 15 x N + 100."""
    assert len(LocalTemplate(load_template()).functions()) == FUNCTIONS


def test_the_old_default_of_10_fails_the_deploy_in_an_account_whose_quota_is_249(
    lambda_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """15 x 10 reserved would leave 99 of 249 unreserved: the last function's reservation is refused."""
    quota(monkeypatch, 249)

    with pytest.raises(ClientError) as error:
        deploy({"FunctionReservedConcurrency": "10"})

    assert answer(error) == lambdas_refusal()
    functions = lambda_client.list_functions()["Functions"]
    assert sum(reserved(lambda_client, f["FunctionName"]) == 10 for f in functions) == FUNCTIONS - 1


def test_a_reservation_of_10_deploys_in_an_account_whose_quota_is_250(
    lambda_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """15 x 10 + 100 = 250: the boundary itself fits."""
    quota(monkeypatch, 250)

    template = deploy({"FunctionReservedConcurrency": "10"})

    assert [reserved(lambda_client, function) for function in template.functions()] == [10] * FUNCTIONS


def test_the_default_deploys_in_a_new_account_whose_quota_is_10(
    lambda_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default reserves nothing: it deploys whatever the account's quota."""
    quota(monkeypatch, 10)

    template = deploy({})

    assert [reserved(lambda_client, function) for function in template.functions()] == [None] * FUNCTIONS
