"""The workflow's task steps: start a stack change, wait on it, finish the operation.

Each step is short and idempotent; the state machine does the waiting, the retrying (`Retry`
blocks) and the emitting of result events. A wait is a `.waitForTaskToken` task (`await_stack`)
that CloudFormation's status event for the stack ends (`stack_status_changed`), with a timeout of
one poll interval, after which `recheck_stack` looks at the stack itself: polling is the fallback.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from agentcore_ecr.aws.catalog import Catalog, Wait
from agentcore_ecr.aws.cloudformation import ChangeAlreadyMadeError, Stack, Stacks
from agentcore_ecr.aws.ecr import Ecr, ImageFailure
from agentcore_ecr.aws.stepfunctions import Tasks
from agentcore_ecr.config import StackWork
from agentcore_ecr.domain import errors, stack_status
from agentcore_ecr.domain import stack as stack_rules
from agentcore_ecr.domain.models import (
    Action,
    Operation,
    OperationError,
    Repository,
    StackChange,
    StackCheck,
    StackPhase,
    StackState,
    StackStatusChange,
    TaskRequest,
    WorkflowInput,
)
from agentcore_ecr.domain.operations import INTERNAL_MESSAGE
from agentcore_ecr.domain.polling import next_wait_seconds
from agentcore_ecr.domain.stack import is_orphan
from agentcore_ecr.read_model import RepositoryReader

COMPLETE_STATUSES = {
    StackPhase.APPLY: frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE"}),
    StackPhase.CLEANUP: frozenset({"DELETE_COMPLETE"}),
    StackPhase.RECOVER: frozenset({"UPDATE_ROLLBACK_COMPLETE"}),
    StackPhase.EMPTY: frozenset({"UPDATE_COMPLETE"}),
    StackPhase.DELETE: frozenset({"DELETE_COMPLETE"}),
}
IMAGES_PER_PURGE = 1000  # images one PURGE step deletes (10 BatchDeleteImage calls)
CLOCK_SKEW = timedelta(seconds=5)  # between the execution's start time and the stack events' times
WAIT_LIFETIME = timedelta(days=2)  # a wait's item outlives any execution (24 h at most), then expires


class Workflow:
    def __init__(
        self,
        settings: StackWork,
        stacks: Stacks,
        ecr: Ecr,
        reader: RepositoryReader,
        catalog: Catalog | None = None,
        tasks: Tasks | None = None,
    ) -> None:
        self.settings = settings
        self.stacks = stacks
        self.ecr = ecr
        self.reader = reader
        self._catalog = catalog
        self._tasks = tasks

    @property
    def tasks(self) -> Tasks:
        if self._tasks is None:
            self._tasks = Tasks()
        return self._tasks

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            raise RuntimeError("this function has no CATALOG_TABLE_NAME: it cannot keep the catalog")
        return self._catalog

    # StartStackChange --------------------------------------------------------------------

    def start_stack_change(self, task: TaskRequest) -> StackChange:
        """Start the next phase of the operation's stack work.

        Idempotent: every CloudFormation call carries a ClientRequestToken made of the operation id
        and the phase, so a retried task finds its own change (by the token of the stack's newest
        event) and watches it rather than failing on a stack that is busy with it.
        """
        workflow = task.workflow
        stack = self.stacks.describe(workflow.stack_name)
        if stack is not None:
            own = self._own_change(stack, workflow.operation_id, task.change)
            if own is not None:
                return own
            self._check_owner(workflow, stack)
            if stack.in_progress:
                raise errors.OperationInProgress(
                    f"Stack {stack.name} is busy ({stack.status}); retry when it has settled."
                )
        try:
            if workflow.action is Action.DELETE:
                return self._start_delete(task, stack)
            return self._start_apply(workflow, stack)
        except ChangeAlreadyMadeError:
            # botocore retried a call that had reached CloudFormation: the change is there, find it.
            stack = self.stacks.describe(workflow.stack_name)
            own = self._own_change(stack, workflow.operation_id, task.change) if stack else None
            if own is None:
                raise errors.OperationInProgress(
                    f"Stack {workflow.stack_name} was changed by another request; retry."
                ) from None
            return own

    def _own_change(
        self, stack: Stack, operation_id: str, previous: StackChange | None
    ) -> StackChange | None:
        """The change this operation started in an attempt whose answer was lost, if any."""
        phase = StackPhase.of_request_token(self.stacks.last_request_token(stack.stack_id), operation_id)
        if phase is None or (previous is not None and previous.phase is phase):
            return None
        return self._change(stack.stack_id, phase)

    @staticmethod
    def _check_owner(workflow: WorkflowInput, stack: Stack) -> None:
        owner = stack.parameters.get(stack_rules.P_NAME)
        if owner == workflow.repository_name:
            return
        message = f"Stack {stack.name} belongs to repository {owner!r}, not {workflow.repository_name!r}."
        if workflow.action is Action.DELETE:
            raise errors.NotManaged(message)
        raise errors.RepositoryExists(message)

    def _start_apply(self, workflow: WorkflowInput, stack: Stack | None) -> StackChange:
        role, operation_id = self.settings.cloudformation_role_arn, workflow.operation_id
        if stack is None:
            return self._create(workflow)
        if stack.status in stack_status.FAILED_CREATE or self._recreates(workflow, stack):
            # CloudFormation can only delete a stack whose create failed, and cannot update one whose
            # repository was deleted outside it: delete the stack, the create comes next.
            self.stacks.delete(stack.stack_id, role, StackPhase.CLEANUP.request_token(operation_id))
            return self._change(stack.stack_id, StackPhase.CLEANUP)
        if stack.status == stack_status.ROLLBACK_STUCK:
            self.stacks.continue_update_rollback(
                stack.stack_id, role, StackPhase.RECOVER.request_token(operation_id)
            )
            return self._change(stack.stack_id, StackPhase.RECOVER)
        if not stack_status.is_updatable(stack.status):
            raise errors.StackNotUpdatable(
                f"Stack {stack.name} is {stack.status}: {stack_status.way_out(stack.status)}."
            )
        return self._update(workflow, stack)

    def _recreates(self, workflow: WorkflowInput, stack: Stack) -> bool:
        """A create planned for a stack whose repository was deleted outside the service (drift)."""
        return (
            workflow.action is Action.CREATE
            and is_orphan(stack, workflow.repository_name)
            and not self.ecr.exists(workflow.repository_name)
        )

    def _create(self, workflow: WorkflowInput) -> StackChange:
        if workflow.settings is None:
            raise errors.NotFound(f"Stack {workflow.stack_name} no longer exists.")
        stack_id = self.stacks.create(
            workflow.stack_name,
            stack_rules.repository_template_for(workflow.settings.tags),
            stack_rules.stack_parameters(workflow.settings),
            stack_rules.stack_tags(workflow.settings),
            self.settings.cloudformation_role_arn,
            StackPhase.APPLY.request_token(workflow.operation_id),
        )
        return self._change(stack_id, StackPhase.APPLY)

    def _update(self, workflow: WorkflowInput, stack: Stack) -> StackChange:
        template: str | None
        if workflow.settings is not None:
            parameters: dict[str, str | None] = dict(stack_rules.stack_parameters(workflow.settings))
            if workflow.action is Action.ADOPT:
                # agentcore-cli's template declared no encryption: declaring it would replace the
                # repository (EncryptionConfiguration is create-only), so the new template does not.
                parameters[stack_rules.P_DECLARE_ENCRYPTION] = "false"
            else:
                # Kept as they are where the stack has them; a stack of an earlier release of the
                # template gets the current template's defaults (its template declared the encryption).
                parameters = stack_rules.use_previous(
                    parameters,
                    stack.parameters,
                    stack_rules.P_EMPTY_ON_DELETE,
                    stack_rules.P_DECLARE_ENCRYPTION,
                )
            template = stack_rules.repository_template_for(workflow.settings.tags)
            tags: dict[str, str] | None = stack_rules.stack_tags(workflow.settings)
        elif workflow.lifecycle_policy is not None:
            # The previous template keeps the caller's tags; only the lifecycle parameters change.
            lifecycle = stack_rules.lifecycle_parameters(workflow.lifecycle_policy)
            parameters = stack_rules.keep_previous(stack.parameters, **lifecycle)
            template, tags = None, None
        else:
            raise errors.ValidationError("The workflow input names no change to make.")
        stack_id = self.stacks.update(
            stack.stack_id,
            template,
            parameters,
            tags,
            self.settings.cloudformation_role_arn,
            StackPhase.APPLY.request_token(workflow.operation_id),
        )
        if stack_id is None:
            return self._change(stack.stack_id, StackPhase.APPLY, settled=True)
        return self._change(stack_id, StackPhase.APPLY)

    def _start_delete(self, task: TaskRequest, stack: Stack | None) -> StackChange:
        workflow = task.workflow
        if stack is None:
            return self._change(None, StackPhase.DELETE, settled=True)
        role, operation_id = self.settings.cloudformation_role_arn, workflow.operation_id
        # A repository deleted outside the service has no images to remove: its stack is just deleted.
        force = workflow.force and self.ecr.exists(workflow.repository_name)
        if force and stack_status.is_updatable(stack.status):
            if stack.parameters.get(stack_rules.P_EMPTY_ON_DELETE) != "true":
                # EmptyOnDelete must be in the stack before the delete, so CloudFormation removes the images.
                parameters = stack_rules.keep_previous(
                    stack.parameters, **{stack_rules.P_EMPTY_ON_DELETE: "true"}
                )
                token = StackPhase.EMPTY.request_token(operation_id)
                stack_id = self.stacks.update(stack.stack_id, None, parameters, None, role, token)
                if stack_id is not None:
                    return self._change(stack_id, StackPhase.EMPTY)
        elif force:
            # CloudFormation will not update this stack to set EmptyOnDelete: empty the repository
            # directly, a batch per step, then delete the stack.
            images = self.ecr.image_ids(workflow.repository_name, IMAGES_PER_PURGE)
            if images:
                self._check_time_left(task, stack)
                failures = self.ecr.delete_images(workflow.repository_name, images)
                if failures:
                    raise self._purge_failed(workflow.repository_name, stack, failures)
                return self._change(stack.stack_id, StackPhase.PURGE, settled=True)
        self.stacks.delete(stack.stack_id, role, StackPhase.DELETE.request_token(operation_id))
        return self._change(stack.stack_id, StackPhase.DELETE)

    @staticmethod
    def _purge_failed(name: str, stack: Stack, failures: list[ImageFailure]) -> errors.StackFailed:
        """ECR refused to delete images (a failure other than ImageNotFound): deleting them again
        would meet the same refusal, so the operation fails at once with ECR's reason."""
        first = failures[0]
        more = f" (and {len(failures) - 1} other image(s))" if len(failures) > 1 else ""
        return errors.StackFailed(
            f"Repository {name!r} could not be emptied: ECR did not delete image {first.image}{more}: "
            f"{first.code}: {first.reason}. Its stack {stack.name} remains, with the images ECR kept; "
            "delete again once the cause is fixed."
        )

    def _check_time_left(self, task: TaskRequest, stack: Stack) -> None:
        if datetime.now(UTC) - task.started_at >= timedelta(minutes=self.settings.timeout_minutes):
            raise errors.StackTimeout(
                f"Stack {stack.name}: its repository was still being emptied after "
                f"{self.settings.timeout_minutes:g} minutes."
            )

    def _change(self, stack_id: str | None, phase: StackPhase, settled: bool = False) -> StackChange:
        return StackChange(
            stack_id=stack_id,
            phase=phase,
            settled=settled,
            final=phase.final,
            wait_seconds=next_wait_seconds(self.settings.poll_interval_seconds, 0),
        )

    # AwaitStack, and the stack's status event ---------------------------------------------

    def await_stack(self, task: TaskRequest) -> StackCheck:
        """Wait on the stack: leave the task token where the stack's status event finds it (the
        catalog, under the stack id), then look at the stack once.

        A stack that settled before the token was there is seen by that look, and the task is
        resumed at once; one that settles later announces it, and `stack_status_changed` resumes
        the task. No wake-up is lost between the two. Without either, the task times out after one
        poll interval and the workflow checks the stack itself (`recheck_stack`).
        """
        stack_id, token = self._stack_of(task), task.task_token
        if token is None:
            raise errors.ValidationError("await_stack needs the task's token.")
        assert task.change is not None  # _stack_of checked it
        operation_id = task.workflow.operation_id
        wait = Wait(
            stack_id=stack_id,
            task_token=token,
            request_token=task.change.phase.request_token(operation_id),
            operation_id=operation_id,
            task=task.model_copy(update={"task_token": None}).model_dump_json(by_alias=True),
        )
        self.catalog.watch(wait, datetime.now(UTC) + WAIT_LIFETIME)
        check = self.check_stack(task)
        if check.state is not StackState.IN_PROGRESS:
            self.tasks.resume(token, check.to_json_dict())
            self.catalog.unwatch(stack_id, task_token=token)
        return check

    def stack_status_changed(self, change: StackStatusChange) -> StackCheck | None:
        """CloudFormation's status event for a stack: resume the execution waiting on that change.

        Only a settled status of the very change waited on (its ClientRequestToken) ends a wait;
        intermediate statuses, stacks nobody waits on, older changes and duplicates do nothing.
        Returns the check the wait was resumed with, if one was.
        """
        status = change.status_details.status
        if stack_status.in_progress(status):
            return None
        wait = self.catalog.waiting(change.stack_id)
        if wait is None or wait.request_token != change.client_request_token:
            return None
        task = TaskRequest.model_validate_json(wait.task)
        stack = Stack(
            stack_id=change.stack_id,
            name=stack_name_of(change.stack_id),
            status=status,
            created_at=task.started_at,
            status_reason=change.status_details.status_reason or None,
        )
        check = self._settled(task, stack)
        resumed = self.tasks.resume(wait.task_token, check.to_json_dict())
        self.catalog.unwatch(change.stack_id, task_token=wait.task_token)
        return check if resumed else None

    def recheck_stack(self, task: TaskRequest) -> StackCheck:
        """The wait timed out (no status event came): its item goes, and the stack is looked at."""
        self.catalog.unwatch(self._stack_of(task), operation_id=task.workflow.operation_id)
        return self.check_stack(task)

    @staticmethod
    def _stack_of(task: TaskRequest) -> str:
        if task.change is None or task.change.stack_id is None:
            raise errors.ValidationError("A wait needs the change that start_stack_change made.")
        return task.change.stack_id

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
            elapsed = datetime.now(UTC) - task.started_at
            if elapsed >= timedelta(minutes=self.settings.timeout_minutes):
                return StackCheck(
                    state=StackState.TIMED_OUT,
                    stack_status=stack.status,
                    reason=f"Stack {stack.name} did not settle within "
                    f"{self.settings.timeout_minutes:g} minutes (last status {stack.status}).",
                )
            return StackCheck(
                state=StackState.IN_PROGRESS,
                stack_status=stack.status,
                wait_seconds=next_wait_seconds(self.settings.poll_interval_seconds, elapsed.total_seconds()),
            )
        return self._settled(task, stack)

    def _settled(self, task: TaskRequest, stack: Stack) -> StackCheck:
        """The check of a stack that has settled: complete for this phase, or failed and why."""
        assert task.change is not None
        change = task.change
        if stack.status in COMPLETE_STATUSES.get(change.phase, ()):
            return StackCheck(state=StackState.COMPLETE, stack_status=stack.status)
        return StackCheck(
            state=StackState.FAILED,
            stack_status=stack.status,
            reason=self.failure_reason(
                stack, change.phase.request_token(task.workflow.operation_id), task.started_at
            ),
        )

    def failure_reason(self, stack: Stack, token: str, since: datetime) -> str:
        """The first failure reason of this change, from the stack's events.

        CloudFormation gives every event of a change the change's ClientRequestToken; events
        without one (an emulator that does not keep them) are taken by time instead.
        """
        first = None
        for event in self.stacks.events(stack.stack_id):  # newest first: this change's come first
            ours = (
                event.request_token == token if event.request_token else event.timestamp >= since - CLOCK_SKEW
            )
            if not ours:
                break
            if event.status.endswith("_FAILED") and event.reason:
                first = event  # keep going back to the first failure
        if first is not None:
            reason = f"{first.logical_id}: {first.reason}"
        else:
            reason = stack.status_reason or f"Stack {stack.name} ended in {stack.status}."
        if not stack_status.is_updatable(stack.status):
            reason += f" The stack is now {stack.status}: {stack_status.way_out(stack.status)}."
        return reason

    # FinalizeOperation -------------------------------------------------------------------

    def finalize(self, task: TaskRequest) -> Operation:
        """The final Operation; the catalog records the repository as it now is and frees its lock."""
        workflow = task.workflow
        repository = None
        error = None
        status = task.outcome or "FAILED"
        current = self.settle_catalog(workflow.repository_name, workflow.operation_id, workflow.environment)
        if status == "SUCCEEDED" and workflow.action is not Action.DELETE:
            if current is None:
                raise errors.NotFound(f"Repository {workflow.repository_name!r} is gone.")
            repository = current
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

    def settle_catalog(self, name: str, operation_id: str, environment: str) -> Repository | None:
        """At the end of an operation, however it ended: the repository's catalog item as the stack
        and the repository now are (gone if they are), and the operation's lock released.

        The repository (None if it is not managed, or no longer exists) is returned.
        """
        try:
            managed = self.reader.find_in(name, environment)
        except (errors.NotFound, errors.NotManaged):
            self.catalog.forget(name, operation_id)
            return None
        repository = managed.to_model()
        self.catalog.record(repository, managed.stack.stack_id, operation_id, release=True)
        return repository


def stack_name_of(stack_id: str) -> str:
    """`arn:aws:cloudformation:{region}:{account}:stack/{name}/{uuid}` -> `{name}`."""
    return stack_id.split(":stack/", 1)[-1].split("/", 1)[0]


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
