"""`python -m bench` (`make bench`): measure the local stack; write bench/results.md and
bench/results.json.

The table of results.md comes from a local stack started as a subprocess on free loopback ports
with `--settle-seconds 0`, the way the integration suite starts it (tests/integration/conftest.py):

1. cold start: process start to "local stack ready" (3 starts, each stopped);
2. read latency through the HTTP API (warm workers, 5 warm-up requests discarded);
3. mutation acceptance: POST /repositories to its 202;
4. end to end: POST /repositories to the operation being SUCCEEDED, one at a time and 12 at once;
5. memory: VmRSS of the stack's main process and of its worker processes, idle and after the runs.

Then the figures of issue 8, each against its floor (bench/results.py writes them to
results.json and to a second table of results.md): `coldstart` and `artifact` from
bench/coldstart.py and bench/artifact.py when they are there, `readiness` (the stack's terminal
status to SUCCEEDED, with the status events and with the fallback alone) from
bench/readiness.py, the others from bench/scale.py.

`BENCH_QUICK=1` makes a short pass for development (fewer requests, smaller levels); its
results say so and are not for committing.

`BENCH_ONLY=readiness` (keys separated by commas: readiness, coldstart, artifact) measures those
figures alone, without the table: a full pass merges them into the committed bench/results.json
(every other figure stays as it was; `measured_apart` says when they were measured) and
rewrites the table of figures in bench/results.md; a quick one (with BENCH_QUICK=1) prints them
and writes .local/bench-only.json, and leaves the committed files alone.

Every loop is bounded in count and in time; all traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import inspect
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from local.process import LocalStackProcess

from bench import readiness, results, scale
from bench.aws import say
from bench.results import Figure, percentile

RESULTS = Path(__file__).resolve().parent / "results.md"
RESULTS_JSON = Path(__file__).resolve().parent / "results.json"
ONLY_QUICK_JSON = Path(__file__).resolve().parent.parent / ".local" / "bench-only.json"
COMMAND = "`make bench` (runs `.venv/bin/python -m bench`)"
SETTLE_SECONDS = 0.0
WAIT_SECONDS = 1  # the workflow's Wait state (StackPollIntervalSeconds in the local stack)

READ_BUDGET_SECONDS = 60.0  # per read series
CREATE_BUDGET_SECONDS = 40.0
SETTLE_BUDGET_SECONDS = 120.0  # for the 50 accepted creates to finish
E2E_SEQUENTIAL_BUDGET_SECONDS = 90.0
OPERATION_TIMEOUT_SECONDS = 60.0
POLL_SECONDS = 0.1
LIST_LIMIT = 50


class BenchError(RuntimeError):
    """The stack answered something a benchmark step cannot go on from."""


@dataclass(frozen=True)
class Counts:
    """How many of each the table's series measure (BENCH_QUICK=1: fewer)."""

    cold_starts: int = 3
    warmup_requests: int = 5
    read_requests: int = 200
    creates: int = 50
    e2e_sequential: int = 20
    e2e_concurrent: int = 12

    @classmethod
    def for_plan(cls, plan: scale.Plan) -> Counts:
        if not plan.quick:
            return cls()
        return cls(
            cold_starts=1, warmup_requests=3, read_requests=30, creates=10, e2e_sequential=5, e2e_concurrent=4
        )


@dataclass
class Row:
    measurement: str
    n: str
    value: str  # the median, or the single value
    p95: str
    max: str
    note: str


@dataclass
class Memory:
    main_kib: int
    workers_kib: int
    workers: int
    workers_pss_kib: int


# Figures ---------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def secs(seconds: float) -> str:
    return f"{seconds:.2f} s"


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


def counted(done: int, planned: int, extra: str = "") -> str:
    text = str(done) if done == planned else f"{done} of {planned}"
    return f"{text} ({extra})" if extra else text


