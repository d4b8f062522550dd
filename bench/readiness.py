"""The `readiness` figure: how long an operation takes to be SUCCEEDED once its stack has settled.

The workflow waits on CloudFormation with a `.waitForTaskToken` task (AwaitStack): CloudFormation's
`CloudFormation Stack Status Change` event goes through an EventBridge rule on the default bus to
StackStatusChangedFunction, which resumes the wait; without an event the wait times out after one
poll interval (StackPollIntervalSeconds) and CheckStack looks at the stack (the fallback).

1. events (settle 2 s, StackPollIntervalSeconds 30, so that only the event can end a wait in
   time): one create and one delete not counted (the functions' first invocations), then creates
   one at a time, then deletes of the same repositories one at a time. For each operation:
   - the moment the emulated stack reached its terminal status: the bench polls DescribeStacks
     on the stack (every 10 ms between answers, from the operation's request on) and brackets it
     between the last answer still *_IN_PROGRESS (the sending of that request) and the first
     with the terminal status (the receipt of that answer); the moment is the bracket's middle.
     The status event's own `time` cannot serve: moto writes it in whole seconds;
   - the moment the execution succeeded: its stopDate (DescribeExecution), and its history for
     where the time goes (the wait resumed, FinalizeSuccess, EmitSucceeded, the end);
   - its Lambda invocations: the history's TaskScheduled of lambda resources (each attempt
     is one), and StackStatusChangedFunction's: one per status event its rule delivers. The
     events are counted by a second rule with the same pattern and an SQS target (the bench's
     own), and checked against the function's log ("wait resumed" lines for the stack).
   Then, in the full run, the function's rule is disabled (`events.disable_rule`: the emulator's
   rule delivers nothing then, as on AWS) and one create and one delete run again: the
   invocations with the fallback alone, at the same poll interval.
2. fallback (settle 2 s, StackPollIntervalSeconds 2, the function's rule disabled from the
   start): creates and deletes one at a time, the same measurements; the wait times out and
   CheckStack finds the stack settled, so the latency is at most about one interval.

BENCH_QUICK=1: fewer operations, and the fallback-only invocations from the second stack (poll
interval 2 s) instead of 30 s waits.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from agentcore_ecr.domain.naming import stack_name_for
from bench import scale
from bench.aws import ENVIRONMENT, PREFIX, Api, Aws, BenchError, error_code, say
from bench.results import Figure, at_most, figure, summary

SETTLE = 2.0  # seconds an emulated stack reports *_IN_PROGRESS after each change
POLL_INTERVAL = 30  # StackPollIntervalSeconds of the events stack (the POLL_SECONDS=30)
FALLBACK_POLL_INTERVAL = 3  # of the fallback stack: not a multiple of the settle, whose phase it would race
GOAL_MS = 250.0  # locally; the goal on AWS is 1 s
GOAL = "p99 <= 250 ms locally (<= 1 s on AWS)"
WATCH_PAUSE = 0.01  # seconds between a DescribeStacks answer and the next request
WAIT_PAUSE = 0.2  # seconds between DescribeExecution requests once the stack has settled
PAUSE_BETWEEN = 0.5  # after an operation, for its last events to be handled before the next one
FUNCTION = "StackStatusChangedFunction"
TWIN_RULE = "bench-readiness-twin"
TWIN_QUEUE = "bench-readiness-events"
RESUMED = "wait resumed by the stack's status event"
SETTLED = {
    "create": frozenset({"CREATE_COMPLETE", "CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED"}),
    "delete": frozenset({"DELETE_COMPLETE", "DELETE_FAILED"}),
}
RESUMING_STATES = ("AwaitStack", "CheckStack")  # a task whose success carries the stack's state


@dataclass(frozen=True)
class Counts:
    """How many operations each part runs (BENCH_QUICK=1: fewer, and no 30 s fallback waits)."""

    operations: int = 20  # creates, then as many deletes
    fallback_operations: int = 5  # creates, then as many deletes, on the fallback stack
    fallback_only_at_interval: bool = True  # the rule disabled on the events stack: 1 create, 1 delete

    @classmethod
    def for_plan(cls, plan: scale.Plan) -> Counts:
        if not plan.quick:
            return cls()
        return cls(operations=5, fallback_operations=3, fallback_only_at_interval=False)


# What one operation shows -----------------------------------------------------------------------


@dataclass(frozen=True)
class Bracket:
    """When the stack reached its terminal status, as polling DescribeStacks saw it (epoch seconds)."""

    before: float  # the last request whose answer still showed the change under way was sent
    after: float  # the first answer with the terminal status was received
    status: str
    polls: int

    @property
    def moment(self) -> float:
        return (self.before + self.after) / 2

    @property
    def width(self) -> float:
        return self.after - self.before


@dataclass(frozen=True)
class Step:
    """One event of an execution's history, with the state it belongs to."""

    at: float  # epoch seconds
    type: str
    state: str | None
    resource_type: str | None = None
    function: str | None = None  # a lambda task's function name


