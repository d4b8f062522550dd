"""The figures measured on a running local stack, from outside: `latency`, `list_scale` and
`memory` (one stack), `admission` (a stack per level).

The service is reached through its signed HTTP API (the signature made before the clock starts,
a new connection each request), and the local AWS through boto3 on the stack's endpoint. A floor
is what a route cannot avoid: its AWS calls, made directly with the route's function's own role
(which the emulator's IAM checks as it checks the function's), in rounds with the route's own
requests.

1. reads (settle 0: an emulated stack settles at once, so the figures measure the service and
   the emulation, not an artificial delay): one repository made through the API, then managed
   repositories seeded as the workflow makes them (CreateStack of the service's template and
   parameters) and entered in the catalog by RepairCatalogFunction; a page of 50 at each level
   of `list_scale` against its Query; at the middle level every other read route against its
   calls (`latency`); then each function's largest worker against its MemorySize (`memory`).
2. admission (settle 600 s, StackPollIntervalSeconds 300, so that no operation reaches its
   stack's check while the POSTs are timed): POST /repositories -> 202 with 0 operations running
   (against its calls), then with each level's creates waiting on their stacks; each measured
   POST's execution is stopped once it waits on its stack, so the count stays put.

Every loop is bounded in count and in time; all traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from local.process import LocalStackProcess
from local.template import REGION

from agentcore_ecr.aws.catalog import BY_NAME, LISTING, NOT_LOCKED_OR_MINE
from agentcore_ecr.domain import stack as stack_rules
from agentcore_ecr.domain.models import CreateRepositoryRequest
from agentcore_ecr.domain.naming import stack_name_for
from bench.core import Cell, Figure, Floor, Stats, at_most, ratio, say, series, timed

PREFIX, ENVIRONMENT = "agentcore", "dev"  # the template's default StackNamePrefix, and an environment
LIST_LIMIT = 50
LATENCY_GOAL = 1.5  # a route's p50 over its floor's
LIST_GOAL = 1.2  # the page's p50 at the largest level over the smallest's
ADMISSION_GOAL = 1.5  # POST's p50 at the most operations running over none
ADMISSION_SETTLE, ADMISSION_POLL = 600.0, 300
ENDED = frozenset({"ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"})


@dataclass(frozen=True)
class Plan:
    quick: bool = False
    warmup: int = 5
    requests: int = 300  # a route, and POST with 0 running
    list_levels: tuple[int, ...] = (100, 1_000, 5_000)  # managed repositories; the middle one for latency
    list_requests: int = 100  # at the other levels
    admission_levels: tuple[int, ...] = (0, 50, 200)  # operations running
    admission_requests: int = 100  # at each level but 0
    budget: float = 360.0  # seconds, a series
    seed_budget: float = 900.0  # seconds, seeding a level

    @classmethod
    def of(cls, quick: bool) -> Plan:
        if not quick:
            return cls()
        return cls(True, 3, 40, (100, 300, 600), 20, (0, 10, 30), 15, 90.0, 300.0)


class Bench:
    """One local stack, seen from outside: its API, and boto3 on its AWS endpoint with plain
    credentials (which the local IAM does not check) or with a function's role (which it does)."""

    def __init__(self, stack: LocalStackProcess) -> None:
        self.stack = stack
        self.plain = boto3.Session("local", "local", region_name=REGION)
        self._clients: dict[tuple[str, int], Any] = {}
        self._lock = threading.Lock()  # boto3 makes clients one at a time; they are thread-safe once made
        self.machine = str(
            next(
                item["stateMachineArn"]
                for item in self.client("stepfunctions").list_state_machines()["stateMachines"]
                if item["name"].endswith("repository-workflow")
            )
        )
        self.table = str(self.client("dynamodb").list_tables()["TableNames"][0])  # the catalog, the only one

    def call(self, method: str, path: str, status: int = 200, body: object = None) -> tuple[float, Any]:
        """The request's seconds (the exchange alone: signing is the caller's) and its answer."""
        url, data = self.stack.api + path, json.dumps(body).encode() if body is not None else None
        headers = self.stack.signed_headers(method, url, data, {"Content-Type": "application/json"})
        request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - loopback
        began = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310 - loopback
                got, text = answer.status, answer.read()
        except urllib.error.HTTPError as refused:
            got, text = refused.code, refused.read()
        seconds, decoded = time.perf_counter() - began, json.loads(text) if text else None
        if got != status:
            raise RuntimeError(f"{method} {path}: expected {status}, got {got}: {decoded}")
        return seconds, decoded

    def create(self, name: str) -> tuple[float, str]:
        """POST /repositories of a new name: its seconds and its operation."""
        seconds, body = self.call("POST", "/repositories", 202, {"name": name, "environment": ENVIRONMENT})
        return seconds, str(body["operationId"])

    def client(self, service: str, session: Any = None) -> Any:
        session = session or self.plain
        with self._lock:
            if (service, id(session)) not in self._clients:
                config = Config(read_timeout=900, retries={"max_attempts": 1}, max_pool_connections=16)
                made = session.client(service, endpoint_url=self.stack.aws, config=config)
                self._clients[service, id(session)] = made
            return self._clients[service, id(session)]

    def as_function(self, function: str) -> Any:
        """A session with the function's own role, as Lambda gives it to the function."""
        role = self.client("lambda").get_function(FunctionName=function)["Configuration"]["Role"]
        credentials = self.client("sts").assume_role(RoleArn=role, RoleSessionName="bench")["Credentials"]
        return boto3.Session(
            credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"], REGION
        )

    def execution(self, operation: str) -> str:
        head, _, name = self.machine.rpartition(":stateMachine:")
        return f"{head}:execution:{name}:{operation}"

    def running(self) -> int:
        pages = self.client("stepfunctions").get_paginator("list_executions")
        return sum(
            len(page["executions"])
            for page in pages.paginate(stateMachineArn=self.machine, statusFilter="RUNNING")
        )

    def quiesce(self, operation: str, stop: bool, timeout: float = 60.0) -> str:
        """Wait until the operation's execution waits on its stack (its AwaitStack task) or has
        ended, so that nothing of it runs any more; with `stop`, StopExecution it there."""
        sfn, arn = self.client("stepfunctions"), self.execution(operation)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                seen = {event["type"] for event in sfn.get_execution_history(executionArn=arn)["events"]}
            except ClientError:  # not there yet
                seen = set()
            if seen & ENDED:
                return "ended"
            if "TaskSubmitted" in seen:
                if stop:
                    sfn.stop_execution(executionArn=arn, error="Bench", cause="its POST was measured")
                return "stopped" if stop else "waiting"
            time.sleep(0.05)  # not more often: each look is a request the emulator serves meanwhile
        return "timeout"