def series_row(
    measurement: str,
    samples: list[float],
    planned: int,
    note: str,
    unit: Callable[[float], str] = ms,
    extra: str = "",
) -> Row:
    if not samples:
        return Row(measurement, counted(0, planned, extra), "-", "-", "-", note)
    return Row(
        measurement,
        counted(len(samples), planned, extra),
        unit(statistics.median(samples)),
        unit(percentile(samples, 95)),
        unit(max(samples)),
        note,
    )


# The stack -------------------------------------------------------------------------------


def stop(stack: LocalStackProcess) -> None:
    try:
        stack.stop()
    except subprocess.TimeoutExpired:
        stack.process.kill()
        stack.process.wait(timeout=10)


def expect(stack: LocalStackProcess, method: str, path: str, status: int, body: object = None) -> object:
    answer = stack.request(method, path, body)
    if answer.status != status:
        raise BenchError(f"{method} {path}: expected {status}, got {answer.status}: {answer.body}")
    result: object = answer.body
    return result


def operation_id(answer: object) -> str:
    if not isinstance(answer, dict) or not isinstance(answer.get("operationId"), str):
        raise BenchError(f"not an Operation: {answer}")
    return str(answer["operationId"])


def operation_status(stack: LocalStackProcess, operation: str) -> str:
    answer = expect(stack, "GET", f"/operations/{operation}", 200)
    if not isinstance(answer, dict):
        raise BenchError(f"not an Operation: {answer}")
    return str(answer["status"])


# Memory ----------------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    """VmRSS of one process in KiB (0 if it is gone or has no user memory)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"^VmRSS:\s+(\d+)\s+kB", status, re.MULTILINE)
    return int(found.group(1)) if found else 0


