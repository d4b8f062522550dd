"""What the command shows: tables on a terminal, the API's JSON otherwise, and a wait's progress."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import Progress as RichProgress
from rich.progress import SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from agentcore_ecr_client.models import (
    ApiModel,
    AuthToken,
    LifecyclePolicyView,
    Operation,
    Progress,
    Repository,
)

STATUS_STYLES = {
    "SUCCEEDED": "green",
    "RUNNING": "yellow",
    "FAILED": "red",
    "TIMED_OUT": "red",
    "ABORTED": "red",
}


def stack_style(status: str) -> str:
    if status.endswith("_IN_PROGRESS"):
        return "yellow"
    if "ROLLBACK" in status or status.endswith("_FAILED"):
        return "red"
    return "green"


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value is not None else "-"


def _fields(rows: list[tuple[str, Any]]) -> Table:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, value in rows:
        table.add_row(label, value if isinstance(value, Text) else Text(str(value)))
    return table


def lifecycle_text(untagged_days: int, max_images: int | None) -> str:
    text = f"untagged images expire {untagged_days} days after push"
    return text + (f"; at most {max_images} images kept" if max_images is not None else "")


def repository_table(repository: Repository) -> Table:
    encryption = repository.encryption
    if repository.encryption == "KMS":
        encryption += f" ({repository.kms_key_arn or 'AWS managed key alias/aws/ecr'})"
    rows: list[tuple[str, Any]] = [
        ("Name", repository.name),
        ("Environment", repository.environment),
        ("URI", repository.repository_uri),
        ("ARN", repository.repository_arn),
        ("Scan on push", "yes" if repository.image_scanning else "no"),
        ("Tag mutability", repository.image_tag_mutability),
        ("Encryption", encryption),
        ("Lifecycle", lifecycle_text(**_policy(repository))),
        ("Tags", ", ".join(f"{key}={value}" for key, value in sorted(repository.tags.items())) or "-"),
        ("Stack", repository.stack_name),
        ("Stack status", Text(repository.stack_status, style=stack_style(repository.stack_status))),
        ("Created", _when(repository.created_at)),
    ]
    if repository.drift is not None:
        rows.append(("Drift", Text(f"{repository.drift.code}: {repository.drift.message}", style="red")))
    return _fields(rows)


def _policy(repository: Repository) -> dict[str, Any]:
    policy = repository.lifecycle_policy
    return {"untagged_days": policy.untagged_expiry_days, "max_images": policy.max_image_count}


def repositories_table(repositories: list[Repository]) -> Table:
    count = len(repositories)
    table = Table(caption=f"{count} repositor{'y' if count == 1 else 'ies'}", caption_justify="left")
    for column in ("NAME", "ENVIRONMENT", "STACK STATUS", "MUTABILITY", "SCAN"):
        table.add_column(column, no_wrap=column != "NAME", overflow="fold")
    table.add_column("URI", overflow="fold")
    for item in repositories:
        table.add_row(
            Text(item.name),
            Text(item.environment),
            Text(item.stack_status, style=stack_style(item.stack_status)),
            Text(item.image_tag_mutability),
            Text("yes" if item.image_scanning else "no"),
            Text(item.repository_uri),
        )
    return table


def operation_table(operation: Operation) -> Table:
    rows: list[tuple[str, Any]] = [
        ("Operation", operation.operation_id),
        ("Action", operation.action),
        ("Status", Text(operation.status, style=STATUS_STYLES.get(operation.status, ""))),
        ("Repository", operation.repository_name),
        ("Environment", operation.environment),
        ("Started", _when(operation.started_at)),
        ("Stopped", _when(operation.stopped_at)),
    ]
    if operation.repository is not None:
        rows.append(("URI", operation.repository.repository_uri))
        rows.append(("Stack status", operation.repository.stack_status))
    if operation.error is not None:
        rows.append(("Error", Text(f"{operation.error.code}: {operation.error.message}", style="red")))
    return _fields(rows)


def lifecycle_table(view: LifecyclePolicyView) -> Table:
    rows: list[tuple[str, Any]] = [
        ("Untagged expiry", f"{view.untagged_expiry_days} days"),
        ("Max images", view.max_image_count if view.max_image_count is not None else "-"),
        ("Policy (live)", json.dumps(json.loads(view.policy_text), indent=2) if view.policy_text else "-"),
    ]
    return _fields(rows)


def token_table(token: AuthToken) -> Table:
    rows: list[tuple[str, Any]] = [
        ("Username", token.username),
        ("Password", token.password),
        ("Proxy endpoint", token.proxy_endpoint),
        ("Expires", _when(token.expires_at)),
    ]
    return _fields(rows)


class Output:
    """stdout for results (a table, or the API's JSON), stderr for progress and errors."""

    def __init__(self, fmt: str | None, out: Console | None = None, err: Console | None = None) -> None:
        self.out = out or Console(soft_wrap=False)
        self.err = err or Console(stderr=True, highlight=False, soft_wrap=True)  # an error is one line
        self.format = fmt or ("table" if self.out.is_terminal else "json")

    def result(self, value: ApiModel | dict[str, Any], table: Table | None) -> None:
        if self.format == "json" or table is None:
            data = value.to_api() if isinstance(value, ApiModel) else value
            self.out.file.write(json.dumps(data, indent=2) + "\n")
            self.out.file.flush()
        else:
            self.out.print(table)

    def error(self, code: str, message: str, details: list[str] | None = None) -> None:
        self.err.print(Text.assemble(("error", "bold red"), f": {code}: {message}"))
        for line in details or []:
            self.err.print(Text(f"  {line}"))  # Text: a pattern's [a-z0-9] is not markup

    def hint(self, text: str) -> None:
        """A line for a person at a terminal; scripts don't see it."""
        if self.err.is_terminal:
            self.err.print(Text(text, style="dim"))

    @contextmanager
    def progress(self, title: str) -> Iterator[ProgressDisplay | None]:
        """A live display of a wait on a terminal (stderr): a spinner, the stack's status and the
        elapsed time, and a line for each change. Nothing when stderr is not a terminal."""
        if not self.err.is_terminal:
            yield None
            return
        columns = (SpinnerColumn(), TextColumn("{task.description}", markup=False), TimeElapsedColumn())
        with RichProgress(*columns, console=self.err, transient=True) as bar:
            yield ProgressDisplay(bar, bar.add_task(title, total=None), title)


class ProgressDisplay:
    """Called by the waiter whenever the operation's or its stack's status changes."""

    def __init__(self, bar: RichProgress, task: TaskID, title: str) -> None:
        self.bar = bar
        self.task = task
        self.title = title

    def __call__(self, progress: Progress) -> None:
        operation = progress.operation
        stack = progress.stack_status or "-"
        self.bar.console.print(
            Text.assemble(
                (f"{progress.elapsed:6.1f}s  ", "dim"),
                (operation.status, STATUS_STYLES.get(operation.status, "")),
                "  stack ",
                (stack, stack_style(stack) if progress.stack_status else "dim"),
            )
        )
        self.bar.update(self.task, description=f"{self.title}  stack {stack}")
