"""The local stack, started on free ports for the integration suite and stopped after it.

It runs as `AUTH=iam make run` does: every request of the suite is signed with SigV4 with the
profile the local stack writes (`<state dir>/aws-credentials`, profile `agentcore-local`), read
through botocore's own credential chain; and every function, the state machine and
CloudFormation work under the template's roles, checked by the emulator's IAM.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 180
PROFILE = "agentcore-local"


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
    state_dir: Path
    output: list[str] = field(default_factory=list)

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @cached_property
    def user_session(self) -> botocore.session.Session:
        """A session of the profile the local stack wrote, read through botocore's credential chain."""
        session = botocore.session.Session(profile=PROFILE)
        session.set_config_variable("credentials_file", str(self.state_dir / "aws-credentials"))
        session.set_config_variable("config_file", str(self.state_dir / "no-aws-config"))
        return session

    @cached_property
    def signing_credentials(self) -> Any:
        return self.user_session.get_credentials().get_frozen_credentials()

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        signed: bool = True,
    ) -> Response:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        all_headers = {"Content-Type": "application/json"} if data is not None else {}
        all_headers.update(headers or {})
        if signed:
            signing = AWSRequest(method=method, url=self.api + path, data=data or b"", headers=all_headers)
            SigV4Auth(self.signing_credentials, "execute-api", "us-east-1").add_auth(signing)
            all_headers = dict(signing.headers.items())
        request = urllib.request.Request(self.api + path, data=data, method=method, headers=all_headers)  # noqa: S310 - loopback
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


def abort_while_waiting(
    local: LocalStackProcess, operation_id: str, *, stack_gone: str | None = None
) -> None:
    """StopExecution once the operation's execution waits on its stack (its AwaitStack task; moto
    cannot stop an execution that is still setting up); with `stack_gone` (a stack id), only once
    that stack's delete has completed, so that what the stop finds does not race the stack."""
    sfn = local.client("stepfunctions")
    machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    head, _, name = machine.rpartition(":stateMachine:")
    arn = f"{head}:execution:{name}:{operation_id}"
    for _ in range(400):
        history = sfn.get_execution_history(executionArn=arn)["events"]
        if any(event["type"] == "TaskSubmitted" for event in history):  # AwaitStack's function was called
            if stack_gone is not None:
                assert settled_status(local.client("cloudformation"), stack_gone) == "DELETE_COMPLETE"
            sfn.stop_execution(executionArn=arn, error="Operator", cause="stopped by a test")
            return
        time.sleep(0.02)
    raise AssertionError(f"{operation_id} never waited on its stack")


def settled_status(cfn: Any, stack_name: str) -> str:
    for _ in range(100):
        status = str(cfn.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"])
        if not status.endswith("_IN_PROGRESS"):
            return status
        time.sleep(0.05)
    raise AssertionError(f"{stack_name} did not settle")


def leave_a_failed_create(stack: LocalStackProcess, prefix: str) -> str:
    """A repository name whose stack's create failed (ROLLBACK_COMPLETE) while its repository was
    made in ECR outside the stack: the next create of that name fails with StackFailed."""
    cfn, ecr = stack.client("cloudformation"), stack.client("ecr")
    leftover = f"{prefix}-{uuid.uuid4().hex[:6]}"
    ecr.create_repository(repositoryName=leftover)
    template = (ROOT / "functions/agentcore_ecr/templates/repository.yaml").read_text()
    cfn.create_stack(StackName=f"agentcore-{leftover}-dev-ecr", TemplateBody=template, Parameters=[
        {"ParameterKey": "RepositoryName", "ParameterValue": leftover},
        {"ParameterKey": "Environment", "ParameterValue": "dev"}])  # fmt: skip
    assert settled_status(cfn, f"agentcore-{leftover}-dev-ecr") == "ROLLBACK_COMPLETE"
    return leftover


def start_local_stack(
    state_dir: Path,
    settle_seconds: float = 1.0,
    template: Path | None = None,
    parameters: dict[str, str] | None = None,
    iam_log: bool = False,
    auth: str = "iam",
    stack_quota: int | None = None,
) -> LocalStackProcess:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    command = [
        sys.executable, "-m", "local", "--port", "0", "--aws-port", "0",  # the system picks free ones
        "--settle-seconds", str(settle_seconds), "--auth", auth, "--state-dir", str(state_dir),
    ]  # fmt: skip
    if template is not None:
        command += ["--template", str(template)]
    for key, value in (parameters or {}).items():
        command += ["--parameter", f"{key}={value}"]
    if iam_log:
        command.append("--iam-log")
    if stack_quota is not None:
        command += ["--stack-quota", str(stack_quota)]
    process = subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    stack = LocalStackProcess(process, "", "", state_dir)
    ready = threading.Event()

    def read_output() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            stack.output.append(line)
            if found := re.match(r"\s+API\s+(http://\S+)", line):
                stack.api = found[1]
            if found := re.match(r"\s+AWS endpoint\s+(http://\S+)", line):
                stack.aws = found[1]
                ready.set()  # the banner's last address

    threading.Thread(target=read_output, daemon=True).start()
    if not ready.wait(READY_TIMEOUT):
        process.kill()
        raise AssertionError("the local stack did not start:\n" + "".join(stack.output))
    return stack


def stop_local_stack(stack: LocalStackProcess) -> None:
    stack.process.send_signal(signal.SIGTERM)
    stack.process.wait(timeout=60)


@pytest.fixture(scope="session")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackProcess]:
    stack = start_local_stack(tmp_path_factory.mktemp("local-stack"))
    yield stack
    stop_local_stack(stack)


@pytest.fixture
def name() -> str:
    """A repository name no other test uses."""
    return f"it/{uuid.uuid4().hex[:10]}"