def pss_kib(pid: int) -> int:
    """Proportional set size in KiB: shared pages divided among the processes that map them."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    found = re.search(r"^Pss:\s+(\d+)\s+kB", rollup, re.MULTILINE)
    return int(found.group(1)) if found else 0


def descendants(pid: int, depth: int = 0) -> list[int]:
    """Every process below pid, from /proc/<pid>/task/*/children (bounded depth)."""
    if depth > 8:
        return []
    children: list[int] = []
    for task in sorted(Path(f"/proc/{pid}/task").glob("*")):
        try:
            children.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:
            continue
    found: list[int] = []
    for child in children:
        found.append(child)
        found.extend(descendants(child, depth + 1))
    return found


def memory(stack: LocalStackProcess) -> Memory:
    pid = stack.process.pid
    workers = descendants(pid)
    return Memory(
        rss_kib(pid),
        sum(rss_kib(worker) for worker in workers),
        len(workers),
        sum(pss_kib(worker) for worker in workers),
    )


def workers_by_function(stack: LocalStackProcess) -> dict[str, int]:
    """Worker processes per handler module (`python -m awslambdaric agentcore_ecr.handlers.X.handler`)."""
    counts: dict[str, int] = {}
    for pid in descendants(stack.process.pid):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        except OSError:
            continue
        handler = next((arg for arg in reversed(argv) if arg), "?")
        module = handler.rsplit(".", 1)[0].rsplit(".", 1)[-1]
        counts[module] = counts.get(module, 0) + 1
    return counts


# Measurements ----------------------------------------------------------------------------


def cold_starts(count: int) -> tuple[list[float], list[float]]:
    """Seconds from Popen to "ready", and the stack's own figure (from main() after its imports)."""
    outside: list[float] = []
    inside: list[float] = []
    for _ in range(count):
        began = time.monotonic()
        stack = LocalStackProcess.start(
            Path(tempfile.mkdtemp(prefix="bench-")), settle_seconds=SETTLE_SECONDS
        )
        outside.append(time.monotonic() - began)
        try:
            for line in stack.output:
                found = re.search(r"local stack ready in ([\d.]+)s", line)
                if found:
                    inside.append(float(found.group(1)))
        finally:
            stop(stack)
    return outside, inside


def latencies(call: Callable[[], object], count: int, warmup: int, budget: float) -> list[float]:
    for _ in range(warmup):
        call()
    samples: list[float] = []
    deadline = time.monotonic() + budget
    while len(samples) < count and time.monotonic() < deadline:
        began = time.perf_counter()
        call()
        samples.append(time.perf_counter() - began)
    return samples


def accept_creates(stack: LocalStackProcess, creates: int) -> tuple[list[float], list[str]]:
    """POST /repositories back to back: the 202's latency, and the operations started."""
    samples: list[float] = []
    operations: list[str] = []
    deadline = time.monotonic() + CREATE_BUDGET_SECONDS
    for index in range(creates):
        if time.monotonic() >= deadline:
            break
        began = time.perf_counter()
        answer = expect(stack, "POST", "/repositories", 202, {"name": f"bench/accept-{index:03d}"})
        samples.append(time.perf_counter() - began)
        operations.append(operation_id(answer))
    return samples, operations


def wait_all(stack: LocalStackProcess, operations: list[str]) -> dict[str, int]:
    """Poll until no operation is RUNNING (bounded); how many ended in each status."""
    statuses = dict.fromkeys(operations, "RUNNING")
    deadline = time.monotonic() + SETTLE_BUDGET_SECONDS
    while time.monotonic() < deadline:
        for operation in [key for key, status in statuses.items() if status == "RUNNING"]:
            statuses[operation] = operation_status(stack, operation)
        if "RUNNING" not in statuses.values():
            break
        time.sleep(0.5)
    tally: dict[str, int] = {}
    for status in statuses.values():
        tally[status] = tally.get(status, 0) + 1
    return tally


@dataclass
class Run:
    seconds: float  # POST to the answer that is no longer RUNNING
    status: str
    accepted: float  # the POST's own latency


def end_to_end(stack: LocalStackProcess, name: str) -> Run:
    """One create, from POST /repositories to a GET /operations answer that is no longer RUNNING."""
    began = time.perf_counter()
    operation = operation_id(expect(stack, "POST", "/repositories", 202, {"name": name}))
    accepted = time.perf_counter() - began
    while time.perf_counter() - began < OPERATION_TIMEOUT_SECONDS:
        time.sleep(POLL_SECONDS)
        status = operation_status(stack, operation)
        if status != "RUNNING":
            return Run(time.perf_counter() - began, status, accepted)
    return Run(time.perf_counter() - began, "RUNNING", accepted)


def outcome(results: list[Run]) -> tuple[list[float], str]:
    """The SUCCEEDED times, and a note on the rest (empty when all succeeded)."""
    others: dict[str, int] = {}
    for run in results:
        if run.status != "SUCCEEDED":
            others[run.status] = others.get(run.status, 0) + 1
    note = ", ".join(f"{count} {status}" for status, count in sorted(others.items()))
    return [run.seconds for run in results if run.status == "SUCCEEDED"], note


# The run ---------------------------------------------------------------------------------


def cold_start_row(count: int) -> Row:
    outside, inside = cold_starts(count)
    each = ", ".join(f"{seconds:.2f}" for seconds in outside)
    banner = (
        f"; the stack's own banner (from its main() after imports) says {statistics.median(inside):.1f} s"
        if inside
        else ""
    )
    return Row(
        "Cold start of the local stack",
        str(len(outside)),
        secs(statistics.median(outside)),
        "-",
        secs(max(outside)),
        "Process start (Popen of `python -m local`) to `local stack ready` on its stdout: moto up, "
        "template provisioned, one awslambdaric worker per function waiting. Median of "
        f"{len(outside)} starts ({each} s), each stopped with SIGTERM{banner}.",
    )


def slowest(samples: list[float]) -> str:
    if not samples:
        return "no samples"
    index = samples.index(max(samples))
    return f"the slowest was #{index + 1} of {len(samples)} ({ms(samples[index])})"


def end_to_end_rows(stack: LocalStackProcess, remarks: list[str], counts: Counts) -> tuple[list[Row], int]:
    """4: creates one at a time, then a batch at once; the rows and how many creates ran."""
    rows: list[Row] = []
    sequential: list[Run] = []
    deadline = time.monotonic() + E2E_SEQUENTIAL_BUDGET_SECONDS
    for index in range(counts.e2e_sequential):
        if time.monotonic() >= deadline:
            break
        sequential.append(end_to_end(stack, f"bench/serial-{index:03d}"))
    succeeded, failed = outcome(sequential)
    rows.append(
        series_row(
            "Create, end to end, one at a time",
            succeeded,
            counts.e2e_sequential,
            "POST /repositories to the first GET /operations/{id} that answers SUCCEEDED, polling "
            f"every {POLL_SECONDS} s; the workflow waits {WAIT_SECONDS} s (its Wait state) before it "
            "checks the stack, so no create finishes in under 1 s.",
            secs,
            failed,
        )
    )
    alone = [run.accepted for run in sequential]
    if alone:
        remarks.append(
            f"POST /repositories → 202 with no other operation running (the POSTs of the one-at-a-time "
            f"creates): median {ms(statistics.median(alone))}, p95 {ms(percentile(alone, 95))}, "
            f"max {ms(max(alone))} over {len(alone)}."
        )

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=counts.e2e_concurrent) as pool:
        concurrent = list(
            pool.map(
                lambda index: end_to_end(stack, f"bench/parallel-{index:03d}"), range(counts.e2e_concurrent)
            )
        )
    wall = time.perf_counter() - began
    succeeded, failed = outcome(concurrent)
    rows.append(
        Row(
            f"{counts.e2e_concurrent} creates at once, wall time",
            counted(len(succeeded), counts.e2e_concurrent, failed),
            secs(wall),
            "-",
            "-",
            f"First POST to the last SUCCEEDED, {counts.e2e_concurrent} clients in threads, each polling "
            f"every {POLL_SECONDS} s; the {WAIT_SECONDS} s Wait state applies to each.",
        )
    )
    rows.append(
        series_row(
            f"{counts.e2e_concurrent} creates at once, per operation",
            succeeded,
            counts.e2e_concurrent,
            "Each create's own POST-to-SUCCEEDED time in that concurrent run.",
            secs,
            failed,
        )
    )

    return rows, len(sequential) + len(concurrent)


def memory_rows(idle: Memory, final: Memory, creates: int) -> list[Row]:
    """5: the main process and its workers, idle and after the runs."""
    rows: list[Row] = []
    moments = (("idle", idle, "right after start"), ("after the runs", final, f"after {creates} creates"))
    for label, sample, when in moments:
        rows.append(
            Row(
                f"Memory, main process, {label}",
                "1",
                mib(sample.main_kib),
                "-",
                "-",
                f"VmRSS of the `python -m local` process (moto, API Gateway, Runtime APIs), {when}.",
            )
        )
        rows.append(
            Row(
                f"Memory, workers, {label}",
                str(sample.workers),
                mib(sample.workers_kib),
                "-",
                "-",
                f"Sum of VmRSS over its {sample.workers} child processes (/proc/<pid>/task/*/children; "
                "awslambdaric workers, one per function at start, up to 4 per function on demand); "
                "RSS counts shared pages in every process, the PSS sum is "
                f"{mib(sample.workers_pss_kib)}.",
            )
        )
    return rows


