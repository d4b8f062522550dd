"""The workflow's task steps: start a stack change, check a stack, finish the operation.

Each step is short and idempotent; the state machine does the waiting (a `Wait` state that
loops on `check_stack`), the retrying (`Retry` blocks) and the emitting of result events.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

from agentcore_ecr.aws.cloudformation import Stack, Stacks
from agentcore_ecr.config import Settings
from agentcore_ecr.domain import errors
from agentcore_ecr.domain import stack as stack_rules
from agentcore_ecr.domain.models import (
    Action,
    Operation,
    OperationError,
    StackChange,
    StackCheck,
    StackPhase,
    StackState,
    TaskRequest,
    WorkflowInput,
)
from agentcore_ecr.service import INTERNAL_MESSAGE, RepositoryReader

ROLLBACK_LEFTOVER = "ROLLBACK_COMPLETE"
COMPLETE_STATUSES = {
    StackPhase.APPLY: frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE"}),
    StackPhase.EMPTY: frozenset({"UPDATE_COMPLETE"}),
    StackPhase.DELETE: frozenset({"DELETE_COMPLETE"}),
    StackPhase.CLEANUP: frozenset({"DELETE_COMPLETE"}),
}


@cache
def repository_template() -> str:
    return (resources.files("agentcore_ecr") / "templates" / "repository.yaml").read_text()


class Workflow:
    def __init__(self, settings: Settings, stacks: Stacks, reader: RepositoryReader) -> None:
        self.settings = settings
        self.stacks = stacks
        self.reader = reader

    # StartStackChange --------------------------------------------------------------------

    def start_stack_change(self, task: TaskRequest) -> StackChange:
        workflow = task.workflow
        stack = self.stacks.describe(workflow.stack_name)
        if stack is not None and stack.in_progress:
            raise errors.OperationInProgress(
                f"Stack {stack.name} is busy ({stack.status}); retry when it has settled."
            )
        if workflow.action is Action.DELETE:
            return self._start_delete(workflow, stack)
        if stack is not None and stack.status == ROLLBACK_LEFTOVER:
            # An earlier create failed; CloudFormation cannot update such a stack, only delete it.
            self.stacks.delete(stack.stack_id, self.settings.cloudformation_role_arn)
            return self._change(stack.stack_id, StackPhase.CLEANUP, final=False)
        if stack is None:
            return self._create(workflow)
        return self._update(workflow, stack)

    def _create(self, workflow: WorkflowInput) -> StackChange:
        if workflow.settings is None:
            raise errors.NotFound(f"Stack {workflow.stack_name} no longer exists.")
        stack_id = self.stacks.create(
            workflow.stack_name,
            stack_rules.render_template(repository_template(), workflow.settings.tags),
            stack_rules.stack_parameters(workflow.settings),
            stack_rules.stack_tags(workflow.settings),
            self.settings.cloudformation_role_arn,
        )
        return self._change(stack_id, StackPhase.APPLY, final=True)

    def _update(self, workflow: WorkflowInput, stack: Stack) -> StackChange:
        if stack.parameters.get(stack_rules.P_NAME) != workflow.repository_name:
            raise errors.RepositoryExists(
                f"Stack {stack.name} belongs to repository {stack.parameters.get(stack_rules.P_NAME)!r}."
            )
        template: str | None
        if workflow.settings is not None:
            parameters: dict[str, str | None] = dict(stack_rules.stack_parameters(workflow.settings))
            parameters[stack_rules.P_EMPTY_ON_DELETE] = None
            template = stack_rules.render_template(repository_template(), workflow.settings.tags)
            tags: dict[str, str] | None = stack_rules.stack_tags(workflow.settings)
        elif workflow.lifecycle_policy is not None:
            # The previous template keeps the caller's tags; only the lifecycle parameters change.
            lifecycle = stack_rules.lifecycle_parameters(workflow.lifecycle_policy)
            parameters = stack_rules.keep_previous(**lifecycle)
            template, tags = None, None
        else:
            raise errors.ValidationError("The workflow input names no change to make.")
        stack_id = self.stacks.update(
            stack.stack_id, template, parameters, tags, self.settings.cloudformation_role_arn
        )
        if stack_id is None:
            return self._change(stack.stack_id, StackPhase.APPLY, final=True, settled=True)
        return self._change(stack_id, StackPhase.APPLY, final=True)

    def _start_delete(self, workflow: WorkflowInput, stack: Stack | None) -> StackChange:
        if stack is None:
            return self._change(None, StackPhase.DELETE, final=True, settled=True)
        empty = stack.parameters.get(stack_rules.P_EMPTY_ON_DELETE) == "true"
        if workflow.force and not empty and stack.status != ROLLBACK_LEFTOVER:
            # EmptyOnDelete must be in the stack before the delete, so CloudFormation removes the images.
            parameters = stack_rules.keep_previous(**{stack_rules.P_EMPTY_ON_DELETE: "true"})
            stack_id = self.stacks.update(
                stack.stack_id, None, parameters, None, self.settings.cloudformation_role_arn
            )
            if stack_id is not None:
                return self._change(stack_id, StackPhase.EMPTY, final=False)
        self.stacks.delete(stack.stack_id, self.settings.cloudformation_role_arn)
        return self._change(stack.stack_id, StackPhase.DELETE, final=True)

    def _change(
        self, stack_id: str | None, phase: StackPhase, final: bool, settled: bool = False
    ) -> StackChange:
        return StackChange(
            stack_id=stack_id,
            phase=phase,
            settled=settled,
            final=final,
            wait_seconds=self.settings.stack_poll_interval_seconds,
        )

    # CheckStack --------------------------------------------------------------------------

    def check_stack(self, task: TaskRequest) -> StackCheck:
        change = task.change
        if change is None or change.stack_id is None:
            raise errors.ValidationError("check_stack needs the change that start_stack_change made.")
        stack = self.stacks.describe(change.stack_id)
        if stack is None:  # a deleted stack that CloudFormation no longer lists
            if change.phase in (StackPhase.DELETE, StackPhase.CLEANUP):
                return StackCheck(state=StackState.COMPLETE, stack_status="DELETE_COMPLETE")
            return StackCheck(state=StackState.FAILED, stack_status=None, reason="The stack disappeared.")
        if stack.in_progress:
            limit = timedelta(minutes=self.settings.stack_timeout_minutes)
            if datetime.now(UTC) - task.started_at >= limit:
                return StackCheck(
                    state=StackState.TIMED_OUT,
                    stack_status=stack.status,
                    reason=f"Stack {stack.name} did not settle within "
                    f"{self.settings.stack_timeout_minutes:g} minutes (last status {stack.status}).",
                )
            return StackCheck(state=StackState.IN_PROGRESS, stack_status=stack.status)
        if stack.status in COMPLETE_STATUSES[change.phase]:
            return StackCheck(state=StackState.COMPLETE, stack_status=stack.status)
        return StackCheck(
            state=StackState.FAILED,
            stack_status=stack.status,
            reason=self.failure_reason(stack, task.started_at),
        )

    def failure_reason(self, stack: Stack, since: datetime) -> str:
        """The first failure reason of this operation from the stack's events."""
        first = None
        for event in self.stacks.events(stack.stack_id):
            if event.timestamp < since - timedelta(seconds=5):
                break
            if event.status.endswith("_FAILED") and event.reason:
                first = event  # events come newest first: keep going back to the first failure
        if first is not None:
            return f"{first.logical_id}: {first.reason}"
        return stack.status_reason or f"Stack {stack.name} ended in {stack.status}."

    # FinalizeOperation -------------------------------------------------------------------

    def finalize(self, task: TaskRequest) -> Operation:
        workflow = task.workflow
        repository = None
        error = None
        status = task.outcome or "FAILED"
        if status == "SUCCEEDED" and workflow.action is not Action.DELETE:
            repository = self.reader.get(workflow.repository_name)
        if status == "FAILED":
            error = error_from(task.error or {})
        return Operation(
            operation_id=workflow.operation_id,
            action=workflow.action,
            status=status,
            repository_name=workflow.repository_name,
            environment=workflow.environment,
            started_at=task.started_at,
            stopped_at=datetime.now(UTC),
            repository=repository,
            error=error,
        )


def error_from(caught: dict[str, Any]) -> OperationError:
    """The contract's error from what a `Catch` put in the state (`Error`, `Cause`)."""
    code = str(caught.get("Error", ""))
    cause = caught.get("Cause")
    message = cause if isinstance(cause, str) else ""
    try:
        parsed = json.loads(message)  # a Lambda error: {"errorMessage", "errorType", ...}
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        message = str(parsed["errorMessage"])
    if code in errors.OPERATION_ERROR_CODES and message:
        return OperationError(code=code, message=message)
    return OperationError(code="Internal", message=INTERNAL_MESSAGE)
