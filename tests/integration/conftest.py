"""The local stack, started on free ports for the integration suite and stopped after it.

It runs as `AUTH=iam make run` does (local/process.py starts it): every request of the suite is
signed with SigV4 with the profile the local stack writes (`<state dir>/aws-credentials`, profile
`agentcore-local`), read through botocore's own credential chain; and every function, the state
machine and CloudFormation work under the template's roles, checked by the emulator's IAM. Its account has a
new account's Lambda concurrency quota, 10 (`CONCURRENCY_QUOTA=10`): the template's defaults must
deploy there.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from local.process import LocalStackProcess

ROOT = Path(__file__).resolve().parents[2]
NEW_ACCOUNT_CONCURRENCY_QUOTA = 10  # Lambda quotas: new accounts have reduced concurrency quotas


def abort_while_waiting(
    local: LocalStackProcess, operation_id: str, *, stack_gone: str | None = None
) -> None:
    """StopExecution once the operation's execution waits on its stack (its AwaitStack task; moto
    cannot stop an execution that is still setting up); with `stack_gone` (a stack id), only once
    that stack's delete has completed, so that what the stop finds does not race the stack."""
    sfn = local.client("stepfunctions")
    machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    head, _, name = machine.rpartition(":stateMachine:")
    arn = f"{head}:execution:{name}:{operation_id}"
    for _ in range(400):
        history = sfn.get_execution_history(executionArn=arn)["events"]
        if any(event["type"] == "TaskSubmitted" for event in history):  # AwaitStack's function was called
            if stack_gone is not None:
                assert settled_status(local.client("cloudformation"), stack_gone) == "DELETE_COMPLETE"
            sfn.stop_execution(executionArn=arn, error="Operator", cause="stopped by a test")
            return
        time.sleep(0.02)
    raise AssertionError(f"{operation_id} never waited on its stack")


def settled_status(cfn: Any, stack_name: str) -> str:
    for _ in range(100):
        status = str(cfn.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"])
        if not status.endswith("_IN_PROGRESS"):
            return status
        time.sleep(0.05)
    raise AssertionError(f"{stack_name} did not settle")


def leave_a_failed_create(stack: LocalStackProcess, prefix: str) -> str:
    """A repository name whose stack's create failed (ROLLBACK_COMPLETE) while its repository was
    made in ECR outside the stack: the next create of that name fails with StackFailed."""
    cfn, ecr = stack.client("cloudformation"), stack.client("ecr")
    leftover = f"{prefix}-{uuid.uuid4().hex[:6]}"
    ecr.create_repository(repositoryName=leftover)
    template = (ROOT / "functions/agentcore_ecr/templates/repository.yaml").read_text()
    cfn.create_stack(StackName=f"agentcore-{leftover}-dev-ecr", TemplateBody=template, Parameters=[
        {"ParameterKey": "RepositoryName", "ParameterValue": leftover},
        {"ParameterKey": "Environment", "ParameterValue": "dev"}])  # fmt: skip
    assert settled_status(cfn, f"agentcore-{leftover}-dev-ecr") == "ROLLBACK_COMPLETE"
    return leftover


@pytest.fixture(scope="session")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackProcess]:
    with LocalStackProcess.start(
        tmp_path_factory.mktemp("local-stack"), concurrency_quota=NEW_ACCOUNT_CONCURRENCY_QUOTA
    ) as stack:
        yield stack


@pytest.fixture
def name() -> str:
    """A repository name no other test uses."""
    return f"it/{uuid.uuid4().hex[:10]}"