BENCH_STACK_QUOTA = 10_000


@contextmanager
def running(label: str, settle: float, parameters: dict[str, str] | None = None) -> Iterator[Bench]:
    state = Path(tempfile.mkdtemp(prefix=f"bench-{label}-"))
    say(f"{label}: starting a local stack (settle {settle:g} s, {parameters or 'the default parameters'})")
    # An account with 5,000 repositories (one stack each) has had CloudFormation's stack quota
    # (Service Quotas L-0485CB21, 2,000 by default) raised: so has the bench's.
    with LocalStackProcess.start(
        state, settle_seconds=settle, parameters=parameters, stack_quota=BENCH_STACK_QUOTA
    ) as stack:
        yield Bench(stack)


def request(bench: Bench, method: str, path: str) -> Callable[[], float]:
    return lambda: bench.call(method, path)[0]


def calls(action: Callable[[], object]) -> Callable[[], float]:
    return lambda: timed(action)


@dataclass(frozen=True)
class Route:
    """A route's series and its floor's."""

    route: str
    measured: Stats
    floor: Stats
    floor_what: str

    @classmethod
    def of(cls, route: str, samples: list[list[float]], floor_what: str) -> Route:
        return cls(route, Stats.of(samples[0]), Stats.of(samples[1]), floor_what)

    @property
    def ratio(self) -> float | None:
        return ratio(self.measured.p50, self.floor.p50)

    def row(self) -> dict[str, Cell]:
        return {
            "route": self.route,
            "n": self.measured.n,
            "p50 ms": self.measured.p50,
            "p95 ms": self.measured.p95,
            "floor p50 ms": self.floor.p50,
            "ratio": self.ratio,
            "floor": self.floor_what,
        }


