"""What the benchmarks need of the local stack, seen from outside: its signed HTTP API, and direct
AWS calls to its moto endpoint (floors, seeding, the catalog's table, executions).

Nothing here reads the service's code paths: the API is called as a client calls it, AWS as any
tool calls it. The only things taken from the code are the ones a workflow run would produce
anyway (the repository template, its parameters and tags, the stack name), so that seeded
stacks are the stacks the service makes.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.exceptions import ClientError
from local.process import LocalStackProcess

from agentcore_ecr.domain import stack as stack_rules
from agentcore_ecr.domain.models import CreateRepositoryRequest
from agentcore_ecr.domain.naming import stack_name_for

REGION = "us-east-1"
PREFIX = "agentcore"  # StackNamePrefix: the bench's local stacks run with the template's default
ENVIRONMENT = "dev"
CLOUDFORMATION_ROLE = "CloudFormationServiceRole"  # the local stack names a role by its logical id
DENIED = frozenset({"AccessDenied", "AccessDeniedException"})
ENDED_EVENTS = frozenset({"ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"})
_began = time.monotonic()


class BenchError(RuntimeError):
    """The stack answered something a benchmark step cannot go on from."""


def say(message: str) -> None:
    """Progress on stderr, with the time since the bench started."""
    print(f"[bench {time.monotonic() - _began:7.1f}s] {message}", file=sys.stderr, flush=True)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


# The HTTP API --------------------------------------------------------------------------------


@dataclass
class Answer:
    seconds: float  # the HTTP exchange alone: request sent to body read and decoded
    sent_at: float  # time.time() when the request went out
    status: int
    body: Any


class Api:
    """The local stack's API, every request signed with SigV4 as API Gateway's AWS_IAM needs.

    The signature is made before the clock starts: the caller's signing is not the service's time.
    A new connection each request, as the integration suite's client makes them.
    """

    def __init__(self, stack: LocalStackProcess) -> None:
        self.stack = stack

    def call(self, method: str, path: str, body: object = None) -> Answer:
        url = self.stack.api + path
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        signing = AWSRequest(method=method, url=url, data=data or b"", headers=headers)
        SigV4Auth(self.stack.signing_credentials, "execute-api", REGION).add_auth(signing)
        request = urllib.request.Request(  # noqa: S310 - loopback only
            url, data=data, method=method, headers=dict(signing.headers.items())
        )
        sent_at = time.time()
        began = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310 - loopback only
                status, text = answer.status, answer.read()
        except urllib.error.HTTPError as refused:
            status, text = refused.code, refused.read()
        decoded = json.loads(text) if text else None
        return Answer(time.perf_counter() - began, sent_at, status, decoded)

    def expect(self, method: str, path: str, status: int, body: object = None) -> Answer:
        answer = self.call(method, path, body)
        if answer.status != status:
            raise BenchError(f"{method} {path}: expected {status}, got {answer.status}: {answer.body}")
        return answer

    def create(self, name: str) -> tuple[Answer, str]:
        """POST /repositories with a new name: the answer and its operation id."""
        answer = self.expect("POST", "/repositories", 202, {"name": name, "environment": ENVIRONMENT})
        if not isinstance(answer.body, dict) or not isinstance(answer.body.get("operationId"), str):
            raise BenchError(f"not an Operation: {answer.body}")
        return answer, str(answer.body["operationId"])

    def status(self, operation: str) -> str:
        body = self.expect("GET", f"/operations/{operation}", 200).body
        return str(body["status"]) if isinstance(body, dict) else "?"

    def wait(self, operation: str, timeout: float, poll: float = 0.1) -> tuple[str, float]:
        """Poll GET /operations/{id} until it is no longer RUNNING: its status and time.time() then."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status(operation)
            if status != "RUNNING":
                return status, time.time()
            time.sleep(poll)
        return "RUNNING", time.time()

    def count_managed(self, max_pages: int = 200) -> int:
        """How many repositories GET /repositories lists, page by page (100 a page)."""
        count, token = 0, None
        for _ in range(max_pages):
            query = {"limit": "100", **({"nextToken": token} if token else {})}
            body = self.expect("GET", "/repositories?" + urllib.parse.urlencode(query), 200).body
            count += len(body.get("items", []))
            token = body.get("nextToken")
            if not token:
                break
        return count


