"""The local stack, started on free ports for the integration suite and stopped after it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 180


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: Any


@dataclass
class LocalStackProcess:
    process: subprocess.Popen[str]
    api: str
    aws: str
    output: list[str] = field(default_factory=list)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Response:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.api + path, data=data, method=method)  # noqa: S310 - loopback
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - loopback
                status, answer_headers, text = answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as error:
            status, answer_headers, text = error.code, dict(error.headers), error.read()
        return Response(status, answer_headers, json.loads(text) if text else None)

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.aws,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def wait(self, operation_id: str, timeout: float = 90) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            operation = self.request("GET", f"/operations/{operation_id}")
            assert operation.status == 200, operation.body
            if operation.body["status"] != "RUNNING":
                result: dict[str, Any] = operation.body
                return result
            time.sleep(0.25)
        raise AssertionError(f"operation {operation_id} still RUNNING after {timeout}s")


def start_local_stack(settle_seconds: float = 1.0) -> LocalStackProcess:
    port, aws_port = free_port(), free_port()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "local", "--port", str(port), "--aws-port", str(aws_port),
         "--settle-seconds", str(settle_seconds)],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    stack = LocalStackProcess(process, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{aws_port}")
    ready = threading.Event()

    def read_output() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            stack.output.append(line)
            if "local stack ready" in line:
                ready.set()

    threading.Thread(target=read_output, daemon=True).start()
    if not ready.wait(READY_TIMEOUT):
        process.kill()
        raise AssertionError("the local stack did not start:\n" + "".join(stack.output))
    return stack


def stop_local_stack(stack: LocalStackProcess) -> None:
    stack.process.send_signal(signal.SIGTERM)
    stack.process.wait(timeout=60)


@pytest.fixture(scope="session")
def local() -> Iterator[LocalStackProcess]:
    stack = start_local_stack()
    yield stack
    stop_local_stack(stack)


@pytest.fixture
def name() -> str:
    """A repository name no other test uses."""
    return f"it/{uuid.uuid4().hex[:10]}"
