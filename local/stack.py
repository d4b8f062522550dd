"""The local stack: template.yaml, its handlers and its ASL on one machine, with moto as AWS.

One process tree: this process runs moto (as a server), the Lambda Runtime APIs and the API
Gateway; each function runs in worker processes of its own under awslambdaric, with credentials
of its own role, as Lambda gives them. What the template declares is provisioned from SAM's
translation of it (local/template.py), and AWS's rules are applied where the service depends on
them (local/emulator). Ctrl-C or SIGTERM stops all of it.
"""

from __future__ import annotations

import io
import json
import logging
import os
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from moto.core.config import default_user_config
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from local import emulator, iam
from local.emulator import access
from local.emulator.options import DEFAULT_STACK_QUOTA
from local.gateway import INTEGRATION_TIMEOUT_SECONDS, Gateway
from local.runtime import FunctionRuntime, FunctionSpec
from local.template import ACCOUNT, API_ID, REGION, LocalTemplate, load

ROOT = Path(__file__).resolve().parent.parent
CODE_ROOT = ROOT / "functions"
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
ASYNC_RETRY_DELAYS = (1.0, 2.0)  # Lambda retries an asynchronous invocation twice
API_USER = "agentcore-local"  # with AUTH=iam: the IAM user allowed to invoke every route
log = logging.getLogger("local")


class DecisionLog:
    """The IAM patches' authorizations, one JSON line each (for tests of least privilege)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def __call__(self, principal: str, action: str, resource: str, allowed: bool) -> None:
        line = json.dumps(
            {"principal": principal, "action": action, "resource": resource, "allowed": allowed}
        )
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()


@dataclass
class LocalConfig:
    port: int = 3000
    aws_port: int = 5000
    poll_interval_seconds: int = 1
    settle_seconds: float = 0.0
    stack_quota: int = DEFAULT_STACK_QUOTA  # CloudFormation's stacks per account and Region (patch 32)
    max_workers: int = 4
    state_dir: Path | None = ROOT / ".local"  # logs/ and aws-credentials
    iam_auth: bool = False  # AUTH=iam: the API checks SigV4 and execute-api:Invoke
    template: Path = ROOT / "template.yaml"
    parameters: dict[str, str] = field(default_factory=dict)
    iam_log: bool = False  # every authorization, as JSON lines in state_dir/iam-decisions.jsonl
    # How long the API waits for a function before it answers 504 (API Gateway's 29 s; less in tests)
    integration_timeout_seconds: float = INTEGRATION_TIMEOUT_SECONDS
    concurrency_quota: int = 1000  # Lambda concurrent executions of the account (new accounts: less)

    @property
    def log_dir(self) -> Path | None:
        return self.state_dir / "logs" if self.state_dir is not None else None

    @property
    def credentials_file(self) -> Path | None:
        return self.state_dir / "aws-credentials" if self.state_dir is not None else None

    @property
    def iam_log_file(self) -> Path | None:
        return self.state_dir / "iam-decisions.jsonl" if self.state_dir is not None and self.iam_log else None


def provision_functions(template: LocalTemplate, lambda_client: Any) -> None:
    """Each function of the translated template, as CloudFormation's AWS::Lambda::Function handler
    makes it: CreateFunction, then PutFunctionConcurrency for its ReservedConcurrentExecutions
    (which CreateFunction does not take). Lambda refuses a reservation the account's concurrency
    quota cannot spare (emulator patch 31), and so does starting the local stack."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as code:
        code.writestr("README.txt", "The local stack runs this function from functions/ in its own workers.")
    for logical_id in template.functions():
        function = template.properties(logical_id)
        lambda_client.create_function(
            FunctionName=logical_id,
            Runtime=function.get("Runtime", "python3.13"),
            Role=function["Role"],
            Handler=function["Handler"],
            Code={"ZipFile": archive.getvalue()},
            Timeout=int(function.get("Timeout", 3)),
            MemorySize=int(function.get("MemorySize", 128)),
        )
        if "ReservedConcurrentExecutions" in function:
            lambda_client.put_function_concurrency(
                FunctionName=logical_id,
                ReservedConcurrentExecutions=int(function["ReservedConcurrentExecutions"]),
            )


