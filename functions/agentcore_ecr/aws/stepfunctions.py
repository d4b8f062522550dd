"""Step Functions adapter: an operation is an execution of the workflow, named by its id."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from agentcore_ecr.aws.clients import client, error_code, raise_if_throttled


@dataclass(frozen=True)
class Execution:
    name: str
    status: str
    input: dict[str, Any]
    started_at: datetime
    stopped_at: datetime | None
    output: dict[str, Any] | None
    error: str | None
    cause: str | None


class ExecutionExistsError(Exception):
    """An execution of that name exists with another input, or has ended."""


def execution_arn(state_machine_arn: str, name: str) -> str:
    head, _, machine = state_machine_arn.rpartition(":stateMachine:")
    return f"{head}:execution:{machine}:{name}"


class Executions:
    def __init__(self, state_machine_arn: str, sfn_client: Any | None = None) -> None:
        self._arn = state_machine_arn
        self._client = sfn_client or client("stepfunctions")

    def start(self, name: str, payload: dict[str, Any]) -> datetime:
        """Start an execution; with the same name and input while it runs, AWS answers the same one."""
        try:
            response = self._client.start_execution(
                stateMachineArn=self._arn, name=name, input=json.dumps(payload, sort_keys=True)
            )
        except ClientError as error:
            raise_if_throttled(error)
            if error_code(error) == "ExecutionAlreadyExists":
                raise ExecutionExistsError(name) from error
            raise
        started: datetime = response["startDate"]
        return started

    def describe(self, name: str) -> Execution | None:
        try:
            item = self._client.describe_execution(executionArn=execution_arn(self._arn, name))
        except ClientError as error:
            raise_if_throttled(error)
            if error_code(error) == "ExecutionDoesNotExist":
                return None
            raise
        output = item.get("output")
        return Execution(
            name=item["name"],
            status=item["status"],
            input=json.loads(item.get("input") or "{}"),
            started_at=item["startDate"],
            stopped_at=item.get("stopDate"),
            output=json.loads(output) if output else None,
            error=item.get("error"),
            cause=item.get("cause"),
        )


# SendTaskSuccess for a task that has already ended (resumed by another, or timed out) or never was.
TASK_OVER = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})


class Tasks:
    """The tasks of executions that wait for a callback (`.waitForTaskToken`)."""

    def __init__(self, sfn_client: Any | None = None) -> None:
        self._client = sfn_client or client("stepfunctions")

    def resume(self, task_token: str, output: dict[str, Any]) -> bool:
        """End the waiting task with `output`; False when the task had already ended."""
        try:
            self._client.send_task_success(taskToken=task_token, output=json.dumps(output))
        except ClientError as error:
            raise_if_throttled(error)
            if error_code(error) in TASK_OVER:
                return False
            raise
        return True
