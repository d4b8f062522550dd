"""Lambda for the local stack: each function runs in its own worker processes under AWS's runtime
interface client (awslambdaric), which pulls invocations from a Lambda Runtime API served here.

One `FunctionRuntime` per function: a Runtime API server on its own port, a queue of pending
invocations, and 1..max_workers worker processes started on demand. Workers of different
functions share nothing: each has the function's own environment and its own process.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import Future
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

RUNTIME_PREFIX = "/2018-06-01/runtime"
NEXT_POLL_SECONDS = 1.0
SCALE_AFTER_SECONDS = 0.1
RETIRE_AFTER_SECONDS = 60.0


@dataclass
class Invocation:
    request_id: str
    payload: bytes
    deadline: float
    result: Future[tuple[bytes, str | None]] = field(default_factory=Future)
    taken: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    handler: str
    environment: dict[str, str]
    timeout_seconds: int
    memory_mb: int
    arn: str


def _trace_id() -> str:
    return f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]};Sampled=0"


class FunctionRuntime:
    """A function's Runtime API and its worker processes."""

    def __init__(
        self, spec: FunctionSpec, code_root: Path, max_workers: int = 4, log_dir: Path | None = None
    ):
        self.spec = spec
        self.code_root = code_root
        self.max_workers = max_workers
        self.log_dir = log_dir
        self._pending: queue.Queue[Invocation] = queue.Queue()
        self._running: dict[str, Invocation] = {}
        self._lock = threading.Lock()
        self._idle = 0
        self._retiring = 0  # workers told to exit that have not exited yet
        self.retire_after_seconds = RETIRE_AFTER_SECONDS
        self._workers: list[subprocess.Popen[bytes]] = []
        self._closed = False
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"runtime-{spec.name}", daemon=True
        )

    @property
    def ready(self) -> bool:
        """A worker is waiting for an invocation."""
        return self._idle > 0

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self, workers: int = 1) -> None:
        self._thread.start()
        for _ in range(workers):
            self._spawn()

    def stop(self) -> None:
        self._closed = True
        self._server.shutdown()
        for worker in self._workers:
            worker.terminate()
        for worker in self._workers:
            try:
                worker.wait(timeout=5)
            except subprocess.TimeoutExpired:
                worker.kill()
        self._server.server_close()

    def invoke(self, payload: bytes) -> tuple[bytes, str | None]:
        """Run one invocation; (response, None) or (error payload, error type)."""
        invocation = Invocation(
            request_id=str(uuid.uuid4()), payload=payload, deadline=time.time() + self.spec.timeout_seconds
        )
        self._pending.put(invocation)
        # A worker that has just answered is back in a moment: add one only if none takes this soon.
        if not invocation.taken.wait(SCALE_AFTER_SECONDS):
            self._scale()
        try:
            return invocation.result.result(timeout=self.spec.timeout_seconds + 5)
        except TimeoutError:
            message = f"Task timed out after {self.spec.timeout_seconds}.00 seconds"
            return json.dumps(
                {"errorType": "Sandbox.Timedout", "errorMessage": message}
            ).encode(), "Unhandled"

    # Workers -----------------------------------------------------------------------------

    @property
    def worker_count(self) -> int:
        """Workers running and not on their way out."""
        with self._lock:
            return self._prune_locked()

    def _prune_locked(self) -> int:
        alive = [worker for worker in self._workers if worker.poll() is None]
        self._retiring = max(0, self._retiring - (len(self._workers) - len(alive)))
        self._workers = alive
        return len(alive) - self._retiring

    def _scale(self) -> None:
        with self._lock:
            if self._idle == 0 and self._prune_locked() < self.max_workers and not self._closed:
                self._spawn_locked()

    def _spawn(self) -> None:
        with self._lock:
            self._spawn_locked()

    def _spawn_locked(self) -> None:
        env = {
            **self.spec.environment,
            "AWS_LAMBDA_RUNTIME_API": self.address,
            "_HANDLER": self.spec.handler,
            "LAMBDA_TASK_ROOT": str(self.code_root),
            "PYTHONPATH": str(self.code_root),
            "PATH": "/usr/bin:/bin",
        }
        output = None
        if self.log_dir is not None:
            output = (self.log_dir / f"{self.spec.name}.log").open("ab")
        worker = subprocess.Popen(
            [sys.executable, "-m", "awslambdaric", self.spec.handler],
            cwd=self.code_root,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches the supervisor only, which stops the workers in order
        )
        self._workers.append(worker)

    # Runtime API -------------------------------------------------------------------------

    def _next(self) -> Invocation | None:
        """The next invocation for a worker; None tells it to exit (stopping, or idle and not needed)."""
        with self._lock:
            self._idle += 1
        idle_since = time.monotonic()
        try:
            while not self._closed:
                try:
                    invocation = self._pending.get(timeout=NEXT_POLL_SECONDS)
                except queue.Empty:
                    if time.monotonic() - idle_since > self.retire_after_seconds and self._retire_one():
                        return None
                    continue
                with self._lock:
                    self._running[invocation.request_id] = invocation
                invocation.taken.set()
                return invocation
            return None
        finally:
            with self._lock:
                self._idle -= 1

    def _retire_one(self) -> bool:
        """Let one idle worker go, as Lambda does with idle environments, keeping at least one."""
        with self._lock:
            if self._prune_locked() <= 1:
                return False
            self._retiring += 1
            return True

    def _finish(self, request_id: str, body: bytes, error_type: str | None) -> bool:
        with self._lock:
            invocation = self._running.pop(request_id, None)
        if invocation is None:
            return False
        if not invocation.result.done():
            invocation.result.set_result((body, error_type))
        return True

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        runtime = self

        class RuntimeApi(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as they are written: no 40 ms stalls

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _reply(
                self, status: HTTPStatus, body: bytes = b"", headers: dict[str, str] | None = None
            ) -> None:
                try:
                    self.send_response(status)
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # a worker stopped while it waited for an invocation

            def do_GET(self) -> None:
                if self.path != f"{RUNTIME_PREFIX}/invocation/next":
                    self._reply(HTTPStatus.NOT_FOUND)
                    return
                invocation = runtime._next()
                if invocation is None:
                    self._reply(HTTPStatus.GONE)
                    return
                self._reply(
                    HTTPStatus.OK,
                    invocation.payload,
                    {
                        "Content-Type": "application/json",
                        "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                        "Lambda-Runtime-Deadline-Ms": str(int(invocation.deadline * 1000)),
                        "Lambda-Runtime-Invoked-Function-Arn": runtime.spec.arn,
                        "Lambda-Runtime-Trace-Id": _trace_id(),
                    },
                )

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = self.path.removeprefix(RUNTIME_PREFIX).strip("/").split("/")
                if parts[:1] == ["init"]:
                    sys.stderr.write(f"[{runtime.spec.name}] init error: {body.decode(errors='replace')}\n")
                    self._reply(HTTPStatus.ACCEPTED, b"{}")
                    return
                if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                    error_type = None
                    if parts[2] == "error":
                        error_type = self.headers.get("Lambda-Runtime-Function-Error-Type") or "Unhandled"
                    runtime._finish(parts[1], body, error_type)
                    self._reply(HTTPStatus.ACCEPTED, b'{"status":"OK"}')
                    return
                self._reply(HTTPStatus.NOT_FOUND)

        return RuntimeApi