def steps(events: Iterable[Mapping[str, Any]]) -> list[Step]:
    """GetExecutionHistory's events (boto3's shape) as Steps: each Task* event is given the state
    entered before it, and a lambda task its function's name."""
    found: list[Step] = []
    state: str | None = None
    for event in events:
        entered = event.get("stateEnteredEventDetails")
        if isinstance(entered, Mapping):
            state = str(entered.get("name"))
        details = next(
            (
                value
                for key, value in event.items()
                if key.endswith("EventDetails") and isinstance(value, Mapping)
            ),
            {},
        )
        resource_type = details.get("resourceType")
        function: str | None = None
        if event["type"] == "TaskScheduled" and resource_type == "lambda":
            parameters = json.loads(str(details.get("parameters") or "{}"))
            function = str(parameters.get("FunctionName", "?")).rsplit(":", 1)[-1]
        elif event["type"] == "LambdaFunctionScheduled":  # a state with a function ARN as its Resource
            function = str(details.get("resource", "?")).rsplit(":", 1)[-1]
        timestamp = event["timestamp"]
        at = timestamp.timestamp() if hasattr(timestamp, "timestamp") else float(timestamp)
        found.append(
            Step(at, str(event["type"]), state, str(resource_type) if resource_type else None, function)
        )
    return found


def lambda_invocations(history: Sequence[Step]) -> Counter[str]:
    """The workflow's Lambda invocations, by function: one per lambda task attempt scheduled."""
    return Counter(step.function for step in history if step.function is not None)


def moments(history: Sequence[Step]) -> dict[str, float]:
    """When the wait was resumed (the last AwaitStack or CheckStack success before FinalizeSuccess),
    FinalizeSuccess succeeded, EmitSucceeded succeeded, and the execution succeeded."""
    found: dict[str, float] = {}
    for step in history:
        if step.type == "ExecutionSucceeded":
            found["succeeded"] = step.at
        if step.type != "TaskSucceeded":
            continue
        if step.state in RESUMING_STATES and "finalized" not in found:
            found["resumed"] = step.at
        elif step.state == "FinalizeSuccess":
            found["finalized"] = step.at
        elif step.state == "EmitSucceeded":
            found["emitted"] = step.at
    return found


SEGMENTS = (  # (name, from, to): from the stack's terminal moment ("terminal") to the end
    ("terminal_to_resumed", "terminal", "resumed"),
    ("resumed_to_finalized", "resumed", "finalized"),
    ("finalized_to_emitted", "finalized", "emitted"),
    ("emitted_to_succeeded", "emitted", "succeeded"),
)


def segments(terminal: float, history: Sequence[Step]) -> dict[str, float]:
    """Seconds of each segment between the terminal status and SUCCEEDED (those the history shows)."""
    found = {"terminal": terminal, **moments(history)}
    return {
        name: found[end] - found[start] for name, start, end in SEGMENTS if start in found and end in found
    }


def timeline(terminal: float, history: Sequence[Step]) -> list[str]:
    """The history from the terminal moment on, as "+x ms State Type" lines (one operation's example)."""
    return [
        f"{(step.at - terminal) * 1000:+.0f} ms {step.state or '-'} {step.type}"
        for step in history
        if step.at >= terminal - 0.5 and (step.type.startswith(("Task", "Execution")) or step.function)
    ]