# 1. reads: latency, list_scale, memory ---------------------------------------------------------


def seed(bench: Bench, first: int, last: int, budget: float) -> int:
    """Managed repositories first..last-1 made as the workflow makes them, without the API: the
    service's template, parameters, tags and stack name, 8 at a time; how many were made."""
    cfn, deadline = bench.client("cloudformation"), time.monotonic() + budget
    role = bench.client("iam").get_role(RoleName="CloudFormationServiceRole")["Role"]["Arn"]

    def create(index: int) -> bool:
        if time.monotonic() >= deadline:
            return False
        request = CreateRepositoryRequest.model_validate(
            {"name": f"scale/repo-{index:05d}", "environment": ENVIRONMENT}
        )
        settings = request.model_copy(update={"encryption": "KMS"})  # the service's default on create
        with contextlib.suppress(cfn.exceptions.AlreadyExistsException):  # made before a budget ran out
            cfn.create_stack(
                StackName=stack_name_for(PREFIX, settings.name, settings.environment),
                TemplateBody=stack_rules.repository_template_for(settings.tags),
                Parameters=[
                    {"ParameterKey": k, "ParameterValue": v}
                    for k, v in stack_rules.stack_parameters(settings).items()
                ],
                Tags=[
                    {"Key": key, "Value": value} for key, value in stack_rules.stack_tags(settings).items()
                ],
                RoleARN=role,
            )
        return True

    with ThreadPoolExecutor(8) as pool:
        return sum(pool.map(create, range(first, last)))


def repair(bench: Bench) -> int:
    """RepairCatalogFunction, which enters every managed stack in the catalog: how many it recorded."""
    answer = bench.client("lambda").invoke(FunctionName="RepairCatalogFunction", Payload=b"{}")
    payload = answer["Payload"].read().decode()
    if answer.get("FunctionError"):
        raise RuntimeError(f"RepairCatalogFunction failed: {payload[:500]}")
    return int(json.loads(payload)["recorded"])


@dataclass(frozen=True)
class Level:
    """A page of the list among `managed` repositories, and its Query."""

    managed: int
    recorded: int  # as the repair function entered them in the catalog
    seed_seconds: float
    page: Stats
    query: Stats

    def row(self) -> dict[str, Cell]:
        own = round(self.page.p50 - self.query.p50, 1) if self.page.p50 and self.query.p50 else None
        return {
            "managed": self.managed,
            "in the catalog": self.recorded,
            "seeded in s": round(self.seed_seconds),
            "n": self.page.n,
            "page p50 ms": self.page.p50,
            "page p95 ms": self.page.p95,
            "Query p50 ms": self.query.p50,
            "page - Query ms": own,
        }


