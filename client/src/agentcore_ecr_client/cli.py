"""`agentcore-ecr`: the service from a command line, as the AWS CLI feels.

Every command takes the connection options (`--endpoint-url`, `--stack-name`, `--region`,
`--profile`, `--no-sign-request`) and `--output table|json`; mutations take `--wait`,
`--timeout` and `--idempotency-key`. Exit codes: agentcore_ecr_client.errors (and the README).
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, TypeVar

import click

from agentcore_ecr_client import display
from agentcore_ecr_client.client import DEFAULT_WAIT_TIMEOUT, Client
from agentcore_ecr_client.errors import (
    EXIT_CONFIGURATION,
    EXIT_INTERRUPTED,
    EXIT_UNREACHABLE,
    ApiError,
    ClientError,
    OperationFailed,
    WaiterTimeout,
)
from agentcore_ecr_client.models import Operation

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Settings:
    endpoint_url: str | None
    stack_name: str | None
    region: str | None
    profile: str | None
    sign: bool
    output: display.Output

    def client(self) -> Client:
        return Client(
            self.endpoint_url,
            region=self.region,
            profile=self.profile,
            stack_name=self.stack_name,
            sign=self.sign,
        )


def common(function: F) -> F:
    """The connection and output options of every command, gathered into `settings`."""

    @click.option(
        "--endpoint-url", envvar="AGENTCORE_ECR_ENDPOINT", help="The API's URL [env: AGENTCORE_ECR_ENDPOINT]."
    )
    @click.option("--stack-name", help="Find the API in this deployed stack's ApiUrl output.")
    @click.option("--region", help="AWS region [default: AWS_REGION, the profile's region].")
    @click.option(
        "--profile", envvar="AWS_PROFILE", help="Credentials and config profile [env: AWS_PROFILE]."
    )
    @click.option(
        "--no-sign-request", is_flag=True, help="Send unsigned requests (a local stack without AUTH=iam)."
    )
    @click.option(
        "--output",
        type=click.Choice(["table", "json"]),
        help="table (default on a terminal) or json (the API's own JSON; default otherwise).",
    )
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        settings = Settings(
            endpoint_url=kwargs.pop("endpoint_url"),
            stack_name=kwargs.pop("stack_name"),
            region=kwargs.pop("region"),
            profile=kwargs.pop("profile"),
            sign=not kwargs.pop("no_sign_request"),
            output=display.Output(kwargs.pop("output")),
        )
        click.get_current_context().find_root().obj = settings  # for Group.invoke's error report
        return function(settings, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def mutation(function: F) -> F:
    """--wait, --timeout and --idempotency-key."""
    function = click.option(
        "--idempotency-key",
        help="Sent as Idempotency-Key: the same key and request answer the same operation "
        "[default: a new key, reused by the client's own retries].",
    )(function)
    function = click.option(
        "--timeout",
        type=click.FloatRange(min=1),
        default=DEFAULT_WAIT_TIMEOUT,
        show_default=True,
        help="Seconds --wait follows the operation before it gives up (the operation goes on).",
    )(function)
    return click.option("--wait", is_flag=True, help="Follow the operation to its end.")(function)


def lifecycle_options(function: F) -> F:
    """--untagged-days and --max-images: a LifecyclePolicy."""
    function = click.option(
        "--max-images", type=int, help="Keep at most this many images [default: no limit]."
    )(function)
    return click.option(
        "--untagged-days", type=int, help="Untagged images expire this many days after push [default: 30]."
    )(function)


class Group(click.Group):
    """Errors of the client become one line on stderr and the exit code of their kind."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ClientError as error:
            root = ctx.find_root().obj
            settings = root if isinstance(root, Settings) else None
            output = settings.output if settings is not None else display.Output(None)
            report(output, error)
            raise click.exceptions.Exit(error.exit_code) from error
        except KeyboardInterrupt:
            click.echo(
                "\nInterrupted: an operation already accepted goes on (agentcore-ecr operation wait ID).",
                err=True,
            )
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None