def measure(counts: Counts) -> tuple[list[Row], list[str]]:
    rows = [cold_start_row(counts.cold_starts)]
    remarks: list[str] = []

    stack = LocalStackProcess.start(Path(tempfile.mkdtemp(prefix="bench-")), settle_seconds=SETTLE_SECONDS)
    try:
        idle = memory(stack)

        # 3 first, so that the reads find 50 managed repositories; reported after the reads.
        before = workers_by_function(stack).get("create_repository", 0)
        accepted, operations = accept_creates(stack, counts.creates)
        after = workers_by_function(stack).get("create_repository", 0)
        accept_row = series_row(
            "POST /repositories → 202",
            accepted,
            counts.creates,
            f"Mutation acceptance: {counts.creates} creates of distinct names sent back to back (validation, "
            "ECR and CloudFormation lookups, a scan of the running executions for one on the same "
            "stack, StartExecution); the workflows of the earlier creates run meanwhile.",
        )
        remarks.append(
            f"POST /repositories → 202 (back to back): {slowest(accepted)}; CreateRepositoryFunction "
            f"went from {before} to {after} worker processes during the series."
        )
        tally = wait_all(stack, operations)
        if tally.get("SUCCEEDED", 0) != len(operations):
            remarks.append(f"The {len(operations)} accepted creates ended as {tally}.")
        listing = expect(stack, "GET", f"/repositories?limit={LIST_LIMIT}", 200)
        items = len(listing.get("items", [])) if isinstance(listing, dict) else 0
        if items != LIST_LIMIT:
            remarks.append(f"GET /repositories?limit={LIST_LIMIT} returned {items} items, not {LIST_LIMIT}.")

        name = "bench/accept-000"
        reads: list[tuple[str, str, Callable[[], object], str]] = [
            (
                "GET /repositories/{name}",
                "get_repository",
                lambda: expect(stack, "GET", f"/repositories/{name}", 200),
                "One managed repository: ECR DescribeRepositories and ListTagsForResource, "
                "CloudFormation DescribeStacks.",
            ),
            (
                f"GET /repositories?limit={LIST_LIMIT}",
                "list_repositories",
                lambda: expect(stack, "GET", f"/repositories?limit={LIST_LIMIT}", 200),
                f"A full page of {items} repositories with {tally.get('SUCCEEDED', 0)} managed: "
                "DescribeStacks over every stack, then ListTagsForResource once per item.",
            ),
            (
                "GET /operations/{id}",
                "get_operation",
                lambda: expect(stack, "GET", f"/operations/{operations[0]}", 200),
                "A finished create: Step Functions DescribeExecution.",
            ),
            (
                "POST /auth-token",
                "auth_token",
                lambda: expect(stack, "POST", "/auth-token", 200),
                "ECR GetAuthorizationToken (moto's token).",
            ),
        ]
        for measurement, module, call, note in reads:
            before = workers_by_function(stack).get(module, 0)
            samples = latencies(call, counts.read_requests, counts.warmup_requests, READ_BUDGET_SECONDS)
            after = workers_by_function(stack).get(module, 0)
            rows.append(series_row(measurement, samples, counts.read_requests, note))
            remarks.append(
                f"{measurement}: {slowest(samples)}; its function had {before} worker process(es) "
                f"before the warm-up and {after} after the series."
            )
        rows.append(accept_row)

        e2e_rows, e2e_creates = end_to_end_rows(stack, remarks, counts)
        rows += e2e_rows
        rows += memory_rows(idle, memory(stack), len(operations) + e2e_creates)
        scaled = {module: count for module, count in sorted(workers_by_function(stack).items()) if count > 1}
        remarks.append(
            "Worker processes per function at the end (functions with more than one): "
            + (", ".join(f"{module} {count}" for module, count in scaled.items()) or "none")
            + "."
        )
    finally:
        stop(stack)
    return rows, remarks