def reads(plan: Plan) -> dict[str, Figure]:
    levels: list[Level] = []
    routes: list[Route] = []
    path = f"/repositories?limit={LIST_LIMIT}"
    with running("reads", 0.0) as bench:
        target = "bench/latency-target"
        _, operation = bench.create(target)
        if bench.stack.wait(operation)["status"] != "SUCCEEDED":
            raise RuntimeError(f"the create of {target} did not succeed")
        lister = bench.client("dynamodb", bench.as_function("ListRepositoriesFunction"))
        query = {
            "TableName": bench.table,
            "IndexName": BY_NAME,
            "KeyConditionExpression": "#key = :key",
            "ExpressionAttributeNames": {"#key": "listing"},
            "ExpressionAttributeValues": {":key": {"S": LISTING}},
            "Limit": LIST_LIMIT + 1,  # the service reads one more, to tell that more follow
        }
        made = 1
        for level in plan.list_levels:
            say(f"reads: seeding to {level:,} managed repositories")
            began = time.monotonic()
            made += seed(bench, made - 1, level - 1, plan.seed_budget)
            seeded, recorded = time.monotonic() - began, repair(bench)
            middle = level == plan.list_levels[len(plan.list_levels) // 2]
            say(f"reads: a page of {LIST_LIMIT} among {made:,}, against its Query")
            samples = series(
                request(bench, "GET", path),
                calls(lambda: lister.query(**query)),
                count=plan.requests if middle else plan.list_requests,
                warmup=plan.warmup,
                budget=plan.budget,
            )
            levels.append(Level(made, recorded, seeded, Stats.of(samples[0]), Stats.of(samples[1])))
            if middle:
                routes.append(Route.of(f"GET {path}", samples, f"DynamoDB Query of {BY_NAME}"))
                routes += read_routes(bench, plan, target, operation)
                managed = made
        memory_figure = memory(bench.stack.process.pid)
    return {
        "latency": latency(plan, routes, managed),
        "list_scale": list_scale(levels),
        "memory": memory_figure,
    }


def read_routes(bench: Bench, plan: Plan, name: str, operation: str) -> list[Route]:
    """GET a repository, GET an operation, POST /auth-token, each against its calls."""
    stack_name = stack_name_for(PREFIX, name, ENVIRONMENT)
    get = bench.as_function("GetRepositoryFunction")
    ecr, cfn = bench.client("ecr", get), bench.client("cloudformation", get)
    sfn = bench.client("stepfunctions", bench.as_function("GetOperationFunction"))
    token = bench.client("ecr", bench.as_function("AuthTokenFunction"))
    execution = bench.execution(operation)

    def get_calls() -> None:
        arn = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]["repositoryArn"]
        ecr.list_tags_for_resource(resourceArn=arn)
        cfn.describe_stacks(StackName=stack_name)

    cases: list[tuple[str, str, str, Callable[[], object], str]] = [
        (
            "GET",
            "/repositories/{name}",
            f"/repositories/{name}",
            get_calls,
            "ECR DescribeRepositories and ListTagsForResource, CloudFormation DescribeStacks",
        ),
        (
            "GET",
            "/operations/{id}",
            f"/operations/{operation}",
            lambda: sfn.describe_execution(executionArn=execution),
            "Step Functions DescribeExecution",
        ),
        ("POST", "/auth-token", "/auth-token", token.get_authorization_token, "ECR GetAuthorizationToken"),
    ]
    routes: list[Route] = []
    for method, shown, path, action, floor in cases:
        say(f"reads: {method} {shown} against its floor")
        samples = series(
            request(bench, method, path),
            calls(action),
            count=plan.requests,
            warmup=plan.warmup,
            budget=plan.budget,
        )
        routes.append(Route.of(f"{method} {shown}", samples, floor))
    return routes


def latency(plan: Plan, routes: list[Route], managed: int) -> Figure:
    worst = max(routes, key=lambda route: route.ratio or 0.0)
    return Figure(
        f"each read route, {plan.requests} requests one at a time among {managed:,} managed repositories "
        f"(after {plan.warmup} not counted), in rounds with its floor; p50 of the worst route, {worst.route}",
        worst.measured.p50,
        "ms",
        f"p50 ratio <= {LATENCY_GOAL} on every route",
        all(at_most(route.ratio, LATENCY_GOAL) for route in routes),
        Floor(
            f"the route's AWS calls, made directly with its function's role ({worst.floor_what})",
            worst.floor.p50,
        ),
        "POST /repositories against its calls is under admission (0 running). A route adds about the same to "
        "its calls whatever it does (the local gateway's SigV4 and IAM check, the Runtime API's hand-off to "
        "the function's worker, the handler's resolver and logs), so the route whose floor is one fast call "
        "has the largest ratio",
        [route.row() for route in routes],
    )