class LocalStack:
    def __init__(self, config: LocalConfig) -> None:
        self.config = config
        self.endpoint = f"http://127.0.0.1:{config.aws_port}"
        self.template = LocalTemplate(
            load(config.template),
            overrides={"StackPollIntervalSeconds": str(config.poll_interval_seconds), **config.parameters},
            endpoint=self.endpoint,
        )
        self.runtimes: dict[str, FunctionRuntime] = {}
        self.moto: ThreadedMotoServer | None = None
        self.gateway: Gateway | None = None
        self.api_keys: dict[str, str] = {}
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
        log_dir = self.config.log_dir
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)
            emulator_log = logging.FileHandler(log_dir / "moto.log")
            emulator_log.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        else:
            emulator_log = logging.NullHandler()  # type: ignore[assignment]
        for name in ("moto", "werkzeug", "local"):  # the emulator's own log: requests, execution errors
            logging.getLogger(name).addHandler(emulator_log)
            logging.getLogger(name).propagate = False
        emulator.apply()
        emulator.options.settle_seconds = self.config.settle_seconds
        emulator.options.stack_quota = self.config.stack_quota
        emulator.options.enforce_iam = True
        emulator.options.lambda_concurrency_quota = self.config.concurrency_quota
        if self.config.iam_log_file is not None:
            emulator.options.record_decision = DecisionLog(self.config.iam_log_file)
        default_user_config["stepfunctions"] = {"execute_state_machine": True}
        default_user_config["lambda"] = {"use_docker": False}
        default_user_config["iam"] = {"load_aws_managed_policies": True}  # SAM attaches AWS managed ones
        emulator.options.aws_managed_policies = frozenset(
            arn.rsplit("/", 1)[-1]
            for role in self.template.of_type("AWS::IAM::Role").values()
            for arn in role["Properties"].get("ManagedPolicyArns", [])
        )
        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=self.config.aws_port, verbose=False)
        self.moto.start()
        port = self.moto.get_host_and_port()[1]  # the one the system chose, for port 0
        self.endpoint = self.template.endpoint = f"http://127.0.0.1:{port}"
        os.environ["MOTO_PORT"] = str(port)  # moto's Step Functions call its integrations back here
        self._provision_roles()
        for logical_id in self.template.functions():  # the workers start while the rest is provisioned
            runtime = FunctionRuntime(
                self._function_spec(logical_id), CODE_ROOT, self.config.max_workers, log_dir
            )
            runtime.start(workers=1)
            self.runtimes[logical_id] = runtime
        self._provision()
        emulator.options.invoke = self.invoke
        emulator.options.invoke_async = self.invoke_async
        self._write_api_credentials()  # with or without AUTH=iam: clients sign either way
        self.gateway = Gateway(
            self.template,
            self.invoke,
            self.config.port,
            iam_auth=self.config.iam_auth,
            integration_timeout=self.config.integration_timeout_seconds,
        )
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
        emulator.options.record_decision = None
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
        """Lambda's asynchronous invocation: two retries, then the function's dead-letter queue,
        which Lambda writes to with the function's role (or else the target's, EventBridge's)."""

        def run() -> None:
            error: str | None = None
            result = b""
            for delay in (0.0, *ASYNC_RETRY_DELAYS):
                time.sleep(delay)
                result, error = self.invoke(function, payload)
                if error is None:
                    return
            own = self.template.dead_letter_queue(function) if function in self.runtimes else None
            queue_arn = own or dead_letter_arn
            if not queue_arn:
                return
            if own is not None:
                role = access.role_principal(self._role_of(function), function)
                denial = access.authorize(role, [iam.Need("sqs:SendMessage", own)])
                if denial is not None:
                    log.error(
                        "%s: the event is lost: Lambda cannot write to its dead-letter queue: %s",
                        function,
                        denial,
                    )
                    return
            sqs = self.client("sqs")
            sqs.send_message(
                QueueUrl=sqs.get_queue_url(QueueName=queue_arn.rsplit(":", 1)[-1])["QueueUrl"],
                MessageBody=payload.decode(),
                MessageAttributes={
                    "ErrorMessage": {"DataType": "String", "StringValue": result.decode()[:1000] or "error"}
                },
            )

        threading.Thread(target=run, name=f"async-{function}", daemon=True).start()

    def _role_of(self, function: str) -> str:
        return str(self.template.function_setting(function, "Role", ""))

    def _function_spec(self, logical_id: str) -> FunctionSpec:
        """The function's environment as Lambda sets it: the template's variables, its role's
        credentials, and Lambda's own variables (its log level among them)."""
        settings = self.template.properties(logical_id)
        memory_mb = int(settings.get("MemorySize", 128))
        logging_config = settings.get("LoggingConfig", {})
        log_format = str(logging_config.get("LogFormat", "Text"))
        credentials = self.client("sts").assume_role(
            RoleArn=self._role_of(logical_id), RoleSessionName=logical_id
        )["Credentials"]
        environment = {
            **self.template.function_environment(logical_id),
            "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
            "AWS_SESSION_TOKEN": credentials["SessionToken"],
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_LAMBDA_FUNCTION_NAME": logical_id,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
            "AWS_LAMBDA_LOG_FORMAT": log_format,
            "AWS_LAMBDA_LOG_GROUP_NAME": str(logging_config.get("LogGroup", f"/aws/lambda/{logical_id}")),
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "TZ": ":UTC",
            "LANG": "en_US.UTF-8",
        }
        if log_format == "JSON":
            # Lambda's advanced logging controls: INFO unless the function sets its level.
            environment["AWS_LAMBDA_LOG_LEVEL"] = str(logging_config.get("ApplicationLogLevel", "INFO"))
        return FunctionSpec(
            name=logical_id,
            handler=str(settings["Handler"]),
            environment=environment,
            timeout_seconds=int(settings.get("Timeout", 3)),
            memory_mb=memory_mb,
            arn=self.template.function_arn(logical_id),
        )

    # The translated template's resources in moto --------------------------------------------

    def _provision_roles(self) -> None:
        template, iam_client = self.template, self.client("iam")
        for logical_id in template.of_type("AWS::IAM::Role"):
            role = template.properties(logical_id)
            iam_client.create_role(
                RoleName=logical_id, AssumeRolePolicyDocument=json.dumps(role["AssumeRolePolicyDocument"])
            )
            for policy in role.get("Policies", []):
                iam_client.put_role_policy(
                    RoleName=logical_id,
                    PolicyName=policy["PolicyName"],
                    PolicyDocument=json.dumps(policy["PolicyDocument"]),
                )
            for arn in role.get("ManagedPolicyArns", []):
                iam_client.attach_role_policy(RoleName=logical_id, PolicyArn=arn)

    def _provision(self) -> None:
        template = self.template
        sqs, events = self.client("sqs"), self.client("events")
        lambda_client, sfn = self.client("lambda"), self.client("stepfunctions")
        for logical_id in template.of_type("AWS::SQS::Queue"):
            sqs.create_queue(QueueName=logical_id)
        for logical_id in template.of_type("AWS::SQS::QueuePolicy"):
            queue_policy = template.properties(logical_id)
            for queue_url in queue_policy["Queues"]:
                sqs.set_queue_attributes(
                    QueueUrl=queue_url, Attributes={"Policy": json.dumps(queue_policy["PolicyDocument"])}
                )
        self._provision_tables()
        for logical_id in template.of_type("AWS::Events::EventBus"):
            events.create_event_bus(Name=template.properties(logical_id)["Name"])
        provision_functions(template, lambda_client)
        for logical_id in template.of_type("AWS::Lambda::Permission"):
            permission = template.properties(logical_id)
            lambda_client.add_permission(
                FunctionName=permission["FunctionName"],
                StatementId=logical_id,
                Action=permission["Action"],
                Principal=permission["Principal"],
                SourceArn=permission["SourceArn"],
            )
        for rule in template.rules():
            events.put_rule(Name=rule.name, EventBusName=rule.bus, EventPattern=json.dumps(rule.pattern))
            targets = [
                {
                    key: target[key]
                    for key in ("Id", "Arn", "DeadLetterConfig", "RetryPolicy")
                    if key in target
                }
                for target in rule.targets
            ]
            events.put_targets(Rule=rule.name, EventBusName=rule.bus, Targets=targets)
        for machine in template.of_type("AWS::StepFunctions::StateMachine").values():
            properties = machine["Properties"]
            definition = (ROOT / properties["DefinitionS3Location"]["Key"]).read_text()
            for key, value in properties.get("DefinitionSubstitutions", {}).items():
                definition = definition.replace("${" + key + "}", str(template.resolve(value)))
            sfn.create_state_machine(
                name=template.resolve(properties["StateMachineName"]),
                definition=definition,
                roleArn=template.resolve(properties["RoleArn"]),
                type=properties.get("StateMachineType", "STANDARD"),
            )

    def _provision_tables(self) -> None:
        """The DynamoDB tables as the template declares them (keys, indexes, billing, encryption)."""
        dynamodb = self.client("dynamodb")
        for logical_id in self.template.of_type("AWS::DynamoDB::Table"):
            table = self.template.properties(logical_id)
            settings: dict[str, Any] = {
                key: table[key]
                for key in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")
                if key in table
            }
            if "SSESpecification" in table:
                settings["SSESpecification"] = {"Enabled": table["SSESpecification"]["SSEEnabled"]}
            if "DeletionProtectionEnabled" in table:
                settings["DeletionProtectionEnabled"] = str(table["DeletionProtectionEnabled"]) == "true"
            name = self.template.ref(logical_id)
            dynamodb.create_table(TableName=name, **settings)
            recovery = table.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled")
            if recovery:
                dynamodb.update_continuous_backups(
                    TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
                )

    def _write_api_credentials(self) -> None:
        """An IAM user that may invoke every route, in AWS's shared-credentials format: what AUTH=iam
        checks, and what a client signs with (it signs whether the API checks or not)."""
        iam_client = self.client("iam")
        iam_client.create_user(UserName=API_USER)
        document = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "execute-api:Invoke",
                    "Resource": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/*",
                }
            ],
        }
        iam_client.put_user_policy(
            UserName=API_USER, PolicyName="invoke-api", PolicyDocument=json.dumps(document)
        )
        key = iam_client.create_access_key(UserName=API_USER)["AccessKey"]
        self.api_keys = {
            "aws_access_key_id": key["AccessKeyId"],
            "aws_secret_access_key": key["SecretAccessKey"],
        }
        path = self.config.credentials_file
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            lines = [f"[{API_USER}]", *(f"{name} = {value}" for name, value in self.api_keys.items())]
            path.write_text("\n".join(lines) + "\n")
            path.chmod(0o600)