def table(rows: list[Row]) -> str:
    lines = [
        "| Measurement | n | median / value | p95 | max | What it measures |",
        "|---|---:|---:|---:|---:|---|",
    ]
    lines += [
        f"| {row.measurement} | {row.n} | {row.value} | {row.p95} | {row.max} | {row.note} |" for row in rows
    ]
    return "\n".join(lines)


EXTERNAL: dict[str, tuple[str, str, str]] = {
    # key: (what, unit, goal) of a figure another module measures, for when it is not there
    "coldstart": (
        "per function: a fresh process importing its handler and building what it builds at import",
        "ratio (function / floor)",
        "worst ratio <= 1.25",
    ),
    "artifact": (
        "zipped size of what `sam build` ships per function",
        "MB",
        "<= 5 MB, boto3 and botocore counted if shipped",
    ),
}


def external(key: str, plan: scale.Plan) -> Figure:
    """The figure of bench/<key>.py's `measure()`, or one that says why there is none."""
    what, unit, goal = EXTERNAL[key]
    name = f"bench.{key}"
    if importlib.util.find_spec(name) is None:
        return results.skipped(what, unit, goal, f"bench/{key}.py is not on this branch yet")
    say(f"{key}: {name}.measure()")
    try:
        module = importlib.import_module(name)
        accepts_quick = "quick" in inspect.signature(module.measure).parameters
        found = module.measure(quick=plan.quick) if accepts_quick else module.measure()
        return results.check_shape(key, found)
    except Exception as error:  # noqa: BLE001 - one figure's failure must not lose the run
        traceback.print_exc()
        return results.failed(what, goal, error)


