"""`python -m bench.reliability` (`make reliability`): try everything that can go wrong, write
docs/reliability.md with what was tried and the counts.

1. Faults and failure paths: the tests that inject each fault, run here and counted per row.
2. Property tests: the Hypothesis suite under its `thorough` profile, with the examples it ran.
3. Fuzzing: `make fuzz`'s report, when the fuzz driver exists (its counts per phase).
4. Load: on a local stack started here (signed requests, IAM enforced), 50 concurrent creates and
   500 concurrent reads; afterwards every stack has its repository and every repository its stack.
5. checkov: `make scan`'s counts.

Nothing here is timed against a goal: the figures say what ran and how it ended.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.process import LocalStackProcess

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "reliability.md"
FUZZ_REPORT = ROOT / ".local" / "fuzz-report.json"
PYTHON = sys.executable

CREATES = 50
READS = 500
READ_WORKERS = 100
OPERATION_BUDGET_SECONDS = 300.0

# What was tried: each row names its fault and the tests that inject it.
FAULTS: list[tuple[str, list[str]]] = [
    (
        "A stack create fails: operation FAILED with StackFailed and the first failure reason, a "
        "Failed event, and the next create of the name succeeds",
        [
            "tests/unit/test_workflow.py::test_a_failed_create_leaves_rollback_complete_and_the_next_create_replaces_it",
            "tests/unit/test_workflow.py::test_a_stack_that_fails_reports_the_first_failure_reason",
        ],
    ),
    (
        "A stack never settles: StackTimeout at the limit, a Failed event",
        ["tests/unit/test_workflow.py::test_a_stack_that_never_settles_times_out"],
    ),
    (
        "CloudFormation refuses the stack at the account's stack quota (LimitExceededException): "
        "FAILED with StackLimitExceeded in the operation and its Failed event (API and provisioning "
        "request alike), nothing left behind, and the same create succeeds once a stack is deleted",
        [
            "tests/unit/test_workflow.py::test_a_create_past_the_stack_quota_fails_with_stack_limit_exceeded_and_leaves_nothing",
            "tests/unit/test_intake.py::test_a_request_past_the_stack_quota_ends_in_a_failed_event_with_its_code",
        ],
    ),
    (
        "Throttling and server errors from CloudFormation, ECR, Step Functions and EventBridge: "
        "retried with backoff (the retries and their waits recorded), the operation SUCCEEDED; "
        "an error that persists ends FAILED (Internal); a read throttled past its retries is 503",
        [
            "tests/unit/test_faults.py::test_a_few_throttled_or_failed_calls_are_retried_by_the_client",
            "tests/unit/test_faults.py::test_a_long_throttling_episode_is_retried_by_the_workflow_with_backoff",
            "tests/unit/test_faults.py::test_a_server_error_that_persists_fails_the_operation_with_a_clear_code",
            "tests/unit/test_faults.py::test_a_read_meets_throttling_and_still_answers",
            "tests/unit/test_faults.py::test_a_read_throttled_past_the_clients_retries_is_503_in_the_contract_shape",
        ],
    ),
    (
        "A task step crashes: retried twice (StepCrashed), then FAILED with Internal, never RUNNING "
        "for ever, never the raw text",
        ["tests/unit/test_faults.py::test_a_step_that_crashes_fails_the_operation_never_leaves_it_running"],
    ),
    (
        "An execution aborted by an operator or timed out by Step Functions: a Failed event "
        "(Aborted, TimedOut), on the local stack too",
        [
            "tests/unit/test_stopped.py",
            "tests/integration/test_local_stack.py::test_an_aborted_operation_ends_in_a_failed_event",
        ],
    ),
    (
        "An asynchronous event that keeps failing: Lambda runs it three times, then writes it to the "
        "dead-letter queue with the function's role",
        [
            "tests/integration/test_local_stack.py::test_an_asynchronous_event_that_keeps_failing_ends_in_the_dead_letter_queue"
        ],
    ),
    (
        "Two mutations of one repository at once: one 202, one 409 OperationInProgress",
        [
            "tests/unit/test_api.py::test_a_second_change_while_one_runs_is_409",
            "tests/unit/test_stack_states.py::test_a_change_by_someone_else_in_progress_is_operation_in_progress",
        ],
    ),
    (
        "The same EventBridge event delivered twice (with and without idempotencyKey): one "
        "operation; two distinct events stay two requests",
        [
            "tests/unit/test_intake.py::test_an_event_delivered_twice_is_one_operation",
            "tests/unit/test_intake.py::test_two_events_for_one_repository_stay_two_requests",
        ],
    ),
    (
        "An update that would replace the repository: 409 ImmutableSetting before anything changes",
        ["tests/unit/test_api.py::test_encryption_is_fixed_after_creation"],
    ),
    (
        "Stacks CloudFormation will not update (DELETE_FAILED, ROLLBACK_*, UPDATE_ROLLBACK_FAILED), "
        "retried steps that find their own change, a request Step Functions does not show yet",
        ["tests/unit/test_stack_states.py"],
    ),
    (
        "Drift: a repository deleted outside the service is listed (never a 500), recreated, deleted",
        [
            "tests/unit/test_drift.py",
            "tests/integration/test_local_stack.py::test_drift_a_repository_deleted_outside_the_service",
        ],
    ),
    (
        "Bad input at every route: the contract's 400/404/415/422 in its error shape, nothing started",
        ["tests/unit/test_validation.py"],
    ),
    (
        "Security: unsigned, wrongly signed, expired and unauthorized requests refused; every "
        "permission the template grants is used",
        ["tests/integration/test_fidelity.py"],
    ),
]


@dataclass
class Counted:
    passed: int
    failed: int
    seconds: float


def run_pytest(targets: list[str], environment: dict[str, str] | None = None) -> Counted:
    """Run `targets` with pytest in order; count passed and failed cases from its junit report."""
    with tempfile.TemporaryDirectory() as scratch:
        junit = Path(scratch) / "junit.xml"
        began = time.monotonic()
        subprocess.run(
            [PYTHON, "-m", "pytest", "-q", "-p", "no:randomly", f"--junitxml={junit}", *targets],
            cwd=ROOT,
            env={**os.environ, **(environment or {})},
            check=False,
            capture_output=True,
        )
        seconds = time.monotonic() - began
        cases = ET.parse(junit).getroot().iter("testcase")  # noqa: S314 - written by pytest just now
        outcomes = Counter(
            "failed" if case.find("failure") is not None or case.find("error") is not None else "passed"
            for case in cases
            if case.find("skipped") is None
        )
    return Counted(outcomes["passed"], outcomes["failed"], seconds)


def property_examples() -> tuple[Counted, int]:
    """The property suite under the thorough profile, and the examples Hypothesis ran."""
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        junit = Path(scratch) / "junit.xml"
        result = subprocess.run(
            [
                PYTHON,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:randomly",
                f"--junitxml={junit}",
                "--hypothesis-show-statistics",
                "tests/property",
            ],
            cwd=ROOT,
            env={**os.environ, "HYPOTHESIS_PROFILE": "thorough"},
            check=False,
            capture_output=True,
            text=True,
        )
        cases = list(ET.parse(junit).getroot().iter("testcase"))  # noqa: S314
    failed = sum(1 for case in cases if case.find("failure") is not None or case.find("error") is not None)
    # Hypothesis' statistics: "- N passing, M failing, and K invalid test cases" for each phase
    examples = sum(int(found) for found in re.findall(r"(\d+) passing, \d+ failing", result.stdout))
    return Counted(len(cases) - failed, failed, time.monotonic() - began), examples


def fuzz_counts() -> dict[str, Any] | None:
    """`make fuzz`'s report, if the project has a fuzz target."""
    makefile = (ROOT / "Makefile").read_text()
    if not re.search(r"^fuzz:", makefile, flags=re.MULTILINE):
        return None
    subprocess.run(["make", "fuzz"], cwd=ROOT, check=False, capture_output=True)
    if not FUZZ_REPORT.exists():
        return None
    report: dict[str, Any] = json.loads(FUZZ_REPORT.read_text())
    return report


