"""The figures of issue 8 that need a running local stack: `latency`, `list_scale`, `admission`,
`provisioning`, `throughput` and `seed` (bench/results.py writes them to bench/results.json).

Black box: the service is reached through its signed HTTP API, and the local AWS through direct
boto3 calls to the stack's moto endpoint (floors, seeding, the catalog's table, executions).
Local stacks one after the other, each on free loopback ports with `--auth iam`:

1. reads (settle 0): one repository made through the API, then managed repositories seeded
   directly as CloudFormation stacks (bench/aws.py `Seeder`) and the catalog rebuilt from them by
   the repair function; a page of 50 at each level of `list_scale`, and at 1,000 managed every
   read route of `latency` against its floor;
2. admission (settle 600 s, StackPollIntervalSeconds 300, a fresh stack per level): POST
   /repositories to 202 with 0 (the `latency` route too, against its floor), then 50 and 200
   operations RUNNING; each measured POST's execution is stopped once it waits on its stack, so
   the count stays put and nothing of it runs during the next sample;
3. operations (settle 2 s, poll interval 1 s): POST to SUCCEEDED one at a time (`provisioning`),
   batches of concurrent creates (`throughput`), and agentcore-cli's blocking create of its own
   template (`seed`).

Every loop is bounded in count and in time; all traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from tests.integration.conftest import LocalStackProcess, start_local_stack, stop_local_stack

from agentcore_ecr.domain.naming import stack_name_for
from bench import results
from bench.aws import (
    ENVIRONMENT,
    PREFIX,
    Api,
    Aws,
    BenchError,
    Caller,
    Catalog,
    Seeder,
    find_catalog,
    function_exists,
    list_query,
    paired,
    repair,
    say,
    series,
    timed,
)
from bench.results import Figure, at_most, figure, floor_of, ratio, skipped, summary

ROOT = Path(__file__).resolve().parent.parent
CLI_TEMPLATE = ROOT / "tests" / "agentcore_cli_template.yaml"
REPAIR_FUNCTION = "RepairCatalogFunction"
LIST_LIMIT = 50
LATENCY_GOAL = 1.5
LIST_GOAL = 1.2
ADMISSION_GOAL = 1.5
OVERHEAD_GOAL_MS = 250.0
ADMISSION_SETTLE = 600.0  # seconds an emulated stack stays *_IN_PROGRESS in the admission stack
ADMISSION_POLL = 300  # StackPollIntervalSeconds there (the template's maximum)
OPERATIONS_SETTLE = 2.0
POLL_INTERVAL = 1  # the local stack's StackPollIntervalSeconds unless overridden
CLI_POLL_SECONDS = 10.0
PAUSE_AFTER_STOP = 0.1  # for the stopped execution's status event to be handled before the next sample
PAUSE_AFTER_FLOOR = 0.05
OPERATION_TIMEOUT = 90.0

ROUTES = {
    "post": "POST /repositories → 202",
    "get": "GET /repositories/{name}",
    "list": f"GET /repositories?limit={LIST_LIMIT}",
    "token": "POST /auth-token",
    "operation": "GET /operations/{id}",
}
LATENCY_KEYS = ("post", "get", "list", "token", "operation")
READS_QUOTA_ROOM = 100  # stacks the reads stack may hold beyond its largest list level (the target is one)


@dataclass(frozen=True)
class Plan:
    """How much each figure measures: the full run, or BENCH_QUICK=1's short one."""

    quick: bool = False
    warmup: int = 5
    latency_requests: int = 300
    list_levels: tuple[int, ...] = (100, 1_000, 5_000)  # the middle one is latency's "among 1,000"
    list_requests: int = 100
    admission_levels: tuple[int, ...] = (0, 50, 200)
    admission_requests: int = 100
    provisioning_runs: int = 20
    throughput_batches: tuple[int, ...] = (50, 200)
    seed_runs: int = 5
    series_budget: float = 360.0  # seconds, per timed series
    seed_budget: float = 900.0  # seconds, per seeding step
    fill_budget: float = 300.0  # seconds, to start an admission level's operations

    @classmethod
    def quick_run(cls) -> Plan:
        return cls(
            quick=True,
            warmup=3,
            latency_requests=30,
            list_levels=(100, 300, 600),
            list_requests=20,
            admission_levels=(0, 10, 30),
            admission_requests=15,
            provisioning_runs=5,
            throughput_batches=(10, 30),
            seed_runs=2,
            series_budget=90.0,
            seed_budget=300.0,
            fill_budget=120.0,
        )

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Plan:
        return cls.quick_run() if environ.get("BENCH_QUICK", "") not in ("", "0") else cls()

    def describe(self) -> str:
        return (
            f"{'quick' if self.quick else 'full'} run: {self.latency_requests} requests a route, list levels "
            f"{', '.join(f'{level:,}' for level in self.list_levels)}, admission levels "
            f"{', '.join(str(level) for level in self.admission_levels)} ({self.admission_requests} POSTs "
            f"each), {self.provisioning_runs} provisioning runs, throughput batches "
            f"{' and '.join(str(size) for size in self.throughput_batches)}, {self.seed_runs} seed runs"
        )