def report(
    rows: list[Row],
    remarks: list[str],
    started: dt.datetime,
    seconds: float,
    counts: Counts,
    plan: scale.Plan,
    figures: dict[str, Figure],
) -> str:
    machine = results.machine()
    described = (
        f"{machine['cpus_usable']} CPUs (nproc) of {machine['cpu_model'] or 'unknown model'}, "
        f"{machine['memory_mib']:,} MiB, Python {machine['python']}, {machine['platform']}"
        if machine["memory_mib"]
        else f"{machine['cpus_usable']} CPUs (nproc), Python {machine['python']}, {machine['platform']}"
    )
    quick = (
        "\n**A quick run (`BENCH_QUICK=1`): fewer requests and smaller levels, for development; its "
        "figures are indicative and not for committing.**\n"
        if plan.quick
        else ""
    )
    return f"""# Benchmarks: the local stack
{quick}
- Date (UTC): {started:%Y-%m-%d %H:%M:%S}
- Machine: {described}
- Command: {COMMAND}; each local stack is `python -m local --port 0 --aws-port 0 --auth iam \
--settle-seconds {SETTLE_SECONDS:g}` on loopback ports the system picks, every request signed with SigV4
- Mode: {plan.describe()}
- Run time: {seconds:.0f} s

Two ways to run it: `make bench`, the full run (about 25 minutes on a 2-core machine), which writes \
this file and `bench/results.json`; and `BENCH_QUICK=1 make bench`, a short pass for development \
(about 7 minutes: fewer requests, smaller levels; its results say so and are not for committing).

With `--settle-seconds 0` moto's CloudFormation settles a stack at once, so these figures measure the \
service and the emulation, not an artificial delay. The workflow's Wait state still lasts {WAIT_SECONDS} s \
between starting a stack change and checking it, which sets a floor under every end-to-end time.

Latencies are wall-clock times in the benchmark process around one request with urllib (a new TCP \
connection each, JSON decoding included), one request at a time, after {counts.warmup_requests} warm-up \
requests that are not counted; p95 is the nearest-rank percentile. All traffic is to 127.0.0.1.

Each function starts with one worker process; the local stack starts another (up to 4) when an \
invocation has waited 0.1 s without a worker taking it, and lets a worker beyond the first go after \
60 s idle (`FunctionRuntime` in local/runtime.py), so requests sent one at a time keep one worker and \
concurrent ones add workers; the notes below say where each series' slowest request fell and how \
many workers each function had.

{table(rows)}

Notes from this run:

{chr(10).join(f"- {remark}" for remark in remarks) or "- none"}

## Figures against their floors

Each figure of issue 8 with its floor: what the same work costs when nothing of the service stands \
in the way (the AWS calls a route cannot avoid, made directly with boto3 to the same local AWS \
endpoint, with the route's function's own role and interleaved with the route's requests; the \
emulated stack's own time; the smallest level), the ratio to it, and the goal. Latencies are p50; \
every figure's details (p95, counts, each level and route) are in `bench/results.json`, with the \
machine and the date. bench/scale.py says how each is measured.

{results.figures_table(figures)}
"""