def fuzz_table(report: dict[str, Any]) -> list[str]:
    """The fuzz report as rows: cases, checks and failed checks per phase."""
    lines = [
        f"{report.get('tool')}, seed {report.get('seed')}, {report.get('max_examples')} cases an operation "
        f"and phase, {report.get('seconds', {}).get('total', 0):.0f} s; checks: "
        + ", ".join(f"`{check}`" for check in report.get("checks", [])),
        "",
        "| phase | cases | checks | failed checks |",
        "|---|---|---|---|",
    ]
    for phase, figures in report.get("phases", {}).items():
        lines.append(f"| {phase} | {figures['cases']} | {figures['checks']} | {figures['failed_checks']} |")
    lines.append(f"| all | {report.get('cases')} | | {report.get('failures')} failures |")
    dropped: dict[str, Any] = report.get("dropped") or {}
    if dropped:
        lines += ["", "Flagged by a check, but the contract's own answer (tests/fuzz/hooks.py):", ""]
        lines += [f"- {name} ({item['count']}): {item['reason']}" for name, item in dropped.items()]
    return lines


def checkov_counts() -> str:
    result = subprocess.run(["make", "scan"], cwd=ROOT, check=False, capture_output=True, text=True)
    found = re.search(r"Passed checks: (\d+), Failed checks: (\d+), Skipped checks: (\d+)", result.stdout)
    if found is None:
        return "checkov did not report (see `make scan`)"
    return f"{found[1]} passed, {found[2]} failed, {found[3]} skipped (each skip with its reason)"