def report(output: display.Output, error: ClientError) -> None:
    if isinstance(error, ApiError):
        details = [
            f"{item.location or ''} {item.field or ''}: {item.message}".strip() for item in error.details
        ]
        output.error(error.code, error.message, details)
    elif isinstance(error, OperationFailed | WaiterTimeout):
        output.result(error.operation, display.operation_table(error.operation))
        if isinstance(error, OperationFailed):
            output.error(error.code, error.message)
        else:
            output.error("WaiterTimeout", str(error))
    else:
        output.error(type(error).__name__, str(error))


def finish(settings: Settings, client: Client, operation: Operation, wait: bool, timeout: float) -> None:
    """Show the accepted operation, or follow it to its end (OperationFailed if it fails)."""
    output = settings.output
    if not wait:
        output.result(operation, display.operation_table(operation))
        output.hint(f"Follow it: agentcore-ecr operation wait {operation.operation_id}")
        return
    title = f"{operation.action} {operation.repository_name} ({operation.operation_id})"
    with output.progress(title) as progress:
        final = client.wait(operation, timeout=timeout, on_progress=progress)
    output.result(final, display.operation_table(final))


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(version("agentcore-ecr-client"), prog_name="agentcore-ecr")
def cli() -> None:
    """ECR repositories for agent containers, through the agentcore-ecr service.

    Requests are signed with SigV4 from the standard AWS credential chain. Mutations answer at
    once with an operation; --wait follows it to its end.
    """