@dataclass
class Operation:
    action: str  # "create" or "delete"
    name: str
    operation: str
    stack_id: str | None
    terminal: Bracket | None
    status: str  # the execution's
    stopped: float | None  # its stopDate (epoch seconds)
    history: list[Step] = field(default_factory=list)
    rule_enabled: bool = True  # StackStatusChangedFunction's rule, during the operation
    status_events: int = 0  # the stack's status events of this change that the rule's pattern matches
    resumed_in_log: int = 0  # "wait resumed" lines of the function's log for this change

    @property
    def latency(self) -> float | None:
        """Seconds from the stack's terminal status to the execution's stopDate."""
        if self.terminal is None or self.stopped is None or self.status != "SUCCEEDED":
            return None
        return self.stopped - self.terminal.moment

    def invocations(self) -> dict[str, Any]:
        """The Lambda invocations of this operation: the workflow's, and the status events' (one
        asynchronous invocation of StackStatusChangedFunction per event its rule delivers)."""
        workflow = lambda_invocations(self.history)
        by_event = self.status_events if self.rule_enabled else 0
        return {
            "total": sum(workflow.values()) + by_event,
            "workflow": dict(sorted(workflow.items())),
            FUNCTION: by_event,
            "status_events": self.status_events,
            "rule": "ENABLED" if self.rule_enabled else "DISABLED",
            "resumed_in_log": self.resumed_in_log,
        }


def of_change(action: str, status: str) -> bool:
    """Whether a stack status belongs to that action's change (a delete's are DELETE_*)."""
    return status.startswith("DELETE_") == (action == "delete")


def status_events(messages: Iterable[str]) -> Counter[tuple[str, str]]:
    """(stack id, status) of each event the twin rule put on its queue (the messages' bodies)."""
    found: Counter[tuple[str, str]] = Counter()
    for body in messages:
        detail = json.loads(body).get("detail", {})
        found[str(detail.get("stack-id")), str(detail.get("status-details", {}).get("status"))] += 1
    return found


def resumed_lines(log: str) -> Counter[tuple[str, str]]:
    """(stack id, status) of each "wait resumed" line of StackStatusChangedFunction's log, one per
    invocation (its request id)."""
    found: dict[str, tuple[str, str]] = {}
    for line in log.splitlines():
        if RESUMED not in line:
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if entry.get("message") == RESUMED:
            key = str(entry.get("function_request_id") or len(found))
            found[key] = (str(entry.get("stack_id")), str(entry.get("stack_status")))
    return Counter(found.values())


def attribute(
    operations: Sequence[Operation], events: Counter[tuple[str, str]], log: Counter[tuple[str, str]]
) -> None:
    """Give each operation the status events and the log's resumed lines of its own change."""
    for item in operations:
        if item.stack_id is None:
            continue
        item.status_events = sum(
            count
            for (stack, status), count in events.items()
            if stack == item.stack_id and of_change(item.action, status)
        )
        item.resumed_in_log = sum(
            count
            for (stack, status), count in log.items()
            if stack == item.stack_id and of_change(item.action, status)
        )


# The figure --------------------------------------------------------------------------------------


def tail(samples: Sequence[float]) -> dict[str, Any]:
    """n, p50 (the median), p99 (nearest rank), min and max, in ms."""
    return summary(samples, tail=99)


def latencies(operations: Iterable[Operation]) -> list[float]:
    return [item.latency for item in operations if item.latency is not None]


def where(operations: Sequence[Operation]) -> dict[str, dict[str, Any]]:
    """Each segment's p50 and p99 over the operations (ms)."""
    found: dict[str, list[float]] = {name: [] for name, _, _ in SEGMENTS}
    for item in operations:
        if item.terminal is None or item.latency is None:
            continue
        for name, seconds in segments(item.terminal.moment, item.history).items():
            found[name].append(seconds)
    return {name: tail(samples) for name, samples in found.items()}


def invocations_of(operations: Sequence[Operation]) -> dict[str, Any]:
    """The first operation's invocations, and the totals over all of them (to show they agree)."""
    if not operations:
        return {}
    totals = Counter(str(item.invocations()["total"]) for item in operations)
    return {**operations[0].invocations(), "totals_over_operations": dict(sorted(totals.items()))}


def example(item: Operation | None) -> list[str]:
    if item is None or item.terminal is None:
        return []
    return timeline(item.terminal.moment, item.history)


