"""Patch 22, STACK_STATUS_EVENTS: CloudFormation's status changes are events on the default bus.

AWS sends a `CloudFormation Stack Status Change` event to the account's default event bus each
time a stack's status changes, with the stack's id, the new status and its reason, and the
ClientRequestToken of the operation that made the change (CloudFormation User Guide, "Stack
Status Change event detail"). moto emits none.

Here every status a stack takes is recorded as moto sets it, and announced when the CloudFormation
API call that set it returns (moto makes the whole change inside the call): the statuses it went
through at once, and the one it ends in, at the moment the stack reports it, which is after
`options.settle_seconds` when the stack is made to settle slowly (patch 10). An announcement is
routed like any event (patch 9 hands it to a Lambda target). Delivery is best effort, as on AWS.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

SOURCE = "aws.cloudformation"
DETAIL_TYPE = "CloudFormation Stack Status Change"
# moto's placeholder before a stack starts; AWS has no such status and announces none.
NOT_A_STATUS = frozenset({"CREATE_PENDING", ""})
log = logging.getLogger(__name__)

_lock = threading.Lock()
_pending: list[tuple[Any, str, str | None]] = []  # (stack, status, token) not yet announced
_timers: set[threading.Timer] = set()


def changed(stack: Any, status: str, token: str | None) -> None:
    """moto set `stack`'s status (inside a CloudFormation API call)."""
    if status in NOT_A_STATUS:
        return
    with _lock:
        _pending.append((stack, status, token))


def flush(settles_at: Callable[[Any], float], shown_while_settling: Callable[[str], str]) -> None:
    """The API call returned: announce what it did.

    `settles_at(stack)` is when the stack stops reporting *_IN_PROGRESS (0 when it does not wait),
    and `shown_while_settling(status)` the status it reports until then.
    """
    with _lock:
        pending = list(_pending)
        _pending.clear()
    last = {id(stack): index for index, (stack, _, _) in enumerate(pending)}
    announced: set[tuple[int, str]] = set()
    for index, (stack, status, token) in enumerate(pending):
        shown = shown_while_settling(status)
        if shown != status and (id(stack), shown) not in announced:
            announce(stack, shown, token)  # moto went straight to the end; AWS shows the way there
            announced.add((id(stack), shown))
        due = settles_at(stack)
        if last[id(stack)] != index or due <= time.monotonic():
            announce(stack, status, token)
            announced.add((id(stack), status))
        elif math.isfinite(due):  # a stack made never to settle announces nothing more
            _announce_later(stack, status, token, due, settles_at)


def _announce_later(
    stack: Any, status: str, token: str | None, due: float, settles_at: Callable[[Any], float]
) -> None:
    def fire() -> None:
        with _lock:
            _timers.discard(timer)
        # Announced only if nothing changed the stack since (a later call announces its own).
        if settles_at(stack) == due and stack.__dict__.get("_status") == status:
            announce(stack, status, token)

    timer = threading.Timer(max(due - time.monotonic(), 0.0) + 0.001, fire)
    timer.daemon = True
    with _lock:
        _timers.add(timer)
    timer.start()


def _reason(stack: Any, status: str) -> str:
    """The status reason of the stack's latest event for `status`, as DescribeStackEvents shows it."""
    for event in reversed(getattr(stack, "events", [])):
        if event.logical_resource_id == stack.name and event.resource_status == status:
            return str(event.resource_status_reason or "")
    return ""


def detail(stack: Any, status: str, token: str | None) -> dict[str, Any]:
    return {
        "stack-id": stack.stack_id,
        "status-details": {"status": status, "status-reason": _reason(stack, status)},
        "client-request-token": token or "",
    }


def announce(stack: Any, status: str, token: str | None) -> None:
    from moto.events.models import events_backends  # noqa: PLC0415

    entry = {
        "Source": SOURCE,
        "DetailType": DETAIL_TYPE,
        "Detail": json.dumps(detail(stack, status, token)),
        "Resources": [stack.stack_id],
        "EventBusName": "default",
    }
    try:
        events_backends[stack.account_id][stack.region_name].put_events([entry])
    except Exception:  # AWS's delivery of these events is best effort: the stack goes on
        log.exception("could not deliver the status event of %s (%s)", stack.stack_id, status)


def cancel() -> None:
    """Forget every announcement still due (a test that ends before its stacks settle)."""
    with _lock:
        timers = list(_timers)
        _timers.clear()
        _pending.clear()
    for timer in timers:
        timer.cancel()