def _tags(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for value in values:
        key, equals, text = value.partition("=")
        if not equals or not key:
            raise click.BadParameter(f"{value!r} is not KEY=VALUE")
        tags[key] = text
    return tags


@cli.command()
@click.argument("name")
@click.option("--environment", "-e", help="dev, staging, prod... [service default: dev]")
@click.option("--scan/--no-scan", default=None, help="Scan images on push [service default: scan].")
@click.option(
    "--mutability",
    type=click.Choice(["MUTABLE", "IMMUTABLE"], case_sensitive=False),
    help="Tag mutability [service default: IMMUTABLE].",
)
@click.option(
    "--encryption",
    type=click.Choice(["KMS", "AES256"], case_sensitive=False),
    help="[service default: KMS on create; an update keeps the current one].",
)
@click.option("--kms-key", help="A KMS key ARN (with KMS) [default: the AWS managed key].")
@lifecycle_options
@click.option("--tag", "tags", multiple=True, callback=_tags, metavar="KEY=VALUE", help="A tag (repeatable).")
@mutation
@common
def create(
    settings: Settings,
    name: str,
    environment: str | None,
    scan: bool | None,
    mutability: str | None,
    encryption: str | None,
    kms_key: str | None,
    untagged_days: int | None,
    max_images: int | None,
    tags: dict[str, str],
    wait: bool,
    timeout: float,
    idempotency_key: str | None,
) -> None:
    """Create repository NAME, or update it if the service manages it already."""
    client = settings.client()
    operation = client.create_repository(
        name,
        environment=environment,
        image_scanning=scan,
        image_tag_mutability=mutability.upper() if mutability else None,
        encryption=encryption.upper() if encryption else None,
        kms_key_arn=kms_key,
        untagged_expiry_days=untagged_days,
        max_image_count=max_images,
        tags=tags,
        idempotency_key=idempotency_key,
    )
    finish(settings, client, operation, wait, timeout)


@cli.command()
@click.argument("name")
@common
def get(settings: Settings, name: str) -> None:
    """Show repository NAME."""
    repository = settings.client().get_repository(name)
    settings.output.result(repository, display.repository_table(repository))


@cli.command(name="list")
@click.option("--environment", "-e", help="Only this environment's repositories.")
@click.option(
    "--page-size", type=click.IntRange(1, 100), help="Repositories a request [service default: 50]."
)
@common
def list_(settings: Settings, environment: str | None, page_size: int | None) -> None:
    """List the repositories the service manages (every page)."""
    items = list(settings.client().list_repositories(environment, page_size))
    page = {"items": [item.to_api() for item in items], "nextToken": None}
    settings.output.result(page, display.repositories_table(items))


@cli.command()
@click.argument("name")
@click.option("--force", is_flag=True, help="Delete the repository's images too.")
@mutation
@common
def delete(
    settings: Settings, name: str, force: bool, wait: bool, timeout: float, idempotency_key: str | None
) -> None:
    """Delete repository NAME (and its stack)."""
    client = settings.client()
    operation = client.delete_repository(name, force=force, idempotency_key=idempotency_key)
    finish(settings, client, operation, wait, timeout)


@cli.group(cls=Group)
def lifecycle() -> None:
    """A repository's lifecycle policy."""


@lifecycle.command(name="get")
@click.argument("name")
@common
def lifecycle_get(settings: Settings, name: str) -> None:
    """Show NAME's lifecycle policy (and the live ECR policy text)."""
    view = settings.client().get_lifecycle_policy(name)
    settings.output.result(view, display.lifecycle_table(view))


@lifecycle.command(name="set")
@click.argument("name")
@lifecycle_options
@mutation
@common
def lifecycle_set(
    settings: Settings,
    name: str,
    untagged_days: int | None,
    max_images: int | None,
    wait: bool,
    timeout: float,
    idempotency_key: str | None,
) -> None:
    """Replace NAME's lifecycle policy (a stack update)."""
    client = settings.client()
    operation = client.put_lifecycle_policy(
        name,
        untagged_expiry_days=untagged_days,
        max_image_count=max_images,
        idempotency_key=idempotency_key,
    )
    finish(settings, client, operation, wait, timeout)


@cli.command()
@common
def token(settings: Settings) -> None:
    """A registry login token (user, password, proxy endpoint)."""
    found = settings.client().get_auth_token()
    settings.output.result(found, display.token_table(found))


@cli.command()
@click.option(
    "--executable", default="docker", show_default=True, help="The container tool (docker, podman, finch...)."
)
@common
def login(settings: Settings, executable: str) -> None:
    """Log the container tool in to the registry (`login --password-stdin`)."""
    tool = shutil.which(executable)
    if tool is None:
        settings.output.error(
            "DockerNotFound",
            f"{executable!r} is not on PATH. Install Docker (or give --executable podman, finch...), "
            "or take the password from `agentcore-ecr token`.",
        )
        raise click.exceptions.Exit(EXIT_CONFIGURATION)
    found = settings.client().get_auth_token()
    command = [tool, "login", "--username", found.username, "--password-stdin", found.proxy_endpoint]
    done = subprocess.run(command, input=found.password, text=True, check=False)
    if done.returncode != 0:
        settings.output.error(
            "LoginFailed", f"{executable} login {found.proxy_endpoint} exited {done.returncode}"
        )
        raise click.exceptions.Exit(EXIT_UNREACHABLE)


@cli.group(cls=Group)
def operation() -> None:
    """Operations: what a mutation started."""


@operation.command(name="get")
@click.argument("operation_id")
@common
def operation_get(settings: Settings, operation_id: str) -> None:
    """Show operation OPERATION_ID."""
    found = settings.client().get_operation(operation_id)
    settings.output.result(found, display.operation_table(found))


@operation.command(name="wait")
@click.argument("operation_id")
@click.option("--timeout", type=click.FloatRange(min=1), default=DEFAULT_WAIT_TIMEOUT, show_default=True)
@common
def operation_wait(settings: Settings, operation_id: str, timeout: float) -> None:
    """Follow operation OPERATION_ID to its end; non-zero exit if it fails."""
    client = settings.client()
    finish(settings, client, client.get_operation(operation_id), wait=True, timeout=timeout)


def main() -> None:
    cli(prog_name="agentcore-ecr")