@contextmanager
def local_stack(
    label: str, settle: float, parameters: dict[str, str] | None = None, stack_quota: int | None = None
) -> Iterator[tuple[LocalStackProcess, Api, Aws]]:
    state = Path(tempfile.mkdtemp(prefix=f"bench-{label}-"))
    shown = parameters or "default parameters"
    quota = f", stack quota {stack_quota:,}" if stack_quota is not None else ""
    say(f"starting the {label} stack (settle {settle:g} s, {shown}{quota}; logs in {state})")
    stack = start_local_stack(state, settle, parameters=parameters, stack_quota=stack_quota)
    try:
        yield stack, Api(stack), Aws(stack.aws)
    finally:
        try:
            stop_local_stack(stack)
        except Exception:  # noqa: BLE001 - a stack that will not stop is killed
            stack.process.kill()
            stack.process.wait(timeout=10)


def route_item(
    what: str, floor_what: str, route: list[float], floor: list[float], planned: int, note: str = ""
) -> Figure:
    """One route of `latency`: its p50 against its floor's, both in ms."""
    measured, base = summary(route), summary(floor)
    value = ratio(measured["p50"], base["p50"])
    if measured["n"] < planned:
        short = f"{measured['n']} of {planned} requests within the time budget"
        note = f"{note}; {short}" if note else short
    return figure(
        what,
        floor_of(floor_what, base["p50"], "ms", p95=base["p95"], n=base["n"]),
        measured["p50"],
        "ms",
        value,
        f"p50 ratio <= {LATENCY_GOAL}",
        at_most(LATENCY_GOAL)(value),
        note,
        {"route_ms": measured, "floor_ms": base},
    )


def route_skipped(what: str, why: str) -> Figure:
    return skipped(what, "ms", f"p50 ratio <= {LATENCY_GOAL}", why)


# 1. Reads: latency of the read routes, list_scale --------------------------------------------


@dataclass
class ReadsResult:
    routes: dict[str, Figure]
    list_scale: Figure


def measure_reads(plan: Plan) -> ReadsResult:
    routes: dict[str, Figure] = {}
    levels: dict[int, dict[str, Any]] = {}
    notes: list[str] = []
    # An account with 5,000 repositories (one stack each) has had CloudFormation's stack quota
    # raised past its default 2,000 (Service Quotas L-0485CB21): so has the reads stack's.
    with local_stack("reads", 0.0, stack_quota=max(plan.list_levels) + READS_QUOTA_ROOM) as (_, api, aws):
        target = "bench/latency-target"
        _, operation = api.create(target)
        status, _ = api.wait(operation, OPERATION_TIMEOUT)
        if status != "SUCCEEDED":
            raise BenchError(f"the create of {target} ended {status}")
        catalog = find_catalog(aws)
        can_repair = function_exists(aws, REPAIR_FUNCTION)
        why_not = (
            "no DynamoDB table on the local stack (the catalog has not landed)"
            if catalog is None
            else f"no {REPAIR_FUNCTION} on the local stack: the seeded stacks cannot enter the catalog"
            if not can_repair
            else ""
        )
        seeder = Seeder(aws)
        middle = plan.list_levels[1]
        for level in plan.list_levels:
            if level > middle and why_not:
                break  # the largest level serves list_scale alone
            say(f"reads: seeding to {level:,} managed repositories")
            seconds = seeder.seed_to(level - 1, plan.seed_budget)  # the target is one of them
            managed = seeder.made + 1
            record: dict[str, Any] = {"managed": managed, "seed_seconds": round(seconds, 1)}
            if managed < level:
                notes.append(f"{managed:,} of {level:,} managed within the seeding budget")
            if not why_not and catalog is not None:
                count = plan.latency_requests if level == middle else plan.list_requests
                try:
                    found = list_level(api, aws, catalog, managed, count, plan)
                except BenchError as error:
                    why_not = f"at {managed:,} managed: {error}"
                    record["error"] = why_not
                else:
                    record.update(found.record)
                    if found.short:
                        notes.append(f"at {managed:,}: {found.short} pages had fewer than {LIST_LIMIT} items")
                    if level == middle:
                        routes["list"] = route_item(
                            f"{ROUTES['list']} among {managed:,} managed",
                            found.floor_what,
                            found.route,
                            found.floor,
                            count,
                            f"{found.short} pages had fewer than {LIST_LIMIT} items" if found.short else "",
                        )
            levels[level] = record
            if level == middle:
                routes.update(read_routes(api, aws, plan, target, operation, managed))
        if seeder.failures:
            notes.append(f"{len(seeder.failures)}+ seeding failures, first: {seeder.failures[0]}")
        if "list" not in routes:
            routes["list"] = route_skipped(ROUTES["list"], why_not or "not measured")
    return ReadsResult(routes, list_scale_figure(plan, levels, why_not, notes))