def list_scale(levels: list[Level]) -> Figure:
    low, high = levels[0], levels[-1]
    return Figure(
        f"GET /repositories?limit={LIST_LIMIT}, the first page, with "
        f"{', '.join(f'{level.managed:,}' for level in levels)} managed repositories; p50 at the "
        f"largest level",
        high.page.p50,
        "ms",
        f"ratio <= {LIST_GOAL} at the largest level",
        at_most(ratio(high.page.p50, low.page.p50), LIST_GOAL),
        Floor(f"the same page with {low.managed:,} managed, p50", low.page.p50),
        "the page is one Query of the catalog's index, and `page - Query` what the service adds to it. The "
        "emulator's DynamoDB reads every item of the table for a Query of an index, so its Query grows with "
        "the table, where DynamoDB's cost follows the items a Query reads",
        [level.row() for level in levels],
    )


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found + [grandchild for child in found for grandchild in children(child)]


def proc(pid: int, name: str) -> str:
    try:
        return Path(f"/proc/{pid}/{name}").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def rss_mib(pid: int) -> float:
    found = re.search(r"^VmRSS:\s+(\d+)\s+kB", proc(pid, "status"), re.MULTILINE)
    return round(int(found[1]) / 1024, 1) if found else 0.0


def memory(pid: int) -> Figure:
    """The workers below the local stack's process `pid` (each names its function in its
    environment): Lambda runs a function in one process within its MemorySize, so a worker's whole
    resident set (shared pages included) is what has to fit."""
    workers: dict[str, list[float]] = {}
    limits: dict[str, int] = {}
    for worker in children(pid):
        environment = dict(item.split("=", 1) for item in proc(worker, "environ").split("\0") if "=" in item)
        if function := environment.get("AWS_LAMBDA_FUNCTION_NAME"):
            workers.setdefault(function, []).append(rss_mib(worker))
            limits[function] = int(environment.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
    if not workers:
        raise RuntimeError("no worker process found (this needs Linux's /proc)")
    largest = max(workers, key=lambda name: max(workers[name]))
    return Figure(
        "the resident set (VmRSS) of each function's largest worker process after the reads; the "
        f"largest, {largest}'s",
        max(workers[largest]),
        "MiB",
        "every function's largest worker within its MemorySize",
        all(max(sizes) <= limits[name] for name, sizes in workers.items()),
        note=f"the local stack's own process (moto, the gateway, the Runtime APIs): {rss_mib(pid)} MiB",
        rows=[
            {"function": name, "workers": len(sizes), "largest MiB": max(sizes), "MemorySize": limits[name]}
            for name, sizes in sorted(workers.items())
        ],
    )


# 2. admission ------------------------------------------------------------------------------------


def poster(bench: Bench) -> Callable[[], float]:
    """A POST of a new name, its execution stopped once it waits on its stack."""

    def post() -> float:
        seconds, operation = bench.create(f"adm/r-{uuid.uuid4().hex[:10]}")
        bench.quiesce(operation, stop=True)
        time.sleep(0.1)  # for the stopped execution's status event to be handled before the next sample
        return seconds

    return post


def post_floor(bench: Bench) -> Callable[[], float]:
    """The calls a create cannot do without, for a new name: the lock's conditional write,
    DescribeStacks, DescribeRepositories (with CreateRepositoryFunction's role), StartExecution on
    a copy of the service's state machine with an input its first state refuses, so that no task
    runs (with plain credentials: the role may start the service's machine only)."""
    session = bench.as_function("CreateRepositoryFunction")
    ddb, cfn, ecr = (bench.client(name, session) for name in ("dynamodb", "cloudformation", "ecr"))
    sfn, table = bench.client("stepfunctions"), bench.table
    original = sfn.describe_state_machine(stateMachineArn=bench.machine)
    copy = sfn.create_state_machine(
        name=f"bench-floor-{uuid.uuid4().hex[:8]}",
        definition=original["definition"],
        roleArn=original["roleArn"],
    )["stateMachineArn"]

    def sample() -> float:
        token = uuid.uuid4().hex
        name, key = f"adm/floor-{token[:10]}", {"name": {"S": f"bench-floor/{token}"}}
        began = time.perf_counter()
        ddb.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET operationId = :op",
            ConditionExpression=NOT_LOCKED_OR_MINE,
            ExpressionAttributeValues={":op": {"S": token}},
        )
        with contextlib.suppress(ClientError):  # no such stack: a create
            cfn.describe_stacks(StackName=stack_name_for(PREFIX, name, ENVIRONMENT))
        with contextlib.suppress(ClientError):  # no such repository
            ecr.describe_repositories(repositoryNames=[name])
        sfn.start_execution(stateMachineArn=copy, name=token, input='"bench-floor"')
        seconds = time.perf_counter() - began
        ddb.delete_item(TableName=table, Key=key)
        time.sleep(0.05)
        return seconds

    return sample