def median_one(operations: Sequence[Operation]) -> Operation | None:
    """The operation whose latency is the median's (the lower one of an even count)."""
    timed = sorted(
        (item for item in operations if item.latency is not None), key=lambda item: item.latency or 0.0
    )
    return timed[(len(timed) - 1) // 2] if timed else None


def slowest_one(operations: Sequence[Operation]) -> Operation | None:
    timed = [item for item in operations if item.latency is not None]
    return max(timed, key=lambda item: item.latency or 0.0) if timed else None


def readiness_figure(
    creates: Sequence[Operation],
    deletes: Sequence[Operation],
    fallback_only: Sequence[Operation],
    fallback_only_interval: int,
    fallback: Sequence[Operation],
) -> Figure:
    both = [*creates, *deletes]
    every = tail(latencies(both))
    planned = len(both)
    statuses = Counter(item.status for item in both)
    value = every["p99"]
    met = at_most(GOAL_MS)(value)
    if every["n"] < planned:
        met = False if planned else None
    brackets = [item.terminal.width for item in both if item.terminal is not None]
    bounds = [
        (item.stopped - item.terminal.before, item.stopped - item.terminal.after)
        for item in both
        if item.latency is not None and item.terminal is not None and item.stopped is not None
    ]
    segments_ms = where(both)
    events = {
        "create": invocations_of(creates),
        "delete": invocations_of(deletes),
    }
    only_create = invocations_of([item for item in fallback_only if item.action == "create"])
    only_delete = invocations_of([item for item in fallback_only if item.action == "delete"])
    only_ms = tail(latencies(fallback_only))
    only = {
        "poll_interval_s": fallback_only_interval,
        "latency_ms": only_ms,
        "create": only_create,
        "delete": only_delete,
    }
    fallback_creates = [item for item in fallback if item.action == "create"]
    fallback_deletes = [item for item in fallback if item.action == "delete"]
    fallback_all = tail(latencies(fallback))
    fallback_items = {
        "poll_interval_s": FALLBACK_POLL_INTERVAL,
        "settle_s": SETTLE,
        "all_ms": fallback_all,
        "create_ms": tail(latencies(fallback_creates)),
        "delete_ms": tail(latencies(fallback_deletes)),
        "statuses": dict(Counter(item.status for item in fallback)),
        "invocations": {
            "create": invocations_of(fallback_creates),
            "delete": invocations_of(fallback_deletes),
        },
        "max_beyond_one_interval_ms": (
            round(fallback_all["max"] - FALLBACK_POLL_INTERVAL * 1000, 1)
            if fallback_all["max"] is not None
            else None
        ),
        "example": {"slowest": example(slowest_one(fallback))},
    }

    def counted(record: Mapping[str, Any]) -> str:
        if not record:
            return "-"
        workflow = record["workflow"]
        parts = [f"{name.removesuffix('Function')} {count}" for name, count in workflow.items()]
        if record[FUNCTION]:
            parts.append(f"{FUNCTION.removesuffix('Function')} {record[FUNCTION]}")
        return f"{record['total']} ({', '.join(parts)})"

    creates_ms, deletes_ms = tail(latencies(creates)), tail(latencies(deletes))
    note = (
        f"p50 {every['p50']} ms, p99 {every['p99']} ms over {every['n']} (creates p50 {creates_ms['p50']} / "
        f"p99 {creates_ms['p99']} ms, deletes p50 {deletes_ms['p50']} / p99 {deletes_ms['p99']} ms); "
        f"statuses {dict(statuses)}. The terminal moment: DescribeStacks polled from the bench every "
        f"{WATCH_PAUSE * 1000:g} ms between answers, the middle of the bracket between the last answer still "
        f"in progress and the first settled one (bracket p50 {tail(brackets)['p50']} ms, max "
        f"{tail(brackets)['max']} ms; the status event's own `time` is in whole seconds in moto). Where the "
        f"time goes, p50: the wait resumed after {segments_ms['terminal_to_resumed']['p50']} ms (the event, "
        f"StackStatusChangedFunction, SendTaskSuccess), FinalizeSuccess "
        f"{segments_ms['resumed_to_finalized']['p50']} ms, EmitSucceeded "
        f"{segments_ms['finalized_to_emitted']['p50']} ms, to the end "
        f"{segments_ms['emitted_to_succeeded']['p50']} ms. Lambda invocations per operation with the "
        f"events: create {counted(events['create'])}, delete {counted(events['delete'])}; with the rule "
        f"disabled (fallback only, poll {fallback_only_interval} s, which then takes {only_ms['p50']} ms "
        f"p50 from the settled stack to SUCCEEDED): create {counted(only_create)}, "
        f"delete {counted(only_delete)} (the API's own function, one more per operation, is the same in "
        f"both). Fallback latency (rule disabled, poll {FALLBACK_POLL_INTERVAL} s): p50 "
        f"{fallback_all['p50']} ms, max {fallback_all['max']} ms over {fallback_all['n']} (the check after "
        "a wait that timed out finds the stack settled)"
    )
    return figure(
        f"from the emulated stack's terminal status to the operation's SUCCEEDED (the execution's stopDate), "
        f"{len(creates)} creates then {len(deletes)} deletes one at a time, StackPollIntervalSeconds "
        f"{POLL_INTERVAL}, settle {SETTLE:g} s; p99",
        None,
        value,
        "ms (p99, stack settled to SUCCEEDED)",
        None,
        GOAL,
        met,
        note,
        {
            "settings": {
                "settle_s": SETTLE,
                "poll_interval_s": POLL_INTERVAL,
                "describe_stacks_pause_ms": WATCH_PAUSE * 1000,
            },
            "all_ms": every,
            "create_ms": creates_ms,
            "delete_ms": deletes_ms,
            "bounds_ms": {
                "upper": tail([upper for upper, _ in bounds]),  # from the last request still under way
                "lower": tail([lower for _, lower in bounds]),  # from the first answer showing it settled
            },
            "bracket_ms": tail(brackets),
            "describe_stacks_polls": summary(
                [float(item.terminal.polls) for item in both if item.terminal], 1.0, 0, tail=99
            ),
            "statuses": dict(statuses),
            "segments_ms": segments_ms,
            "invocations": {"events": events, "fallback_only": only},
            "fallback": fallback_items,
            "example": {
                "create": example(median_one(creates)),
                "delete": example(median_one(deletes)),
                "slowest": example(slowest_one(both)),
            },
        },
    )


# Measuring -----------------------------------------------------------------------------------


class Probe:
    """Operations through the API on one local stack, each watched from its request to its end."""

    def __init__(self, api: Api, aws: Aws, timeout: float) -> None:
        self.api = api
        self.aws = aws
        self.timeout = timeout
        self.cfn = aws.client("cloudformation")
        self.sfn = aws.client("stepfunctions")
        self.events = aws.client("events")
        self.sqs = aws.client("sqs")
        self.stacks: dict[str, str] = {}  # repository name -> stack id
        self.rule = self._function_rule()
        self.queue = self._twin()

    def _function_rule(self) -> dict[str, Any]:
        """The default bus's rule that targets StackStatusChangedFunction."""
        for rule in self.events.list_rules(EventBusName="default")["Rules"]:
            targets = self.events.list_targets_by_rule(Rule=rule["Name"], EventBusName="default")["Targets"]
            if any(str(target["Arn"]).endswith(f":function:{FUNCTION}") for target in targets):
                return dict(rule)
        raise BenchError(f"no rule on the default bus targets {FUNCTION}")

    def _twin(self) -> str:
        """A rule with the function's rule's pattern and an SQS target: the events it delivers."""
        url = str(self.sqs.create_queue(QueueName=TWIN_QUEUE)["QueueUrl"])
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.events.put_rule(Name=TWIN_RULE, EventPattern=self.rule["EventPattern"], State="ENABLED")
        self.events.put_targets(Rule=TWIN_RULE, Targets=[{"Id": "queue", "Arn": arn}])
        return url

    def disable_rule(self) -> None:
        self.events.disable_rule(Name=self.rule["Name"], EventBusName="default")

    def rule_enabled(self) -> bool:
        return str(self.events.describe_rule(Name=self.rule["Name"])["State"]) == "ENABLED"

    def drain(self) -> list[str]:
        """Every message on the twin rule's queue (received and deleted)."""
        bodies: list[str] = []
        for _ in range(1000):
            messages = self.sqs.receive_message(
                QueueUrl=self.queue, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", [])
            if not messages:
                break
            for message in messages:
                bodies.append(str(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])
        return bodies

    def watch(self, action: str, stack: str, since: float) -> tuple[Bracket | None, str | None]:
        """Poll DescribeStacks until the stack shows a terminal status of the change."""
        before, polls, stack_id = since, 0, None
        settled = SETTLED[action]
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            sent = time.time()
            try:
                found = self.cfn.describe_stacks(StackName=stack_id or stack)["Stacks"]
            except ClientError as error:
                if error_code(error) != "ValidationError":  # not there yet
                    raise
                found = []
            received = time.time()
            polls += 1
            if found:
                stack_id = str(found[0]["StackId"])
                status = str(found[0]["StackStatus"])
                if status in settled:
                    return Bracket(before, received, status, polls), stack_id
            before = sent
            time.sleep(WATCH_PAUSE)
        return None, stack_id

    def finished(self, operation: str) -> tuple[str, float | None]:
        """Wait for the execution to end (DescribeExecution): its status and stopDate."""
        deadline = time.monotonic() + self.timeout
        status, stopped = "RUNNING", None
        while time.monotonic() < deadline:
            status, stopped = self.aws.stopped_at(operation)
            if status != "RUNNING":
                break
            time.sleep(WAIT_PAUSE)
        return status, stopped

    def history(self, operation: str) -> list[Step]:
        events: list[dict[str, Any]] = []
        paginator = self.sfn.get_paginator("get_execution_history")
        for page in paginator.paginate(executionArn=self.aws.execution_arn(operation)):
            events.extend(page["events"])
        return steps(events)

    def run(self, action: str, name: str) -> Operation:
        enabled = self.rule_enabled()
        if action == "create":
            answer, operation = self.api.create(name)
            stack = stack_name_for(PREFIX, name, ENVIRONMENT)
        else:
            answer = self.api.expect("DELETE", f"/repositories/{name}", 202)
            if not isinstance(answer.body, dict) or not isinstance(answer.body.get("operationId"), str):
                raise BenchError(f"not an Operation: {answer.body}")
            operation = str(answer.body["operationId"])
            stack = self.stacks.get(name) or stack_name_for(PREFIX, name, ENVIRONMENT)
        terminal, stack_id = self.watch(action, stack, answer.sent_at)
        if stack_id is not None:
            self.stacks[name] = stack_id
        status, stopped = self.finished(operation)
        item = Operation(
            action, name, operation, stack_id, terminal, status, stopped, self.history(operation), enabled
        )
        time.sleep(PAUSE_BETWEEN)
        return item

    def pair(self, name: str) -> list[Operation]:
        return [self.run("create", name), self.run("delete", name)]


def count_events(probe: Probe, log_path: Path, operations: Sequence[Operation]) -> None:
    """The status events and the function's resumed lines, given to each operation."""
    time.sleep(1.0)  # the last delete's event, if any is still on its way
    events = status_events(probe.drain())
    try:
        log = resumed_lines(log_path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        log = Counter()
    attribute(operations, events, log)


def measure(plan: scale.Plan) -> dict[str, Figure]:
    counts = Counts.for_plan(plan)
    creates: list[Operation] = []
    deletes: list[Operation] = []
    fallback_only: list[Operation] = []
    with scale.local_stack("readiness", SETTLE, {"StackPollIntervalSeconds": str(POLL_INTERVAL)}) as (
        stack,
        api,
        aws,
    ):
        probe = Probe(api, aws, POLL_INTERVAL + 60.0)
        say("readiness: one create and one delete not counted (the functions' first invocations)")
        probe.pair("ready/warm-up")
        names = [f"ready/r-{index:03d}" for index in range(counts.operations)]
        say(f"readiness: {len(names)} creates, then {len(names)} deletes, one at a time")
        creates = [probe.run("create", name) for name in names]
        deletes = [probe.run("delete", name) for name in names]
        if counts.fallback_only_at_interval:
            say(
                f"readiness: the function's rule disabled, one create and one delete "
                f"(waits of {POLL_INTERVAL} s)"
            )
            probe.disable_rule()
            fallback_only = probe.pair("ready/fallback-only")
        count_events(probe, stack.log_dir / f"{FUNCTION}.log", [*creates, *deletes, *fallback_only])
    with scale.local_stack(
        "readiness-fallback", SETTLE, {"StackPollIntervalSeconds": str(FALLBACK_POLL_INTERVAL)}
    ) as (stack, api, aws):
        probe = Probe(api, aws, FALLBACK_POLL_INTERVAL + 60.0)
        probe.disable_rule()
        say(f"readiness: the fallback alone (rule disabled, poll {FALLBACK_POLL_INTERVAL} s)")
        probe.pair("fall/warm-up")
        names = [f"fall/r-{index:03d}" for index in range(counts.fallback_operations)]
        fallback = [probe.run("create", name) for name in names] + [
            probe.run("delete", name) for name in names
        ]
        count_events(probe, stack.log_dir / f"{FUNCTION}.log", fallback)
    if not counts.fallback_only_at_interval:
        fallback_only = [
            next(item for item in fallback if item.action == action) for action in ("create", "delete")
        ]
    interval = POLL_INTERVAL if counts.fallback_only_at_interval else FALLBACK_POLL_INTERVAL
    return {"readiness": readiness_figure(creates, deletes, fallback_only, interval, fallback)}


if __name__ == "__main__":
    print(json.dumps(measure(scale.Plan.from_environment()), indent=2))
