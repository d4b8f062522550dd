"""The local Lambda runtime: real awslambdaric workers against the Runtime API of local/runtime.py."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from local.runtime import FunctionRuntime, FunctionSpec

HANDLER = """
import os
import time


def handler(event, context):
    if event.get("fail"):
        raise ValueError("asked to fail")
    time.sleep(event.get("sleep", 0))
    return {
        "echo": event,
        "pid": os.getpid(),
        "function": context.function_name,
        "arn": context.invoked_function_arn,
        "remaining": context.get_remaining_time_in_millis(),
        "variable": os.environ.get("ONLY_MINE"),
    }
"""


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[FunctionRuntime]:
    (tmp_path / "probe.py").write_text(HANDLER)
    spec = FunctionSpec(
        name="Probe",
        handler="probe.handler",
        environment={"ONLY_MINE": "yes", "AWS_LAMBDA_FUNCTION_NAME": "Probe", "PYTHONDONTWRITEBYTECODE": "1"},
        timeout_seconds=10,
        memory_mb=128,
        arn="arn:aws:lambda:us-east-1:123456789012:function:Probe",
    )
    started = FunctionRuntime(spec, tmp_path, max_workers=3)
    started.start(workers=1)
    deadline = time.monotonic() + 30
    while not started.ready and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started.ready, "the first worker polls for an invocation"
    yield started
    started.stop()


def invoke(runtime: FunctionRuntime, event: dict[str, object]) -> tuple[dict[str, object], str | None]:
    payload, error = runtime.invoke(json.dumps(event).encode())
    decoded: dict[str, object] = json.loads(payload)
    return decoded, error


def test_a_handler_runs_with_lambdas_context_and_its_own_environment(runtime: FunctionRuntime) -> None:
    result, error = invoke(runtime, {"hello": "world"})

    assert error is None
    assert result["echo"] == {"hello": "world"}
    assert result["function"] == "Probe"
    assert result["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:Probe"
    assert 0 < int(str(result["remaining"])) <= 10_000
    assert result["variable"] == "yes"


def test_an_exception_comes_back_as_lambdas_error(runtime: FunctionRuntime) -> None:
    result, error = invoke(runtime, {"fail": True})

    assert error == "Unhandled"
    assert result["errorType"] == "ValueError"
    assert result["errorMessage"] == "asked to fail"


def test_one_worker_serves_requests_sent_one_at_a_time(runtime: FunctionRuntime) -> None:
    pids = {invoke(runtime, {"n": index})[0]["pid"] for index in range(20)}

    assert len(pids) == 1
    assert runtime.worker_count == 1


def test_concurrent_invocations_add_workers_up_to_the_limit(runtime: FunctionRuntime) -> None:
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: invoke(runtime, {"sleep": 1.0}), range(6)))

    assert all(error is None for _, error in results)
    assert 2 <= len({result["pid"] for result, _ in results}) <= 3
    assert runtime.worker_count <= 3


def test_idle_workers_beyond_the_first_are_let_go(runtime: FunctionRuntime) -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda _: invoke(runtime, {"sleep": 1.0}), range(3)))
    assert runtime.worker_count > 1
    runtime.retire_after_seconds = 0.5

    deadline = time.monotonic() + 15
    while runtime.worker_count > 1 and time.monotonic() < deadline:
        time.sleep(0.2)

    assert runtime.worker_count == 1
    result, error = invoke(runtime, {"after": "retiring"})
    assert error is None
    assert result["echo"] == {"after": "retiring"}


def test_the_worker_is_awslambdaric(runtime: FunctionRuntime) -> None:
    pid = invoke(runtime, {})[0]["pid"]
    command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert command[1:3] == [b"-m", b"awslambdaric"]