def fill(bench: Bench, count: int) -> None:
    """`count` creates, 4 at a time, each waited for until it waits on its stack."""

    def one(index: int) -> None:
        bench.quiesce(bench.create(f"adm/fill-{index:04d}")[1], stop=False)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, range(count)))


def admission(plan: Plan) -> dict[str, Figure]:
    """Each level on a fresh stack, so that levels differ in what runs, not in what earlier ones left."""
    parameters = {"StackPollIntervalSeconds": str(ADMISSION_POLL)}
    levels: list[tuple[int, float, Stats]] = []  # running, seconds to start them, the POSTs
    floor = Stats.of([])
    for level in plan.admission_levels:
        with running(f"admission-{level}", ADMISSION_SETTLE, parameters) as bench:
            began = time.monotonic()
            fill(bench, level)
            filled, now_running = time.monotonic() - began, bench.running()
            room = ADMISSION_POLL - filled - 15  # done before the first of them checks its stack
            say(f"admission: {now_running} running; POST /repositories -> 202")
            if level == 0:
                samples = series(
                    poster(bench),
                    post_floor(bench),
                    count=plan.requests,
                    warmup=plan.warmup,
                    budget=plan.budget,
                )
                floor = Stats.of(samples[1])
            else:
                samples = series(
                    poster(bench),
                    count=plan.admission_requests,
                    warmup=plan.warmup,
                    budget=min(plan.budget, room),
                )
            levels.append((now_running, filled, Stats.of(samples[0])))
    (_, _, idle), (top, _, busy) = levels[0], levels[-1]
    rows: list[dict[str, Cell]] = [
        {
            "running": count,
            "started in s": round(seconds),
            "n": stats.n,
            "p50 ms": stats.p50,
            "p95 ms": stats.p95,
            "ratio": ratio(stats.p50, idle.p50),
        }
        for count, seconds, stats in levels
    ]
    return {
        "admission": Figure(
            f"POST /repositories -> 202 with {', '.join(str(count) for count, _, _ in levels)} operations "
            "running (each level on a fresh stack, each POST's execution stopped once it waits on its "
            f"stack); p50 with {top} running",
            busy.p50,
            "ms",
            f"ratio <= {ADMISSION_GOAL} at {plan.admission_levels[-1]} running",
            at_most(ratio(busy.p50, idle.p50), ADMISSION_GOAL) if top >= plan.admission_levels[-1] else None,
            Floor("the same POST with 0 running, p50", idle.p50),
            f"with 0 running, in rounds with its calls (the lock's conditional write, DescribeStacks, "
            f"DescribeRepositories, StartExecution): p50 {idle.p50} ms against {floor.p50} ms, ratio "
            f"{ratio(idle.p50, floor.p50)} (the read routes' goal is {LATENCY_GOAL})",
            rows,
        )
    }