# Direct AWS calls ----------------------------------------------------------------------------


class Aws:
    """boto3 on the local stack's moto endpoint with plain credentials (which its IAM leaves
    unchecked), or with a function's own role (which its IAM checks as AWS would)."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.plain = boto3.Session(
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto takes any credentials
            region_name=REGION,
        )
        self._clients: dict[tuple[str, float], Any] = {}
        self._machine: str | None = None

    def client(self, service: str, read_timeout: float = 60.0, session: Any = None) -> Any:
        config = Config(
            read_timeout=read_timeout,
            connect_timeout=10,
            retries={"max_attempts": 1 if read_timeout > 60 else 3, "mode": "standard"},
            max_pool_connections=32,
        )
        if session is not None:
            return session.client(service, endpoint_url=self.endpoint, config=config)
        key = (service, read_timeout)
        if key not in self._clients:
            self._clients[key] = self.plain.client(service, endpoint_url=self.endpoint, config=config)
        return self._clients[key]

    def function_role(self, function: str) -> str | None:
        try:
            return str(self.client("lambda").get_function(FunctionName=function)["Configuration"]["Role"])
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                return None
            raise

    def role_session(self, role_arn: str, session_name: str) -> Any:
        credentials = self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name)[
            "Credentials"
        ]
        return boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=REGION,
        )

    @property
    def state_machine(self) -> str:
        """The service's state machine: the stack's only one (the bench's own copies aside), or else
        the one named *repository-workflow (the template names it `${AWS::StackName}-repository-workflow`)."""
        if self._machine is None:
            listed = self.client("stepfunctions").list_state_machines()["stateMachines"]
            machines = [item for item in listed if not str(item["name"]).startswith("bench-")]
            if len(machines) > 1:
                machines = [item for item in machines if str(item["name"]).endswith("repository-workflow")]
            if len(machines) != 1:
                names = ", ".join(str(item["name"]) for item in listed)
                raise BenchError(f"cannot tell the service's state machine among: {names or 'none'}")
            self._machine = str(machines[0]["stateMachineArn"])
        return self._machine

    def execution_arn(self, name: str) -> str:
        head, _, machine = self.state_machine.rpartition(":stateMachine:")
        return f"{head}:execution:{machine}:{name}"

    def stopped_at(self, operation: str) -> tuple[str, float | None]:
        """The execution's status and its stopDate (epoch seconds), from Step Functions itself."""
        sfn = self.client("stepfunctions")
        execution = sfn.describe_execution(executionArn=self.execution_arn(operation))
        stop = execution.get("stopDate")
        return str(execution["status"]), (stop.timestamp() if stop is not None else None)

    def stack_created_at(self, stack_name: str) -> float | None:
        """The stack's CreationTime (epoch seconds), None if there is no such stack."""
        try:
            stacks = self.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
        except ClientError:
            return None
        return stacks[0]["CreationTime"].timestamp() if stacks else None

    def running(self) -> set[str]:
        """Names of the state machine's RUNNING executions."""
        names: set[str] = set()
        paginator = self.client("stepfunctions").get_paginator("list_executions")
        for page in paginator.paginate(stateMachineArn=self.state_machine, statusFilter="RUNNING"):
            names.update(str(item["name"]) for item in page.get("executions", []))
        return names

    def quiesce(self, operation: str, stop: bool, timeout: float = 15.0) -> str:
        """Wait until the operation's execution waits on its stack (its Wait state) or has ended, so
        that nothing of it runs any more; with `stop`, StopExecution it there. Returns what it did:
        "waiting", "stopped", "ended" or "timeout"."""
        sfn = self.client("stepfunctions")
        arn = self.execution_arn(operation)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                types = {event["type"] for event in sfn.get_execution_history(executionArn=arn)["events"]}
            except ClientError as error:
                if error_code(error) != "ExecutionDoesNotExist":
                    raise
                types = set()
            if types & ENDED_EVENTS:
                return "ended"
            if "TaskSubmitted" in types:  # AwaitStack: waiting on the stack
                if not stop:
                    return "waiting"
                sfn.stop_execution(
                    executionArn=arn, error="Bench", cause="stopped by make bench once its POST was measured"
                )
                return "stopped"
            time.sleep(0.05)  # not more often: each look is a request the emulator serves meanwhile
        return "timeout"


class Caller:
    """The AWS calls of one route's floor, made with that route's function's own role, so that the
    local IAM authorizes them as it authorizes the function's calls. A call the role may not make
    goes out with plain credentials instead, and `principal` says so."""

    def __init__(self, aws: Aws, function: str) -> None:
        self.aws = aws
        self.function = function
        role = aws.function_role(function)
        self.role = role
        session = aws.role_session(role, "bench-floor") if role else None
        self._session = session
        self._clients: dict[tuple[str, bool], Any] = {}
        self.unsigned: set[str] = set()  # "service:Action" made with plain credentials

    def _client(self, service: str, with_role: bool) -> Any:
        key = (service, with_role)
        if key not in self._clients:
            self._clients[key] = self.aws.client(service, session=self._session if with_role else None)
        return self._clients[key]

    def __call__(
        self, service: str, operation: str, expected: frozenset[str] = frozenset(), **kwargs: Any
    ) -> Any:
        name = f"{service}:{''.join(part.capitalize() for part in operation.split('_'))}"
        if self._session is not None and name not in self.unsigned:
            try:
                return self._invoke(self._client(service, True), operation, expected, kwargs)
            except ClientError as error:
                if error_code(error) not in DENIED:
                    raise
                self.unsigned.add(name)
        return self._invoke(self._client(service, False), operation, expected, kwargs)

    @staticmethod
    def _invoke(client: Any, operation: str, expected: frozenset[str], kwargs: dict[str, Any]) -> Any:
        try:
            return getattr(client, operation)(**kwargs)
        except ClientError as error:
            if error_code(error) in expected:
                return None
            raise

    @property
    def principal(self) -> str:
        if self.role is None:
            return f"plain credentials ({self.function} not found)"
        text = f"with {self.function}'s role ({self.role.rsplit('/', 1)[-1]})"
        if self.unsigned:
            text += f"; {', '.join(sorted(self.unsigned))} with plain credentials (the role may not)"
        return text


# The catalog ---------------------------------------------------------------------------------


@dataclass
class Catalog:
    """The service's DynamoDB table, as list_tables and describe_table show it."""

    table: str
    key: list[tuple[str, str]]  # (attribute, S|N|B) of the table's key, HASH first
    indexes: list[tuple[str | None, str, str | None]]  # (GSI name or None, hash attribute, range attribute)
    note: str = ""

    def item_key(self, token: str) -> dict[str, Any]:
        """A key no repository has (the bench's own lock item)."""
        values = {"S": {"S": f"bench-floor#{token}"}, "N": {"N": str(int(token[:12], 16))}}
        return {name: values.get(kind, {"B": token.encode()}) for name, kind in self.key}


def find_catalog(aws: Aws) -> Catalog | None:
    """The catalog table: the one table on the local stack (one named *catalog* if there are more)."""
    ddb = aws.client("dynamodb")
    tables = [str(name) for name in ddb.list_tables().get("TableNames", [])]
    if not tables:
        return None
    named = [table for table in tables if "catalog" in table.lower()]
    table = (named or tables)[0]
    note = "" if len(tables) == 1 else f"{table} of {len(tables)} tables ({', '.join(tables)})"
    description = ddb.describe_table(TableName=table)["Table"]
    types = {item["AttributeName"]: item["AttributeType"] for item in description["AttributeDefinitions"]}

    def key_of(schema: list[dict[str, str]]) -> tuple[str, str | None]:
        hash_key = next(item["AttributeName"] for item in schema if item["KeyType"] == "HASH")
        range_key = next((item["AttributeName"] for item in schema if item["KeyType"] == "RANGE"), None)
        return hash_key, range_key

    table_hash, table_range = key_of(description["KeySchema"])
    key = [(table_hash, types[table_hash])] + ([(table_range, types[table_range])] if table_range else [])
    indexes: list[tuple[str | None, str, str | None]] = [
        (str(index["IndexName"]), *key_of(index["KeySchema"]))
        for index in description.get("GlobalSecondaryIndexes", [])
    ]
    indexes.append((None, table_hash, table_range))
    return Catalog(table, key, indexes, note)


def list_query(aws: Aws, catalog: Catalog, limit: int) -> tuple[dict[str, Any] | None, str]:
    """The Query that reads one page of `limit` repositories, found by trying the table's indexes:
    under the partition key value most items share, one that answers `limit` items, an index
    with a sort key first. None (and why) if no index does."""
    ddb = aws.client("dynamodb")
    candidates = sorted(catalog.indexes, key=lambda index: (index[2] is None, index[0] is None))
    tried: list[str] = []
    for index, hash_key, range_key in candidates:
        scan: dict[str, Any] = {"TableName": catalog.table, "Limit": 500}
        if index is not None:
            scan["IndexName"] = index
        items = ddb.scan(**scan).get("Items", [])
        shared = Counter(json.dumps(item[hash_key], sort_keys=True) for item in items if hash_key in item)
        where = f"{catalog.table}{'/' + index if index else ''}"
        if not shared:
            tried.append(f"{where}: no items")
            continue
        value = json.loads(shared.most_common(1)[0][0])
        query: dict[str, Any] = {
            "TableName": catalog.table,
            "KeyConditionExpression": "#k = :k",
            "ExpressionAttributeNames": {"#k": hash_key},
            "ExpressionAttributeValues": {":k": value},
            "Limit": limit,
        }
        if index is not None:
            query["IndexName"] = index
        count = int(ddb.query(**query)["Count"])
        if count == limit:
            shown = next(iter(value.values()))
            order = f", in {range_key} order" if range_key else ""
            return query, f"Query on {where}, {hash_key} = {shown!r}{order}, Limit {limit}"
        tried.append(f"{where}: {count} items under {hash_key}")
    return None, "no index of the table answers a page: " + "; ".join(tried)


def function_exists(aws: Aws, function: str) -> bool:
    return aws.function_role(function) is not None


def repair(aws: Aws, api: Api, function: str, expected: int, budget: float) -> dict[str, Any]:
    """Invoke the repair function (`{}`) until GET /repositories lists `expected` repositories,
    at most 10 times, while each invocation adds some; what it took."""
    client = aws.client("lambda", read_timeout=900.0)
    began = time.monotonic()
    invocations, counted, last = 0, -1, ""
    while invocations < 10 and time.monotonic() - began < budget:
        response = client.invoke(FunctionName=function, Payload=b"{}")
        invocations += 1
        last = response["Payload"].read().decode(errors="replace")[:300]
        if response.get("FunctionError"):
            raise BenchError(f"{function} failed: {last}")
        now = api.count_managed()
        if now >= expected or now <= counted:
            counted = now
            break
        counted = now
    return {
        "seconds": round(time.monotonic() - began, 1),
        "invocations": invocations,
        "listed": counted,
        "expected": expected,
        "response": last,
    }


# Seeding -------------------------------------------------------------------------------------


@dataclass
class Seeder:
    """Managed repositories made as the service's workflow makes them, without the API: CreateStack
    of the service's repository template with the parameters and tags a create request renders,
    the CloudFormation service role and the stack name the service gives it, 8 at a time."""

    aws: Aws
    workers: int = 8
    made: int = 0
    failures: list[str] = field(default_factory=list)
    role: str | None = None

    def __post_init__(self) -> None:
        try:
            self.role = str(self.aws.client("iam").get_role(RoleName=CLOUDFORMATION_ROLE)["Role"]["Arn"])
        except ClientError:
            self.role = None

    @staticmethod
    def name(index: int) -> str:
        return f"scale/repo-{index:05d}"

    def create(self, cfn: Any, index: int) -> None:
        body = {"name": self.name(index), "environment": ENVIRONMENT}
        request = CreateRepositoryRequest.model_validate(body)
        settings = request.model_copy(update={"encryption": "KMS"})  # the service's default on create
        kwargs: dict[str, Any] = {
            "StackName": stack_name_for(PREFIX, settings.name, settings.environment),
            "TemplateBody": stack_rules.repository_template_for(settings.tags),
            "Parameters": [
                {"ParameterKey": key, "ParameterValue": value}
                for key, value in stack_rules.stack_parameters(settings).items()
            ],
            "Tags": [{"Key": key, "Value": value} for key, value in stack_rules.stack_tags(settings).items()],
            "OnFailure": "ROLLBACK",
            "ClientRequestToken": f"bench-seed-{index}",
        }
        if self.role:
            kwargs["RoleARN"] = self.role
        cfn.create_stack(**kwargs)

    def seed_to(self, total: int, budget: float) -> float:
        """Make stacks until `total` are made (or the budget is spent); the seconds it took."""
        if total <= self.made:
            return 0.0
        cfn = self.aws.client("cloudformation")
        began = time.monotonic()
        deadline = began + budget
        start, pending = self.made, iter(range(self.made, total))
        last_report = began
        with ThreadPoolExecutor(self.workers) as pool:
            running: set[Future[None]] = set()

            def refill() -> None:
                while len(running) < self.workers * 2 and time.monotonic() < deadline:
                    index = next(pending, None)
                    if index is None:
                        return
                    running.add(pool.submit(self.create, cfn, index))

            refill()
            while running:
                done, _ = wait(running, timeout=5, return_when=FIRST_COMPLETED)
                for future in done:
                    running.discard(future)
                    error = future.exception()
                    if error is None:
                        self.made += 1
                    elif len(self.failures) < 20:
                        self.failures.append(str(error)[:200])
                refill()
                if time.monotonic() - last_report >= 15:
                    last_report = time.monotonic()
                    rate = (self.made - start) / (last_report - began)
                    left = (total - self.made) / rate if rate else float("inf")
                    say(f"  seeded {self.made:,} of {total:,} stacks ({rate:.0f}/s, about {left:.0f} s left)")
        seconds = time.monotonic() - began
        say(f"  seeded {self.made:,} stacks ({self.made - start:,} in {seconds:.0f} s)")
        return seconds


# Timed series --------------------------------------------------------------------------------


def series(sample: Callable[[], float], count: int, warmup: int, budget: float) -> list[float]:
    """`count` samples one at a time (after `warmup` that are not counted), within the budget."""
    for _ in range(warmup):
        sample()
    samples: list[float] = []
    deadline = time.monotonic() + budget
    while len(samples) < count and time.monotonic() < deadline:
        samples.append(sample())
    return samples


def paired(
    route: Callable[[], float], floor: Callable[[], float], count: int, warmup: int, budget: float
) -> tuple[list[float], list[float]]:
    """A route and its floor interleaved, one sample each in turn (which goes first alternates), so
    that whatever else the machine does falls on both alike."""
    for _ in range(warmup):
        route()
        floor()
    routes: list[float] = []
    floors: list[float] = []
    deadline = time.monotonic() + budget
    while len(routes) < count and time.monotonic() < deadline:
        if len(routes) % 2 == 0:
            routes.append(route())
            floors.append(floor())
        else:
            floors.append(floor())
            routes.append(route())
    return routes, floors


def timed(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began
