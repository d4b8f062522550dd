"""Patches 8, LAMBDA_RUNS_HANDLERS, and 9, EVENTBRIDGE_TO_LAMBDA: Lambda without Docker; 20,
EVENT_HAS_ACCOUNT: the events EventBridge delivers carry their account; 23, DISABLED_RULES_SILENT:
a disabled rule delivers nothing; 25's resource-based part: EventBridge writes to a target's
dead-letter queue only if the queue's policy lets the rule do so; and 30, DELIVERED_ENVELOPE: a
Lambda target, and the dead-letter queue of one, get the envelope EventBridge delivers."""

from __future__ import annotations

import copy
import json
import logging
from datetime import UTC, datetime
from typing import Any

from local import iam
from local.emulator import access
from local.emulator.options import options

log = logging.getLogger(__name__)


def _patch_lambda_invoke() -> None:
    from moto.awslambda_simple.models import LambdaSimpleBackend  # noqa: PLC0415

    original = LambdaSimpleBackend.invoke

    def invoke(
        self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
    ) -> bytes | str | None:
        if options.invoke is None:
            return original(self, function_name, qualifier, body, headers, response_headers)
        name = function_name.rsplit(":", 1)[-1]
        payload = body.encode() if isinstance(body, str) else bytes(body or b"{}")
        if headers.get("X-Amz-Invocation-Type") == "Event" and options.invoke_async is not None:
            options.invoke_async(name, payload, None)
            return b""
        result, error = options.invoke(name, payload)
        if error is not None:
            response_headers["x-amz-function-error"] = error
        return result

    LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]


def _queue_policy_allows(backend: Any, queue: str, queue_arn: str, rule_arn: str) -> bool:
    """25. The queue's resource-based policy lets EventBridge send for this rule (EventBridge User
    Guide, "Using dead-letter queues to process undelivered events": the policy allows
    `events.amazonaws.com` to `sqs:SendMessage`, with the rule's ARN as `aws:SourceArn`)."""
    try:
        policy = backend.get_queue(queue)._policy_json
    except Exception:  # noqa: BLE001 - a queue that does not exist takes nothing
        return False
    account = queue_arn.split(":")[4]
    context = {"aws:SourceArn": rule_arn, "aws:SourceAccount": account}
    decision = iam.evaluate([policy], "sqs:SendMessage", queue_arn, context, principal="events.amazonaws.com")
    if options.record_decision is not None:
        options.record_decision("events.amazonaws.com", "sqs:SendMessage", queue_arn, decision.allowed)
    return decision.allowed


def delivered(event: Any) -> dict[str, Any]:
    """30. DELIVERED_ENVELOPE: the event as EventBridge hands it to a target, from moto's record of it.

    moto keeps `time` as a Unix timestamp and adds its own `ingestion-time` (for archives and input
    transformers); EventBridge delivers `time` as an ISO 8601 UTC timestamp without fractions and
    no other top-level field than the envelope's (EventBridge User Guide, "Amazon EventBridge events").
    """
    envelope = {key: value for key, value in dict(event).items() if key != "ingestion-time"}
    if isinstance(envelope.get("time"), int | float):
        moment = datetime.fromtimestamp(envelope["time"], UTC)
        envelope["time"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return envelope


def _dead_letter(rule: Any, target: dict[str, Any], event: Any, code: str, message: str) -> None:
    """EventBridge's dead-letter message for an event it could not deliver to a target."""
    from moto.sqs.models import sqs_backends  # noqa: PLC0415

    queue_arn = target.get("DeadLetterConfig", {}).get("Arn")
    if not queue_arn:
        return
    _, _, _, region, account, queue = queue_arn.split(":", 5)
    if options.enforce_iam and not _queue_policy_allows(
        sqs_backends[account][region], queue, queue_arn, rule.arn
    ):
        log.error("%s: the event is lost: the dead-letter queue's policy does not let it send", rule.arn)
        return
    attributes = {
        "ERROR_CODE": code,
        "ERROR_MESSAGE": message,
        "RULE_ARN": rule.arn,
        "TARGET_ARN": target["Arn"],
    }
    sqs_backends[account][region].send_message(
        queue,
        json.dumps(delivered(event)),
        message_attributes={
            key: {"DataType": "String", "StringValue": value} for key, value in attributes.items()
        },
    )


def _patch_eventbridge_lambda_targets() -> None:
    from moto.events import models as events  # noqa: PLC0415

    original = events.Rule.send_to_targets

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        if getattr(self, "state", "ENABLED") != "ENABLED":  # 23: a disabled rule delivers nothing
            return
        lambdas = [target for target in self.targets if target["Arn"].startswith("arn:aws:lambda:")]
        others = copy.copy(self)  # moto raises on a Lambda target: give it the other targets only
        others.targets = [target for target in self.targets if target not in lambdas]
        original(others, original_event, transform_input)
        if options.invoke_async is None or not self.event_pattern.matches_event(original_event):
            return
        for target in lambdas:
            if options.enforce_iam and not access.resource_policy_allows(
                target["Arn"], "events.amazonaws.com", self.arn
            ):
                message = f"The function's resource-based policy does not let {self.arn} invoke it."
                _dead_letter(self, target, original_event, "NO_PERMISSIONS", message)
                continue
            options.invoke_async(
                target["Arn"].rsplit(":", 1)[-1],
                json.dumps(delivered(original_event)).encode(),
                target.get("DeadLetterConfig", {}).get("Arn"),
            )

    events.Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]


def _patch_event_account() -> None:
    """20. EVENT_HAS_ACCOUNT."""
    from moto.events.utils import EventTemplateParser  # noqa: PLC0415

    template = EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE
    if '"account"' not in template:
        EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = template.replace(
            '"version": "0", ', '"version": "0", "account": "<account>", '
        )


def apply() -> None:
    _patch_lambda_invoke()
    _patch_eventbridge_lambda_targets()
    _patch_event_account()