@dataclass
class ListLevel:
    record: dict[str, Any]
    route: list[float]
    floor: list[float]
    floor_what: str
    short: int


def list_level(api: Api, aws: Aws, catalog: Catalog, managed: int, count: int, plan: Plan) -> ListLevel:
    """At one level: the catalog rebuilt by the repair function, then the page against its Query."""
    say(f"reads: {REPAIR_FUNCTION} for {managed:,}")
    repaired = repair(aws, api, REPAIR_FUNCTION, managed, plan.seed_budget)
    query, query_what = list_query(aws, catalog, LIST_LIMIT)
    if query is None:
        raise BenchError(query_what)
    say(f"reads: a page of {LIST_LIMIT} with {managed:,} managed, against its floor")
    caller = Caller(aws, "ListRepositoriesFunction")
    route, floor, short = list_series(api, caller, query, count, plan)
    record: dict[str, Any] = {
        "repair": repaired,
        "route_ms": summary(route),
        "query_ms": summary(floor),
        "query": query_what,
    }
    if short:
        record["short_pages"] = short
    return ListLevel(record, route, floor, f"{query_what} ({caller.principal})", short)


def list_series(
    api: Api, caller: Caller, query: dict[str, Any], count: int, plan: Plan
) -> tuple[list[float], list[float], int]:
    """The first page of 50 against one Query of 50 catalog items; how many pages came up short."""
    path = f"/repositories?limit={LIST_LIMIT}"
    short = 0

    def route() -> float:
        nonlocal short
        answer = api.expect("GET", path, 200)
        short += len(answer.body.get("items", [])) != LIST_LIMIT
        return answer.seconds

    def floor() -> float:
        return timed(lambda: caller("dynamodb", "query", **query))

    route_samples, floor_samples = paired(route, floor, count, plan.warmup, plan.series_budget)
    return route_samples, floor_samples, short


def read_routes(api: Api, aws: Aws, plan: Plan, name: str, operation: str, managed: int) -> dict[str, Figure]:
    """GET a repository, GET an operation, POST /auth-token, each against its floor."""
    stack_name = stack_name_for(PREFIX, name, ENVIRONMENT)
    get = Caller(aws, "GetRepositoryFunction")
    describe = Caller(aws, "GetOperationFunction")
    token = Caller(aws, "AuthTokenFunction")
    arn = aws.execution_arn(operation)

    def get_calls() -> None:
        described = get("ecr", "describe_repositories", repositoryNames=[name])["repositories"][0]
        get("ecr", "list_tags_for_resource", resourceArn=described["repositoryArn"])
        get("cloudformation", "describe_stacks", StackName=stack_name)

    cases: list[tuple[str, str, str, Callable[[], object], Caller, str]] = [
        (
            "get",
            "GET",
            f"/repositories/{name}",
            get_calls,
            get,
            "ECR DescribeRepositories + ListTagsForResource, CloudFormation DescribeStacks of its stack",
        ),
        (
            "operation",
            "GET",
            f"/operations/{operation}",
            lambda: describe("stepfunctions", "describe_execution", executionArn=arn),
            describe,
            "Step Functions DescribeExecution of a finished create",
        ),
        (
            "token",
            "POST",
            "/auth-token",
            lambda: token("ecr", "get_authorization_token"),
            token,
            "ECR GetAuthorizationToken",
        ),
    ]
    found: dict[str, Figure] = {}
    for key, method, path, calls, caller, floor_what in cases:
        say(f"reads: {method} {path} against its floor")

        def route(method: str = method, path: str = path) -> float:
            return api.expect(method, path, 200).seconds

        def floor(calls: Callable[[], object] = calls) -> float:
            return timed(calls)

        route_samples, floor_samples = paired(
            route, floor, plan.latency_requests, plan.warmup, plan.series_budget
        )
        where = f" among {managed:,} managed" if key == "get" else ""
        found[key] = route_item(
            f"{ROUTES[key]}{where}",
            f"{floor_what} ({caller.principal})",
            route_samples,
            floor_samples,
            plan.latency_requests,
        )
    return found


