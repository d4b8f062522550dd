"""What CloudFormation lets a client do to a stack in each status.

From the CloudFormation User Guide's "Stack status codes": a stack whose create rolled back
(`ROLLBACK_COMPLETE`, `ROLLBACK_FAILED`) can only be deleted; `DELETE_FAILED` can only be deleted
again; `UPDATE_ROLLBACK_FAILED` can have its rollback continued, or be deleted; no stack can be
changed while a change is in progress. Everything else accepts `UpdateStack`.

Admission refuses early what CloudFormation would refuse (`require_idle`, `require_updatable`), so
an operation that cannot run is never started.
"""

from __future__ import annotations

from agentcore_ecr.domain import errors

UPDATABLE = frozenset(
    {
        "CREATE_COMPLETE",
        "UPDATE_COMPLETE",
        "UPDATE_ROLLBACK_COMPLETE",
        "IMPORT_COMPLETE",
        "IMPORT_ROLLBACK_COMPLETE",
    }
)
FAILED_CREATE = frozenset({"ROLLBACK_COMPLETE", "ROLLBACK_FAILED"})
ROLLBACK_STUCK = "UPDATE_ROLLBACK_FAILED"
DELETE_FAILED = "DELETE_FAILED"


def in_progress(status: str) -> bool:
    return status.endswith("_IN_PROGRESS")


def is_updatable(status: str) -> bool:
    return status in UPDATABLE


def way_out(status: str) -> str:
    """What a client can do about a stack that CloudFormation will not update, in one sentence."""
    if status in FAILED_CREATE:
        return "its create failed: POST /repositories again to delete and recreate it, or delete it"
    if status == DELETE_FAILED:
        return "its last delete failed: delete it again (with force=true if it holds images)"
    if status == ROLLBACK_STUCK:
        return "its last update could not roll back: POST /repositories again to continue the rollback"
    return "retry when it has settled"


def require_idle(stack_name: str, status: str) -> None:
    """The stack is not being changed (by an operation that ended without waiting, or by hand)."""
    if in_progress(status):
        raise errors.OperationInProgress(
            f"The repository's stack {stack_name} is {status}; retry when it has settled."
        )


def require_updatable(stack_name: str, status: str) -> None:
    """CloudFormation will change the stack (UPDATE_ROLLBACK_FAILED too: its rollback is continued first)."""
    if not is_updatable(status) and status != ROLLBACK_STUCK:
        raise errors.StackNotUpdatable(f"The repository's stack {stack_name} is {status}: {way_out(status)}.")