# Load ------------------------------------------------------------------------------------------


@dataclass
class Load:
    accepted: Counter[int]
    ended: Counter[str]
    reads: Counter[int]
    create_seconds: float
    read_seconds: float
    orphan_stacks: list[str]
    orphan_repositories: list[str]


def wait_for(stack: LocalStackProcess, operation: str) -> str:
    try:
        return str(stack.wait(operation, timeout=OPERATION_BUDGET_SECONDS, poll=0.5)["status"])
    except TimeoutError:
        return "RUNNING"


def load() -> Load:
    with (
        tempfile.TemporaryDirectory() as state,
        LocalStackProcess.start(Path(state), settle_seconds=1.0) as stack,
    ):
        prefix = f"load-{uuid.uuid4().hex[:6]}"
        names = [f"{prefix}/agent-{index:02d}" for index in range(CREATES)]
        began = time.monotonic()
        with ThreadPoolExecutor(max_workers=CREATES) as pool:
            answers = list(pool.map(lambda n: stack.request("POST", "/repositories", {"name": n}), names))
            operations = [a.body["operationId"] for a in answers if a.status == 202]
            ended = Counter(pool.map(lambda op: wait_for(stack, op), operations))
        create_seconds = time.monotonic() - began
        paths = [
            f"/repositories/{names[i % CREATES]}" if i % 5 else "/repositories?limit=50" for i in range(READS)
        ]
        began = time.monotonic()
        with ThreadPoolExecutor(max_workers=READ_WORKERS) as pool:
            reads = Counter(pool.map(lambda p: stack.request("GET", p).status, paths))
        read_seconds = time.monotonic() - began
        cfn, ecr = stack.client("cloudformation"), stack.client("ecr")
        stacks = {
            s["StackName"]
            for page in cfn.get_paginator("describe_stacks").paginate()
            for s in page["Stacks"]
            if s["StackName"].startswith(f"agentcore-{prefix}")
        }
        repositories = {
            r["repositoryName"]
            for page in ecr.get_paginator("describe_repositories").paginate()
            for r in page["repositories"]
            if r["repositoryName"].startswith(prefix)
        }
        by_name = {stack.request("GET", f"/repositories/{n}").body.get("stackName"): n for n in names}
        return Load(
            accepted=Counter(a.status for a in answers),
            ended=ended,
            reads=reads,
            create_seconds=create_seconds,
            read_seconds=read_seconds,
            orphan_stacks=sorted(stacks - set(by_name)),
            orphan_repositories=sorted(repositories - {by_name[s] for s in stacks if s in by_name}),
        )