def list_scale_figure(
    plan: Plan, levels: dict[int, dict[str, Any]], why_not: str, notes: list[str]
) -> Figure:
    low, high = plan.list_levels[0], plan.list_levels[-1]
    goal = f"ratio at {high:,} <= {LIST_GOAL}"
    what = (
        f"GET /repositories?limit={LIST_LIMIT} (one page) with "
        f"{', '.join(f'{level:,}' for level in plan.list_levels)} managed repositories, p50; each level's "
        "direct catalog Query alongside"
    )
    items = {str(level): record for level, record in levels.items()}
    measured = {level: record for level, record in levels.items() if "route_ms" in record}
    if low not in measured or high not in measured:
        return skipped(what, "ms", goal, why_not or "a level was not measured", items)
    base, top = measured[low]["route_ms"]["p50"], measured[high]["route_ms"]["p50"]
    for record in measured.values():
        record["ratio"] = ratio(record["route_ms"]["p50"], base)
        if "query_ms" in record:  # what the service adds to its one Query, at this level
            record["own_ms"] = round(record["route_ms"]["p50"] - record["query_ms"]["p50"], 1)
    value = ratio(top, base)
    if all("own_ms" in measured[level] for level in (low, high)):
        query_growth = ratio(measured[high]["query_ms"]["p50"], measured[low]["query_ms"]["p50"])
        notes = [
            *notes,
            f"the direct Query alone grows {query_growth}x from {low:,} to {high:,} (moto's DynamoDB "
            "goes through every item of the table for a Query of an index; DynamoDB's cost follows "
            f"the items a Query reads); what the route adds to it: {measured[low]['own_ms']} ms at {low:,}, "
            f"{measured[high]['own_ms']} ms at {high:,}",
        ]
    return figure(
        what,
        floor_of(f"the same page with {low:,} managed, p50", base, "ms"),
        top,
        "ms",
        value,
        goal,
        at_most(LIST_GOAL)(value),
        "; ".join([*notes, *([] if not plan.quick else ["quick run: smaller levels"])]),
        items,
    )


# 2. Admission ---------------------------------------------------------------------------------


@dataclass
class AdmissionResult:
    post: Figure
    admission: Figure


def poster(api: Api, aws: Aws, outcomes: Counter[str]) -> Callable[[], float]:
    """One measured POST /repositories of a new name: its 202's latency. Its execution is stopped
    once it waits on its stack, so the count of running operations stays put and nothing of it
    runs during the next sample."""
    names = (f"adm/r-{index:05d}-{uuid.uuid4().hex[:6]}" for index in range(1_000_000))

    def post() -> float:
        answer, operation = api.create(next(names))
        outcomes[aws.quiesce(operation, stop=True)] += 1
        time.sleep(PAUSE_AFTER_STOP)
        return answer.seconds

    return post


def measure_admission(plan: Plan) -> AdmissionResult:
    """Level 0 (and the latency of POST against its floor) on one stack, each further level on a
    fresh one: its operations all started just before its samples, none of them reaches its first
    stack check (after StackPollIntervalSeconds) while the samples are taken, and the levels differ
    in what runs, not in what earlier levels left behind."""
    parameters = {"StackPollIntervalSeconds": str(ADMISSION_POLL)}
    outcomes: Counter[str] = Counter()
    with local_stack("admission-0", ADMISSION_SETTLE, parameters) as (_, api, aws):
        caller = Caller(aws, "CreateRepositoryFunction")
        floor, floor_what = post_floor(aws, caller, find_catalog(aws))
        say("admission: POST /repositories → 202 with 0 running, against its floor")
        route0, floor0 = paired(
            poster(api, aws, outcomes), floor, plan.latency_requests, plan.warmup, plan.series_budget
        )
    post_item = route_item(
        f"{ROUTES['post']} (0 operations running)",
        f"{floor_what} ({caller.principal})",
        route0,
        floor0,
        plan.latency_requests,
        "each POST's execution is stopped once it waits on its stack, before the next sample",
    )
    levels: dict[int, dict[str, Any]] = {0: {"running": 0, "route_ms": summary(route0)}}
    for level in plan.admission_levels[1:]:
        with local_stack(f"admission-{level}", ADMISSION_SETTLE, parameters) as (_, api, aws):
            say(f"admission: starting {level} operations")
            began = time.monotonic()
            filled = fill(api, aws, level, "adm/fill", plan.fill_budget)
            fill_seconds = time.monotonic() - began
            running = sum(1 for operation in filled if api.status(operation) == "RUNNING")
            # Done before the first of them checks its stack (its Wait ends then), with a margin.
            room = ADMISSION_POLL - (time.monotonic() - began) - 15
            say(f"admission: {running} running; POST /repositories → 202")
            post = poster(api, aws, outcomes)
            budget = max(0.0, min(plan.series_budget, room))
            samples = series(post, plan.admission_requests, plan.warmup, budget)
            levels[level] = {
                "running": running,
                "running_after": len(aws.running()),
                "fill_seconds": round(fill_seconds, 1),
                "route_ms": summary(samples),
            }
            if running < level:
                levels[level]["note"] = f"{running} of {level} running (fill budget {plan.fill_budget:g} s)"
            if len(samples) < plan.admission_requests:
                levels[level]["short"] = (
                    f"{len(samples)} of {plan.admission_requests} POSTs before the operations' first "
                    "stack check"
                )
    return AdmissionResult(post_item, admission_figure(plan, levels, outcomes))


