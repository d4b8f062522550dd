"""The local stack: template.yaml, its handlers and its ASL on one machine, with moto as AWS.

One process tree: this process runs moto (as a server), the Lambda Runtime APIs and the API
Gateway; each function runs in worker processes of its own under awslambdaric. Ctrl-C or SIGTERM
stops all of it.
"""

from __future__ import annotations

import io
import json
import logging
import os
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from moto.core.config import default_user_config
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from local import emulator
from local.gateway import Gateway
from local.runtime import FunctionRuntime, FunctionSpec
from local.template import ACCOUNT, REGION, LocalTemplate, load

ROOT = Path(__file__).resolve().parent.parent
CODE_ROOT = ROOT / "functions"
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
FUNCTIONS_ROLE = "agentcore-ecr-local-functions"
ASYNC_RETRY_DELAYS = (1.0, 2.0)  # Lambda retries an asynchronous invocation twice


@dataclass
class LocalConfig:
    port: int = 3000
    aws_port: int = 5000
    poll_interval_seconds: int = 1
    settle_seconds: float = 0.0
    max_workers: int = 4
    log_dir: Path | None = ROOT / ".local" / "logs"


class LocalStack:
    def __init__(self, config: LocalConfig) -> None:
        self.config = config
        self.endpoint = f"http://127.0.0.1:{config.aws_port}"
        self.template = LocalTemplate(
            load(ROOT / "template.yaml"),
            overrides={"StackPollIntervalSeconds": str(config.poll_interval_seconds)},
        )
        self.runtimes: dict[str, FunctionRuntime] = {}
        self.moto: ThreadedMotoServer | None = None
        self.gateway: Gateway | None = None
        self._session = boto3.Session(
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=REGION,
        )

    @property
    def api_url(self) -> str:
        assert self.gateway is not None
        return f"http://127.0.0.1:{self.gateway.port}"

    def client(self, service: str) -> Any:
        return self._session.client(service, endpoint_url=self.endpoint)

    # Start and stop ------------------------------------------------------------------------

    def start(self) -> None:
        if self.config.log_dir is not None:
            self.config.log_dir.mkdir(parents=True, exist_ok=True)
            emulator_log = logging.FileHandler(self.config.log_dir / "moto.log")
            emulator_log.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        else:
            emulator_log = logging.NullHandler()  # type: ignore[assignment]
        for name in ("moto", "werkzeug"):  # the emulator's own log: requests, execution errors
            logging.getLogger(name).addHandler(emulator_log)
            logging.getLogger(name).propagate = False
        os.environ["MOTO_PORT"] = str(self.config.aws_port)  # moto's Step Functions call back here
        emulator.apply()
        emulator.options.settle_seconds = self.config.settle_seconds
        default_user_config["stepfunctions"] = {"execute_state_machine": True}
        default_user_config["lambda"] = {"use_docker": False}
        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=self.config.aws_port, verbose=False)
        self.moto.start()
        self._provision()
        for logical_id in self.template.of_type("AWS::Serverless::Function"):
            runtime = FunctionRuntime(
                self._function_spec(logical_id), CODE_ROOT, self.config.max_workers, self.config.log_dir
            )
            runtime.start(workers=1)
            self.runtimes[logical_id] = runtime
        emulator.options.invoke = self.invoke
        emulator.options.invoke_async = self.invoke_async
        self.gateway = Gateway(self.template, self.invoke, self.config.port)
        threading.Thread(target=self.gateway.serve_forever, name="gateway", daemon=True).start()

    def wait_until_ready(self, timeout: float = 120) -> None:
        """Every function has a worker waiting for its first invocation."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(runtime.ready for runtime in self.runtimes.values()):
                return
            time.sleep(0.1)
        missing = sorted(name for name, runtime in self.runtimes.items() if not runtime.ready)
        raise TimeoutError(f"functions not ready after {timeout:.0f}s: {', '.join(missing)}")

    def stop(self) -> None:
        emulator.options.invoke = None
        emulator.options.invoke_async = None
        if self.gateway is not None:
            self.gateway.stop()
        for runtime in self.runtimes.values():
            runtime.stop()
        if self.moto is not None:
            self.moto.stop()

    # Lambda --------------------------------------------------------------------------------

    def invoke(self, function: str, payload: bytes) -> tuple[bytes, str | None]:
        runtime = self.runtimes.get(function)
        if runtime is None:
            message = f"Function not found: {self.template.function_arn(function)}"
            return json.dumps(
                {"errorType": "ResourceNotFoundException", "errorMessage": message}
            ).encode(), "Unhandled"
        return runtime.invoke(payload)

    def invoke_async(self, function: str, payload: bytes, dead_letter_arn: str | None) -> None:
        """Lambda's asynchronous invocation: two retries, then the dead-letter queue."""

        def run() -> None:
            error: str | None = None
            result = b""
            for delay in (0.0, *ASYNC_RETRY_DELAYS):
                time.sleep(delay)
                result, error = self.invoke(function, payload)
                if error is None:
                    return
            queue_arn = (
                self.template.dead_letter_queue(function, self.endpoint)
                if function in self.runtimes
                else None
            ) or dead_letter_arn
            if queue_arn:
                queue_name = queue_arn.rsplit(":", 1)[-1]
                sqs = self.client("sqs")
                sqs.send_message(
                    QueueUrl=sqs.get_queue_url(QueueName=queue_name)["QueueUrl"],
                    MessageBody=payload.decode(),
                    MessageAttributes={
                        "ErrorMessage": {
                            "DataType": "String",
                            "StringValue": result.decode()[:1000] or "error",
                        }
                    },
                )

        threading.Thread(target=run, name=f"async-{function}", daemon=True).start()

    def _function_spec(self, logical_id: str) -> FunctionSpec:
        memory_mb = int(self.template.function_setting(logical_id, "MemorySize", 128))
        environment = {
            **self.template.function_environment(logical_id, self.endpoint),
            **LOCAL_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_LAMBDA_FUNCTION_NAME": logical_id,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
            "AWS_LAMBDA_LOG_FORMAT": str(
                self.template.function_setting(logical_id, "LoggingConfig", {}).get("LogFormat", "Text")
            ),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{logical_id}",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "AWS_SAM_LOCAL": "true",  # as `sam local` sets it: Powertools' Tracer stays off without X-Ray
            "TZ": ":UTC",
            "LANG": "en_US.UTF-8",
        }
        return FunctionSpec(
            name=logical_id,
            handler=self.template.resources[logical_id]["Properties"]["Handler"],
            environment=environment,
            timeout_seconds=int(self.template.function_setting(logical_id, "Timeout", 3)),
            memory_mb=memory_mb,
            arn=self.template.function_arn(logical_id),
        )

    # The template's resources in moto ------------------------------------------------------

    def _provision(self) -> None:
        endpoint = self.endpoint
        iam, sqs, events = self.client("iam"), self.client("sqs"), self.client("events")
        lambda_client, sfn = self.client("lambda"), self.client("stepfunctions")
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        functions_role = iam.create_role(RoleName=FUNCTIONS_ROLE, AssumeRolePolicyDocument=json.dumps(trust))[
            "Role"
        ]["Arn"]
        for logical_id, role in self.template.of_type("AWS::IAM::Role").items():
            document = self.template.resolve(role["Properties"]["AssumeRolePolicyDocument"], endpoint)
            iam.create_role(RoleName=logical_id, AssumeRolePolicyDocument=json.dumps(document))
        for logical_id in self.template.of_type("AWS::SQS::Queue"):
            sqs.create_queue(QueueName=logical_id)
        for bus in self.template.of_type("AWS::Events::EventBus").values():
            events.create_event_bus(Name=self.template.resolve(bus["Properties"]["Name"], endpoint))
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as code:
            code.writestr(
                "README.txt", "The local stack runs this function from functions/ in its own workers."
            )
        for logical_id, function in self.template.of_type("AWS::Serverless::Function").items():
            lambda_client.create_function(
                FunctionName=logical_id,
                Runtime=str(self.template.function_setting(logical_id, "Runtime", "python3.13")),
                Role=functions_role,
                Handler=function["Properties"]["Handler"],
                Code={"ZipFile": archive.getvalue()},
                Timeout=int(self.template.function_setting(logical_id, "Timeout", 3)),
                MemorySize=int(self.template.function_setting(logical_id, "MemorySize", 128)),
            )
        for rule in self.template.rules(endpoint):
            events.put_rule(Name=rule.name, EventBusName=rule.bus, EventPattern=json.dumps(rule.pattern))
            target: dict[str, Any] = {"Id": rule.function, "Arn": self.template.function_arn(rule.function)}
            if rule.dead_letter_arn:
                target["DeadLetterConfig"] = {"Arn": rule.dead_letter_arn}
            events.put_targets(Rule=rule.name, EventBusName=rule.bus, Targets=[target])
        for logical_id, machine in self.template.of_type("AWS::Serverless::StateMachine").items():
            properties = machine["Properties"]
            definition = (ROOT / properties["DefinitionUri"]).read_text()
            for key, value in properties.get("DefinitionSubstitutions", {}).items():
                definition = definition.replace("${" + key + "}", str(self.template.resolve(value, endpoint)))
            sfn.create_state_machine(
                name=self.template.resolve(properties["Name"], endpoint),
                definition=definition,
                roleArn=f"arn:aws:iam::{ACCOUNT}:role/{logical_id}",
                type=properties.get("Type", "STANDARD"),
            )
