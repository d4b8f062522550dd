"""Patch 16, STATE_MACHINE_ROLE: Step Functions calls its task integrations as the state machine's
role; patch 19, EXECUTION_STATUS_EVENTS: a Standard execution's status changes are events on the
default bus; patch 24, STOP_ENDS_A_CALLBACK_WAIT: StopExecution aborts an execution whose task
waits for its token; patch 27, UNCATCHABLE_ERRORS: `States.ALL` neither retries nor catches
`States.Runtime` and `States.DataLimitExceeded`; patch 28, PUT_EVENTS_ERRORS_ARE_TASK_FAILURES: an
error EventBridge answers to `events:putEvents` fails the task, as Retry and Catch see it. Also
`stop_executions()`, which tests use so that no execution outlives its test."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from typing import Any

from local.emulator.access import _sts
from local.emulator.options import options

SESSION_SECONDS = 12 * 3600
STATUS_CHANGE = "Step Functions Execution Status Change"
log = logging.getLogger(__name__)
_sessions: dict[str, Any] = {}
_lock = threading.Lock()


def _session_for(role_arn: str, region: str) -> Any:
    """One session of the role (moto's STS, in this process), as Step Functions assumes it."""
    with _lock:
        session = _sessions.get(role_arn)
        if session is None or session.access_key_id not in {
            role.access_key_id for role in _sts(role_arn.split(":")[4]).assumed_roles
        }:
            session = _sts(role_arn.split(":")[4]).assume_role(
                region_name=region,
                role_session_name="StepFunctions",
                role_arn=role_arn,
                policy=None,
                duration=SESSION_SECONDS,
                external_id=None,
            )
            _sessions[role_arn] = session
        return session


def apply() -> None:
    import moto.stepfunctions.parser.asl.parse.asl_parser  # noqa: F401, PLC0415 - loads every integration
    from moto.stepfunctions.parser.asl.utils import boto_client  # noqa: PLC0415

    original = boto_client.boto_client_for
    clients: dict[tuple[str, str, str, str], Any] = {}  # a client per role session, made once

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        role_arn = getattr(state_credentials, "role_arn", None)
        if not options.enforce_iam or not role_arn:
            return original(region, service, state_credentials)
        session = _session_for(role_arn, region)
        key = (region, service, role_arn, session.access_key_id)
        with _lock:
            made = clients.get(key)
        if made is not None:
            return made
        import boto3  # noqa: PLC0415

        client = original(region, service, state_credentials)
        made = boto3.client(
            service,
            region_name=region,
            endpoint_url=client.meta.endpoint_url,
            aws_access_key_id=session.access_key_id,
            aws_secret_access_key=session.secret_access_key,
            aws_session_token=session.session_token,
            config=client.meta.config,
        )
        with _lock:
            clients[key] = made
        return made

    for name, module in list(sys.modules.items()):
        if (
            name.startswith("moto.stepfunctions.parser")
            and getattr(module, "boto_client_for", None) is original
        ):
            module.boto_client_for = boto_client_for  # type: ignore[attr-defined]
    _patch_status_events()
    _patch_stop_during_callback()
    _patch_uncatchable_errors()
    _patch_put_events_errors()


def _patch_put_events_errors() -> None:
    """28. PUT_EVENTS_ERRORS_ARE_TASK_FAILURES: moto reports an error EventBridge answers to the
    `events:putEvents` task (a throttling, a 500) as `States.Runtime`, which (patch 27) nothing may
    retry or catch. AWS reports it as the task's failure, `EventBridge.<error code>`."""
    from botocore.exceptions import ClientError  # noqa: PLC0415
    from moto.stepfunctions.parser.api import HistoryEventType  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (  # noqa: PLC0415
        CustomErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (  # noqa: PLC0415
        FailureEvent,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (  # noqa: PLC0415
        state_task_service_events as events_task,
    )

    original = events_task.StateTaskServiceEvents._from_error

    def from_error(self: Any, env: Any, ex: Exception) -> Any:
        if not isinstance(ex, ClientError):
            return original(self, env, ex)
        error = f"EventBridge.{ex.response['Error']['Code']}"
        details: Any = {  # moto's EventDetails: the one kind of details a task failure has
            "taskFailedEventDetails": {
                "error": error,
                "cause": str(ex),
                "resource": self._get_sfn_resource(),
                "resourceType": self._get_sfn_resource_type(),
            }
        }
        return FailureEvent(
            env=env,
            error_name=CustomErrorName(error),
            event_type=HistoryEventType.TaskFailed,
            event_details=details,
        )

    events_task.StateTaskServiceEvents._from_error = from_error  # type: ignore[method-assign]


def _patch_uncatchable_errors() -> None:
    """27. UNCATCHABLE_ERRORS: moto's `States.ALL` matches every error. AWS's matches neither
    `States.DataLimitExceeded` (a terminal error) nor `States.Runtime` (never retried, always fails
    the execution, whatever a retrier or catcher names)."""
    from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import (  # noqa: PLC0415
        ErrorEqualsDecl,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (  # noqa: PLC0415
        StatesErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (  # noqa: PLC0415
        StatesErrorNameType,
    )

    original = ErrorEqualsDecl._eval_body
    runtime = StatesErrorName(typ=StatesErrorNameType.StatesRuntime)
    data_limit = StatesErrorName(typ=StatesErrorNameType.StatesStatesDataLimitExceeded)

    def eval_body(self: Any, env: Any) -> None:
        error_name = env.stack[-1]  # what the original pops: the error being matched
        if error_name == runtime or (error_name == data_limit and data_limit not in self.error_names):
            env.stack.pop()
            env.stack.append(False)  # this retrier or catcher does not match: the error goes on
            return
        original(self, env)

    ErrorEqualsDecl._eval_body = eval_body  # type: ignore[method-assign]


def _patch_stop_during_callback() -> None:
    """24. STOP_ENDS_A_CALLBACK_WAIT: moto's StopExecution leaves a `.waitForTaskToken` task waiting
    until its timeout, whose error then ends the execution FAILED."""
    from moto.stepfunctions.parser.asl.eval.environment import Environment  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped  # noqa: PLC0415

    original_set_stop = Environment.set_stop
    original_set_error = Environment.set_error

    def set_stop(self: Any, stop_date: Any, cause: str | None, error: str | None) -> None:
        original_set_stop(self, stop_date, cause, error)
        for endpoint in list(self.callback_pool_manager._pool.values()):
            endpoint.interrupt_all()  # the waiting task wakes up, and finds its execution stopped

    def set_error(self: Any, error: Any) -> None:
        if isinstance(self._program_state, ProgramStopped):
            return  # stopped is how it ended: what its task raised on waking changes nothing
        original_set_error(self, error)

    Environment.set_stop = set_stop  # type: ignore[method-assign]
    Environment.set_error = set_error  # type: ignore[method-assign]


def _epoch_ms(moment: Any) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def status_change_detail(execution: Any) -> dict[str, Any]:
    """The `detail` of AWS's event for an execution's status, as EventBridge's reference shows it."""
    described = execution.to_describe_output()
    output = described.get("output")
    return {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine.arn,
        "name": execution.name,
        "status": getattr(described["status"], "value", described["status"]),
        "startDate": _epoch_ms(execution.start_date),
        "stopDate": _epoch_ms(execution.stop_date),
        "input": described["input"],
        "output": output,
        "inputDetails": {"included": True},
        "outputDetails": {"included": True} if output is not None else None,
        "error": execution.error,
        "cause": execution.cause,
    }


def _announce(execution: Any) -> None:
    """19. EXECUTION_STATUS_EVENTS: the status change on the default bus, routed like any event."""
    from moto.events.models import events_backends  # noqa: PLC0415
    from moto.stepfunctions.parser.api import StateMachineType  # noqa: PLC0415

    if execution.sm_type != StateMachineType.STANDARD:
        return
    entry = {
        "Source": "aws.states",
        "DetailType": STATUS_CHANGE,
        "Detail": json.dumps(status_change_detail(execution)),
        "Resources": [execution.exec_arn],
        "EventBusName": "default",
    }
    try:
        events_backends[execution.account_id][execution.region_name].put_events([entry])
    except Exception:  # AWS's delivery of these events is best effort: the execution goes on
        log.exception("could not deliver the status event of %s", execution.exec_arn)


def _patch_status_events() -> None:
    from moto.stepfunctions.parser.backend import execution as executions  # noqa: PLC0415

    original_terminated = executions.BaseExecutionWorkerCommunication.terminated

    def start(self: Any) -> None:
        """moto's Execution.start, announcing RUNNING before the worker can end the execution."""
        from moto.stepfunctions.parser.api import ExecutionStatus, InvalidName  # noqa: PLC0415

        if self.exec_worker:
            raise InvalidName("execution already started")
        self.exec_worker = self._get_start_execution_worker()
        self.exec_status = ExecutionStatus.RUNNING
        _announce(self)
        self.exec_worker.start()

    def terminated(self: Any) -> None:
        original_terminated(self)
        _announce(self.execution)

    executions.Execution.start = start  # type: ignore[method-assign]
    executions.BaseExecutionWorkerCommunication.terminated = terminated  # type: ignore[method-assign]


def stop_executions(timeout: float = 30.0) -> list[str]:
    """Stop every running execution of moto's Step Functions, and wait for its threads to end.

    An execution that has only just started cannot be stopped until its worker is set up: it is
    stopped on a later round. Returns the names of the threads still alive after `timeout`.
    """
    from moto.core.utils import utcnow  # noqa: PLC0415
    from moto.stepfunctions.parser.api import ExecutionStatus  # noqa: PLC0415
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends  # noqa: PLC0415
    from moto.stepfunctions.parser.utils import TMP_THREADS  # noqa: PLC0415

    deadline = time.monotonic() + timeout
    while True:
        running = [
            execution
            for regions in stepfunctions_parser_backends.values()
            for backend in regions.values()
            for execution in backend._get_executions(ExecutionStatus.RUNNING)
        ]
        for execution in running:
            worker = execution.exec_worker
            if worker is not None and worker.env is not None:
                execution.stop(utcnow(), error="TestEnded", cause="The test that started it ended.")
        alive = [thread.name for thread in TMP_THREADS if thread.is_alive()]
        if (not running and not alive) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    TMP_THREADS.clear()
    return alive