def post_floor(aws: Aws, caller: Caller, catalog: Catalog | None) -> tuple[Callable[[], float], str]:
    """The calls a create cannot do without, for a name never seen: the lock's conditional write
    (when there is a catalog), DescribeStacks, DescribeRepositories, StartExecution."""
    # StartExecution goes to a copy of the service's state machine (same definition, same role), so
    # that its cost is the same while the service never sees the bench's executions.
    sfn = aws.client("stepfunctions")
    original = sfn.describe_state_machine(stateMachineArn=aws.state_machine)
    machine = str(
        sfn.create_state_machine(
            name=f"bench-floor-{uuid.uuid4().hex[:8]}",
            definition=original["definition"],
            roleArn=original["roleArn"],
            type=original.get("type", "STANDARD"),
        )["stateMachineArn"]
    )

    def sample() -> float:
        token = uuid.uuid4().hex
        name = f"adm/floor-{token[:10]}"
        execution = f"bench-floor-{token}"
        key = catalog.item_key(token) if catalog is not None else {}
        began = time.perf_counter()
        if catalog is not None:
            caller(
                "dynamodb",
                "update_item",
                TableName=catalog.table,
                Key=key,
                UpdateExpression="SET #lock = :holder",
                ConditionExpression="attribute_not_exists(#lock) OR #lock = :holder",
                ExpressionAttributeNames={"#lock": "benchLock"},
                ExpressionAttributeValues={":holder": {"S": execution}},
            )
        caller(
            "cloudformation",
            "describe_stacks",
            frozenset({"ValidationError"}),
            StackName=stack_name_for(PREFIX, name, ENVIRONMENT),
        )
        caller(
            "ecr", "describe_repositories", frozenset({"RepositoryNotFoundException"}), repositoryNames=[name]
        )
        # An input the workflow's first state refuses: the execution ends at once and runs no task,
        # so the call costs what a StartExecution costs without the work a create then sets going.
        # (The copy's status events match no rule of the service's: those name its own machine.)
        caller(
            "stepfunctions", "start_execution", stateMachineArn=machine, name=execution, input='"bench-floor"'
        )
        seconds = time.perf_counter() - began
        if catalog is not None:
            aws.client("dynamodb").delete_item(TableName=catalog.table, Key=key)
        # Its execution fails in its first state (no task), so a short pause is all the quiet the next
        # sample needs.
        time.sleep(PAUSE_AFTER_FLOOR)
        return seconds

    lock = (
        f"DynamoDB conditional UpdateItem on {catalog.table} (a lock item of the bench's own, deleted "
        "after), "
        if catalog is not None
        else "(no catalog table yet: no lock write) "
    )
    return sample, (
        f"{lock}CloudFormation DescribeStacks and ECR DescribeRepositories of a new name, Step Functions "
        "StartExecution on a copy of the service's state machine (an input its first state refuses, so no "
        "task runs)"
    )


def fill(api: Api, aws: Aws, count: int, prefix: str, budget: float) -> list[str]:
    """Start `count` creates (4 at a time) and wait until each waits on its stack; their operations."""
    deadline = time.monotonic() + budget

    def one(index: int) -> str | None:
        if time.monotonic() >= deadline:
            return None
        _, operation = api.create(f"{prefix}-{index:04d}")
        aws.quiesce(operation, stop=False, timeout=60)
        return operation

    with ThreadPoolExecutor(4) as pool:
        started = list(pool.map(one, range(count)))
    return [operation for operation in started if operation is not None]