def measure_readiness(plan: scale.Plan) -> dict[str, Figure]:
    return scale.stage("readiness", ("readiness",), lambda: readiness.measure(plan))


def measure_external(key: str) -> Callable[[scale.Plan], dict[str, Figure]]:
    def run(plan: scale.Plan) -> dict[str, Figure]:
        return {key: external(key, plan)}

    return run


ONLY: dict[str, Callable[[scale.Plan], dict[str, Figure]]] = {
    "readiness": measure_readiness,
    **{key: measure_external(key) for key in EXTERNAL},
}


def selected(text: str) -> list[str]:
    """The figures BENCH_ONLY names (comma-separated); ValueError for one it cannot measure alone."""
    keys = [key.strip() for key in text.split(",") if key.strip()]
    unknown = [key for key in keys if key not in ONLY]
    if unknown:
        raise ValueError(
            f"BENCH_ONLY: cannot measure {', '.join(unknown)} alone; it takes {', '.join(sorted(ONLY))}"
        )
    return keys


def main_only(keys: list[str], plan: scale.Plan) -> int:
    """BENCH_ONLY: those figures alone, merged into the committed results (a full pass only)."""
    started = dt.datetime.now(dt.UTC)
    clock = time.monotonic()
    say(f"make bench, only {', '.join(keys)}, {'quick' if plan.quick else 'full'} pass")
    figures: dict[str, Figure] = {}
    for key in keys:
        figures.update(ONLY[key](plan))
    seconds = time.monotonic() - clock
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    command = f"BENCH_ONLY={','.join(keys)} make bench"
    if plan.quick:
        ONLY_QUICK_JSON.parent.mkdir(parents=True, exist_ok=True)
        ONLY_QUICK_JSON.write_text(
            results.dumps(results.document(figures, started, seconds, True, "BENCH_QUICK=1 " + command))
        )
        print(f"a quick pass, not merged into {RESULTS_JSON}; written to {ONLY_QUICK_JSON}", file=sys.stderr)
        return 0
    doc = results.merged(json.loads(RESULTS_JSON.read_text()), figures, started, seconds, command)
    RESULTS_JSON.write_text(results.dumps(doc))
    RESULTS.write_text(
        results.replace_figures_table(
            RESULTS.read_text(),
            results.figures_table(doc["figures"]),
            results.apart_note(doc["measured_apart"]),
        )
    )
    print(f"merged into {RESULTS_JSON} and {RESULTS} in {seconds:.0f} s", file=sys.stderr)
    return 0


def main() -> int:
    plan = scale.Plan.from_environment()
    only = os.environ.get("BENCH_ONLY", "")
    if only:
        try:
            keys = selected(only)
        except ValueError as error:
            print(error, file=sys.stderr)
            return 2
        return main_only(keys, plan)
    counts = Counts.for_plan(plan)
    started = dt.datetime.now(dt.UTC)
    clock = time.monotonic()
    say(f"make bench, {plan.describe()}")
    rows, remarks = measure(counts)
    figures: dict[str, Figure] = {key: external(key, plan) for key in EXTERNAL}
    figures.update(scale.measure(plan))
    figures.update(measure_readiness(plan))
    seconds = time.monotonic() - clock
    text = report(rows, remarks, started, seconds, counts, plan, figures)
    RESULTS.write_text(text)
    RESULTS_JSON.write_text(
        results.dumps(results.document(figures, started, seconds, plan.quick, "make bench"))
    )
    print(text)
    print(f"written to {RESULTS} and {RESULTS_JSON} in {seconds:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