# The report ------------------------------------------------------------------------------------


def counts(counter: Counter[int] | Counter[str]) -> str:
    return ", ".join(f"{count} x {key}" for key, count in sorted(counter.items(), key=lambda kv: str(kv[0])))


def main() -> int:
    started = dt.datetime.now(dt.UTC)
    lines = [
        "# Reliability",
        "",
        f"Written by `make reliability` (`.venv/bin/python -m bench.reliability`) on {started:%Y-%m-%d} "
        f"({platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}). "
        "Every row is a run, not a claim: the tests named inject the fault and assert the outcome.",
        "",
        "## Faults and failure paths",
        "",
        "| what was tried | tests | passed | failed |",
        "|---|---|---|---|",
    ]
    failures = 0
    for title, targets in FAULTS:
        counted = run_pytest(targets)
        failures += counted.failed + (1 if counted.passed == 0 else 0)  # a row where nothing ran fails
        names = "<br>".join(f"`{target.split('::')[-1]}`" for target in targets)
        lines.append(f"| {title} | {names} | {counted.passed} | {counted.failed} |")
        print(f"{counted.passed:4d} passed {counted.failed:3d} failed  {title[:70]}", flush=True)
    properties, examples = property_examples()
    failures += properties.failed
    lines += [
        "",
        "## Property tests (Hypothesis, `HYPOTHESIS_PROFILE=thorough`)",
        "",
        "| suite | tests passed | failed | examples run | seconds |",
        "|---|---|---|---|---|",
        f"| tests/property (stack names, lifecycle rendering, request models) | {properties.passed} "
        f"| {properties.failed} | {examples} | {properties.seconds:.0f} |",
    ]
    fuzz = fuzz_counts()
    lines += ["", "## Fuzzing (`make fuzz`: schemathesis on the local stack, every phase)", ""]
    if fuzz is None:
        failures += 1
        lines.append("`make fuzz` wrote no report: see `.local/fuzz/`.")
    else:
        lines += fuzz_table(fuzz)
        failures += int(fuzz.get("failures", 0)) + len(fuzz.get("errors") or [])
    measured = load()
    load_failures = (
        sum(count for status, count in measured.accepted.items() if status != 202)
        + sum(count for status, count in measured.ended.items() if status != "SUCCEEDED")
        + sum(count for status, count in measured.reads.items() if status != 200)
        + len(measured.orphan_stacks)
        + len(measured.orphan_repositories)
    )
    failures += load_failures
    lines += [
        "",
        "## Load (local stack, signed requests, IAM enforced, stacks settle in 1 s)",
        "",
        "| what | result |",
        "|---|---|",
        f"| {CREATES} concurrent creates: answers | {counts(measured.accepted)} |",
        f"| ... operations ended | {counts(measured.ended)} ({measured.create_seconds:.1f} s wall) |",
        f"| {READS} concurrent reads ({READ_WORKERS} at a time; 1 in 5 a page of 50) | "
        f"{counts(measured.reads)} ({measured.read_seconds:.1f} s wall) |",
        f"| stacks without their repository | {len(measured.orphan_stacks)} |",
        f"| repositories without their stack | {len(measured.orphan_repositories)} |",
        "",
        "## Static checks",
        "",
        f"- checkov (`make scan`): {checkov_counts()}.",
        "",
        "## Out of scope",
        "",
        "- The local stack killed in the middle of an operation: everything it holds is in memory, "
        "so a restart starts from an empty account. On AWS the operation is a Step Functions "
        "execution and survives any one function's failure.",
        "",
        f"Failed in all: {failures}.",
    ]
    REPORT.write_text("\n".join(lines) + "\n")
    print(f"wrote {REPORT.relative_to(ROOT)}: {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