def admission_figure(plan: Plan, levels: dict[int, dict[str, Any]], outcomes: Counter[str]) -> Figure:
    top = plan.admission_levels[-1]
    goal = f"ratio at {top} running <= {ADMISSION_GOAL}"
    what = (
        f"POST /repositories → 202 with {', '.join(str(level) for level in plan.admission_levels)} "
        "operations RUNNING (checked with GET /operations), p50"
    )
    base = levels[0]["route_ms"]["p50"]
    for record in levels.values():
        record["ratio"] = ratio(record["route_ms"]["p50"], base)
    reached = [level for level, record in levels.items() if record["route_ms"]["n"]]
    highest = max(reached)
    value = levels[highest]["ratio"]
    met = at_most(ADMISSION_GOAL)(value)
    notes = [f"measured POSTs' executions: {dict(outcomes)}"]
    if highest != top or levels[highest]["running"] < top:
        reached_running = levels[highest]["running"]
        notes.append(f"{top} running was not reached; the highest level measured had {reached_running}")
        met = False if met is False else None
    return figure(
        what,
        floor_of("the same POST with 0 running, p50", base, "ms"),
        levels[highest]["route_ms"]["p50"],
        "ms",
        value,
        goal,
        met,
        "; ".join(notes),
        {str(level): record for level, record in levels.items()},
    )


# 3. Operations: provisioning, throughput, seed -----------------------------------------------


@dataclass
class Run:
    accepted_s: float  # POST to 202
    status: str  # as GET /operations/{id} answered at the end
    observed_s: float  # POST sent to the GET that answered it no longer RUNNING (polling every 0.1 s)
    finished_s: float | None  # POST sent to the execution's stopDate (Step Functions)
    stack_created_s: float | None  # POST sent to the stack's CreationTime (CloudFormation)


def run_to_end(api: Api, aws: Aws, name: str) -> Run:
    answer, operation = api.create(name)
    status, seen = api.wait(operation, OPERATION_TIMEOUT)
    _, stopped = aws.stopped_at(operation)
    created = aws.stack_created_at(stack_name_for(PREFIX, name, ENVIRONMENT))
    return Run(
        answer.seconds,
        status,
        seen - answer.sent_at,
        stopped - answer.sent_at if stopped is not None else None,
        created - answer.sent_at if created is not None else None,
    )


def measure_operations(plan: Plan) -> dict[str, Figure]:
    figures: dict[str, Figure] = {}
    with local_stack("operations", OPERATIONS_SETTLE) as (_, api, aws):
        say(f"operations: {plan.provisioning_runs} creates one at a time (after one not counted)")
        run_to_end(api, aws, "prov/warm-up")
        runs = [run_to_end(api, aws, f"prov/r-{index:03d}") for index in range(plan.provisioning_runs)]
        figures["provisioning"] = provisioning_figure(runs)
        batches: dict[str, Any] = {}
        for size in plan.throughput_batches:
            time.sleep(2)
            say(f"operations: {size} creates at once")
            batches[str(size)] = batch(api, aws, size, f"tput/b{size}", plan)
        figures["throughput"] = throughput_figure(batches)
        say(f"operations: agentcore-cli's blocking create, {plan.seed_runs} runs")
        cli = [cli_create(aws, f"benchcli{index}") for index in range(plan.seed_runs)]
        figures["seed"] = seed_figure(cli, runs)
    return figures


def provisioning_figure(runs: list[Run]) -> Figure:
    floor_s = OPERATIONS_SETTLE + POLL_INTERVAL
    done = [run for run in runs if run.status == "SUCCEEDED" and run.finished_s is not None]
    totals = [run.finished_s for run in done if run.finished_s is not None]
    overheads = [total - floor_s for total in totals]
    total = summary(totals)
    overhead = summary(overheads)
    # Where the time goes: before the stack exists (admission, StartExecution, the first step), and
    # from the stack's completion (CreationTime + settle) to the execution's end (the wait for the
    # next check, at most one poll interval, then the check and the final step).
    before = [run.stack_created_s for run in done if run.stack_created_s is not None]
    after = [
        run.finished_s - run.stack_created_s - OPERATIONS_SETTLE
        for run in done
        if run.finished_s is not None and run.stack_created_s is not None
    ]
    beyond = [total - OPERATIONS_SETTLE for total in totals]
    value = overhead["p50"]
    statuses = Counter(run.status for run in runs)
    met = at_most(OVERHEAD_GOAL_MS)(value)
    if len(done) < len(runs):
        met = False
    return figure(
        f"POST /repositories to SUCCEEDED, {len(runs)} creates one at a time: from the POST's sending to the "
        "execution's stopDate (Step Functions), minus the floor; p50",
        floor_of(
            f"the emulated stack's own time (settle {OPERATIONS_SETTLE:g} s) plus one poll interval "
            f"({POLL_INTERVAL} s, the workflow's Wait)",
            floor_s * 1000,
            "ms",
        ),
        value,
        "ms (overhead over the floor)",
        ratio(total["p50"], floor_s * 1000),
        f"overhead <= {OVERHEAD_GOAL_MS:g} ms",
        met,
        f"statuses {dict(statuses)}; all but the stack's own time: p50 {summary(beyond)['p50']} ms, of "
        f"which POST to the stack's CreationTime {summary(before)['p50']} ms and the stack's completion to "
        f"SUCCEEDED {summary(after)['p50']} ms (the wait for the next check included); the client's own "
        "view (GET /operations every 0.1 s) is in items",
        {
            "total_ms": total,
            "overhead_ms": overhead,
            "total_minus_stack_ms": summary(beyond),
            "post_to_stack_created_ms": summary(before),
            "stack_complete_to_succeeded_ms": summary(after),
            "accepted_ms": summary([run.accepted_s for run in runs]),
            "client_observed_ms": summary([run.observed_s for run in runs]),
            "statuses": dict(statuses),
        },
    )


