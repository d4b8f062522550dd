"""A local stack in a process of its own: what the integration suite, `make bench` and `make fuzz`
start, talk to and stop.

`LocalStackProcess.start(state_dir, ...)` runs `python -m local` on ports the system picks (as
`make run` does, with the options given), waits for its banner and reads the two addresses from
it; the handle signs requests to the API with the profile the stack wrote
(`<state dir>/aws-credentials`, profile `agentcore-local`, read through botocore's own credential
chain), makes boto3 clients for its AWS endpoint, waits for operations, and stops the whole
process tree with SIGTERM, as Ctrl-C on `make run` does. As a context manager it stops on exit.
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
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import boto3
import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from local.stack import API_USER, ROOT
from local.template import REGION

READY_TIMEOUT_SECONDS = 180.0
STOP_TIMEOUT_SECONDS = 60.0


class LocalStackError(RuntimeError):
    """The local stack did not start, or an answer it gave cannot be what it should be."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: Any


@dataclass
class LocalStackProcess:
    process: subprocess.Popen[str]
    api: str  # the API Gateway's base URL
    aws: str  # moto's endpoint
    state_dir: Path
    output: list[str] = field(default_factory=list)  # the process' stdout and stderr, line by line

    @classmethod
    def start(
        cls,
        state_dir: Path,
        *,
        settle_seconds: float = 1.0,
        template: Path | None = None,
        parameters: dict[str, str] | None = None,
        iam_log: bool = False,
        concurrency_quota: int | None = None,
        stack_quota: int | None = None,
        auth: str = "iam",
        ready_timeout: float = READY_TIMEOUT_SECONDS,
    ) -> LocalStackProcess:
        """`python -m local` with these options, once it prints its banner. The process gets no
        AWS_* variable of this one's: the stack is the only AWS it knows."""
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
        if concurrency_quota is not None:
            command += ["--concurrency-quota", str(concurrency_quota)]
        if stack_quota is not None:
            command += ["--stack-quota", str(stack_quota)]
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        stack = cls(process, "", "", state_dir)
        ended = threading.Event()  # the banner's last address was read, or the output ended

        def read_output() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                stack.output.append(line)
                if found := re.match(r"\s+API\s+(http://\S+)", line):
                    stack.api = found[1]
                if found := re.match(r"\s+AWS endpoint\s+(http://\S+)", line):
                    stack.aws = found[1]
                    ended.set()
            ended.set()

        threading.Thread(target=read_output, name="local-stack-output", daemon=True).start()
        if not ended.wait(ready_timeout) or not stack.aws:
            process.kill()
            process.wait(timeout=10)
            raise LocalStackError("the local stack did not start:\n" + "".join(stack.output))
        return stack

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """SIGTERM, which stops the stack's whole process tree; a stack that does not stop in
        time is killed (its workers then exit when their Runtime API goes)."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            raise

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @cached_property
    def user_session(self) -> botocore.session.Session:
        """A session of the profile the local stack wrote, read through botocore's credential chain."""
        session = botocore.session.Session(profile=API_USER)
        session.set_config_variable("credentials_file", str(self.state_dir / "aws-credentials"))
        session.set_config_variable("config_file", str(self.state_dir / "no-aws-config"))
        return session

    @cached_property
    def signing_credentials(self) -> Any:
        return self.user_session.get_credentials().get_frozen_credentials()

    def signed_headers(
        self, method: str, url: str, data: bytes | None, headers: dict[str, str]
    ) -> dict[str, str]:
        """The headers with SigV4's, as API Gateway's AWS_IAM checks them (service execute-api)."""
        signing = AWSRequest(method=method, url=url, data=data or b"", headers=headers)
        SigV4Auth(self.signing_credentials, "execute-api", REGION).add_auth(signing)
        return dict(signing.headers.items())

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        signed: bool = True,
    ) -> Response:
        """One request to the API (a new connection), signed unless `signed` is false; the body
        given as JSON (`body`) or as bytes (`raw`), the answer's JSON decoded."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        all_headers = {"Content-Type": "application/json"} if data is not None else {}
        all_headers.update(headers or {})
        if signed:
            all_headers = self.signed_headers(method, self.api + path, data, all_headers)
        request = urllib.request.Request(self.api + path, data=data, method=method, headers=all_headers)  # noqa: S310 - loopback
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - loopback
                status, answer_headers, text = answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as error:
            status, answer_headers, text = error.code, dict(error.headers), error.read()
        return Response(status, answer_headers, json.loads(text) if text else None)

    def client(self, service: str) -> Any:
        """boto3 on the stack's AWS endpoint, with credentials its IAM does not check."""
        return boto3.client(
            service,
            endpoint_url=self.aws,
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto takes any credentials
        )

    def wait(self, operation_id: str, timeout: float = 90, poll: float = 0.25) -> dict[str, Any]:
        """GET /operations/{id} until it is no longer RUNNING: the Operation then."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            operation = self.request("GET", f"/operations/{operation_id}")
            if operation.status != 200:
                raise LocalStackError(f"GET /operations/{operation_id}: {operation.status} {operation.body}")
            if operation.body["status"] != "RUNNING":
                result: dict[str, Any] = operation.body
                return result
            time.sleep(poll)
        raise TimeoutError(f"operation {operation_id} still RUNNING after {timeout}s")