def batch(api: Api, aws: Aws, size: int, prefix: str, plan: Plan) -> dict[str, Any]:
    """`size` creates sent at once (16 client threads), then waited for; what became of them."""
    first = time.time()
    deadline = time.monotonic() + plan.fill_budget

    def submit(index: int) -> tuple[float, str] | None:
        if time.monotonic() >= deadline:
            return None
        answer, operation = api.create(f"{prefix}-{index:04d}")
        return answer.sent_at, operation

    with ThreadPoolExecutor(min(size, 16)) as pool:
        accepted = [item for item in pool.map(submit, range(size)) if item is not None]
    accept_wall = time.time() - first
    mine = {operation for _, operation in accepted}
    wait_deadline = time.monotonic() + max(120.0, size * 3.0)
    while time.monotonic() < wait_deadline and mine & aws.running():
        time.sleep(1)
    statuses: Counter[str] = Counter()
    per_op: list[float] = []
    last_stop = first
    for sent_at, operation in accepted:
        statuses[api.status(operation)] += 1
        _, stopped = aws.stopped_at(operation)
        if stopped is not None:
            per_op.append(stopped - sent_at)
            last_stop = max(last_stop, stopped)
    wall = last_stop - first
    return {
        "creates": size,
        "accepted": len(accepted),
        "statuses": dict(statuses),
        "all_succeeded": statuses.get("SUCCEEDED", 0) == size,
        "wall_s": round(wall, 2),
        "accept_wall_s": round(accept_wall, 2),
        "per_operation_s": summary(per_op, scale=1.0, digits=2),
        "creates_per_s": round(size / wall, 2) if wall > 0 else None,
    }


def throughput_figure(batches: dict[str, dict[str, Any]]) -> Figure:
    sizes = list(batches)
    largest = batches[sizes[-1]]
    met = all(record["all_succeeded"] for record in batches.values())
    walls = ", ".join(f"{size}: {record['wall_s']} s" for size, record in batches.items())
    return figure(
        f"{' and '.join(sizes)} creates sent at once (16 client threads), first POST to the last execution's "
        f"stopDate; settle {OPERATIONS_SETTLE:g} s, poll interval {POLL_INTERVAL} s",
        None,
        largest["wall_s"],
        f"s (wall time of {sizes[-1]})",
        None,
        "all SUCCEEDED; wall time stated",
        met,
        f"wall time {walls}",
        batches,
    )


def cli_create(aws: Aws, name: str) -> tuple[float, str, int]:
    """agentcore-cli's create, black box: DescribeStacks (create or update?), CreateStack of its
    template, DescribeStacks every 10 s until the stack is complete, then its outputs. The seconds
    the caller waits, the final status, and how many status checks it made."""
    cfn = aws.client("cloudformation")
    stack_name = f"agentcore-{name}-{ENVIRONMENT}-ecr"
    body = CLI_TEMPLATE.read_text(encoding="utf-8")
    parameters = {
        "RepositoryName": name,
        "Environment": ENVIRONMENT,
        "ImageScanningEnabled": "true",
        "LifecyclePolicyDays": "30",
    }
    began = time.perf_counter()
    with contextlib.suppress(ClientError):  # ValidationError: no such stack, so a create
        cfn.describe_stacks(StackName=stack_name)
    cfn.create_stack(
        StackName=stack_name,
        TemplateBody=body,
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
    )
    checks, status = 0, "?"
    while time.perf_counter() - began < 120:
        status = str(cfn.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"])
        checks += 1
        if not status.endswith("_IN_PROGRESS"):
            break
        time.sleep(CLI_POLL_SECONDS)
    cfn.describe_stacks(StackName=stack_name)  # the outputs, read once the stack is complete
    return time.perf_counter() - began, status, checks


def seed_figure(cli: list[tuple[float, str, int]], runs: list[Run]) -> Figure:
    blocking = summary([seconds for seconds, _, _ in cli], scale=1.0, digits=2)
    accepted = summary([run.accepted_s for run in runs])
    finished = summary([run.finished_s for run in runs if run.finished_s is not None], scale=1.0, digits=2)
    statuses = Counter(status for _, status, _ in cli)
    wait_ratio = ratio(blocking["p50"] * 1000 if blocking["p50"] is not None else None, accepted["p50"], 1)
    return figure(
        "agentcore-cli's blocking create (its own template, DescribeStacks every 10 s until complete) "
        "against this service's POST /repositories → 202, on the same local AWS "
        f"(settle {OPERATIONS_SETTLE:g} s); p50 of the caller's wait",
        None,
        blocking["p50"],
        "s (agentcore-cli's caller waits)",
        None,
        "stated",
        None,
        f"the caller of agentcore-cli waits {blocking['p50']} s, this service's caller {accepted['p50']} ms "
        f"(about {wait_ratio}x less) and has the repository at SUCCEEDED after {finished['p50']} s; "
        f"agentcore-cli stacks ended {dict(statuses)}; the service's runs are the provisioning runs",
        {
            "agentcore_cli_blocking_s": blocking,
            "agentcore_cli_status_checks": [checks for _, _, checks in cli],
            "service_accepted_ms": accepted,
            "service_succeeded_s": finished,
            "caller_wait_ratio": wait_ratio,
        },
    )


# All of them -----------------------------------------------------------------------------------


def latency_figure(plan: Plan, routes: Mapping[str, Figure]) -> Figure:
    items = {
        ROUTES[key]: routes.get(key) or route_skipped(ROUTES[key], "not measured") for key in LATENCY_KEYS
    }
    measured = {name: item for name, item in items.items() if item["ratio"] is not None}
    worst = max(measured, key=lambda name: measured[name]["ratio"]) if measured else None
    value = measured[worst]["ratio"] if worst else None
    missing = [name for name in items if name not in measured]
    notes = [f"worst: {worst} ({value}x)" if worst else "no route measured"]
    added = {
        name: round(item["value"] - item["floor"]["value"], 1)
        for name, item in measured.items()
        if item.get("value") is not None and item.get("floor")
    }
    if added:
        # A fixed cost per request, the same whatever the route does: on a fast floor it is a large ratio.
        notes.append(
            "what each route adds to its floor, p50: "
            + ", ".join(f"{name} {ms} ms" for name, ms in added.items())
            + " (the local API Gateway's SigV4 and IAM check, the Runtime API's hand-off to the "
            "function's awslambdaric worker and back, the handler's Powertools resolver and logs: "
            "about the same on every route, so the routes whose floor is one fast call miss the ratio)"
        )
    if missing:
        notes.append("not measured: " + ", ".join(missing))
    return figure(
        f"per route, {plan.latency_requests} requests one at a time through the signed HTTP API (after "
        f"{plan.warmup} not counted), interleaved with its floor: the AWS calls the route cannot avoid, made "
        "directly with boto3 to the same local AWS endpoint; p50 of each",
        None,
        value,
        "ratio (the worst route's p50 / its floor's)",
        value,
        f"p50 ratio <= {LATENCY_GOAL} per route",
        results.all_met([item["met"] for item in items.values()]),
        "; ".join(notes),
        items,
    )


def stage(label: str, keys: tuple[str, ...], run: Callable[[], dict[str, Figure]]) -> dict[str, Figure]:
    """One stack's figures; if it raises, those figures say so and the run goes on."""
    try:
        return run()
    except Exception as error:  # noqa: BLE001 - one stage's failure must not lose the others
        import traceback  # noqa: PLC0415

        traceback.print_exc()
        say(f"{label}: failed: {error}")
        return {key: results.failed(f"({label} stage)", "", error) for key in keys}


def measure(plan: Plan) -> dict[str, Figure]:
    figures: dict[str, Figure] = {}
    routes: dict[str, Figure] = {}

    def reads() -> dict[str, Figure]:
        found = measure_reads(plan)
        routes.update(found.routes)
        return {"list_scale": found.list_scale}

    def admission() -> dict[str, Figure]:
        found = measure_admission(plan)
        routes["post"] = found.post
        return {"admission": found.admission}

    figures.update(stage("reads", ("list_scale",), reads))
    figures.update(stage("admission", ("admission",), admission))
    figures.update(
        stage("operations", ("provisioning", "throughput", "seed"), lambda: measure_operations(plan))
    )
    figures["latency"] = latency_figure(plan, routes)
    return figures
