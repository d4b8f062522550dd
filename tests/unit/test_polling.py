"""The wait loop stays far inside Step Functions' execution history, whatever the template's
parameters allow, even when no status event ever comes (the fallback polls to the end).

Step Functions fails a Standard execution whose history reaches 25,000 events (Step Functions
Developer Guide, quotas). The events one poll adds are measured here on a real execution of the
ASL; the number of polls is worked out from the wait schedule (domain/polling.py) at the
template's extreme parameters: the shortest poll interval and the longest timeout.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from local import emulator

from agentcore_ecr.domain.polling import STRETCH, next_wait_seconds
from tests import api_events
from tests.deployment import STACK_STATUS_RULE, Deployment, load_template
from tests.unit.test_workflow import run

HISTORY_LIMIT = 25_000
PHASES = 2  # at most two stack phases wait: CLEANUP or RECOVER then APPLY; EMPTY then DELETE
# (each phase has a few task states besides the check: start, finalize, emit)
PURGES = 20  # batches of 1,000 images deleted directly: ECR's quota is 20,000 images a repository
# Lambda retries: at most 5 + 6 attempts of a task, 3 events each, allowed for on every task state
RETRY_EVENTS_PER_TASK = (5 + 6) * 3


def polls_until(timeout_seconds: float, interval_seconds: int) -> int:
    """Checks of one stack phase until the timeout, checks taking no time (the worst case)."""
    elapsed, polls = 0.0, 0
    wait = interval_seconds  # StartStackChange's first wait is the interval
    while elapsed < timeout_seconds:
        elapsed += wait
        polls += 1
        wait = next_wait_seconds(interval_seconds, elapsed)
    return polls


@pytest.fixture(scope="module")
def limits() -> dict[str, Any]:
    parameters = load_template()["Parameters"]
    return {
        "interval": int(parameters["StackPollIntervalSeconds"]["MinValue"]),
        "timeout": 60 * int(parameters["StackTimeoutMinutes"]["MaxValue"]),
    }


def history_of_a_polled_create(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> list[dict[str, Any]]:
    """A create whose stack takes 3.5 s, with no status event (the rule disabled): polled each second."""
    deployment.events.disable_rule(Name=STACK_STATUS_RULE)
    monkeypatch.setenv("STACK_POLL_INTERVAL_SECONDS", "1")
    deployment.reset_wiring()
    emulator.options.settle_seconds = 3.5
    operation = run(
        deployment, "CreateRepositoryFunction", api_events.create_repository({"name": "team/poll"})
    )
    assert operation["status"] == "SUCCEEDED"
    history: list[dict[str, Any]] = deployment.sfn.get_execution_history(
        executionArn=deployment.execution_arn(operation["operationId"]), maxResults=1000
    )["events"]
    return history


def test_the_history_stays_far_below_the_limit_at_the_extreme_parameters(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, limits: dict[str, Any]
) -> None:
    history = history_of_a_polled_create(deployment, monkeypatch)
    checks = [
        i for i, e in enumerate(history) if e.get("stateEnteredEventDetails", {}).get("name") == "CheckStack"
    ]
    assert len(checks) >= 2, "the stack was polled more than once"
    # Choice (2), AwaitStack task timed out (6), CheckStack task (5)
    per_poll = checks[1] - checks[0]
    fixed = len(history) - per_poll * len(checks)

    # The wait follows the time since the execution started, so a second phase adds one short wait.
    polls = polls_until(limits["timeout"], limits["interval"]) + PHASES
    nominal = polls * per_poll + PURGES * 7 + PHASES * fixed
    every_task_retried_to_the_end = nominal + (polls + PURGES + PHASES * 4) * RETRY_EVENTS_PER_TASK

    assert per_poll == 13
    assert polls < 300, polls
    assert nominal < HISTORY_LIMIT // 5, nominal  # polling to the end: no status event at all
    assert every_task_retried_to_the_end < HISTORY_LIMIT // 2, every_task_retried_to_the_end


def test_without_the_stretch_the_longest_timeout_would_overflow_the_history(limits: dict[str, Any]) -> None:
    # A poll every second for 12 hours: 43,200 polls of 13 events.
    assert limits["timeout"] / limits["interval"] * 13 > HISTORY_LIMIT


@pytest.mark.parametrize(
    ("interval", "elapsed", "wait"),
    [
        pytest.param(10, 0, 10, id="start"),
        pytest.param(10, 299, 10, id="first-5-minutes-at-the-interval"),
        pytest.param(10, 600, 20, id="10-minutes-in"),
        pytest.param(1, 3600, 120, id="an-hour-in"),
        pytest.param(300, 3600, 300, id="long-interval-unchanged"),
    ],
)
def test_the_wait_is_the_interval_or_a_thirtieth_of_the_time_elapsed(
    interval: int, elapsed: float, wait: int
) -> None:
    assert STRETCH == 30
    assert next_wait_seconds(interval, elapsed) == wait


def test_the_check_returns_the_stretched_wait(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    history = history_of_a_polled_create(deployment, monkeypatch)
    waits = [
        json.loads(e["stateEnteredEventDetails"]["input"])["check"]["value"]["waitSeconds"]
        for e in history
        if e.get("stateEnteredEventDetails", {}).get("name") == "AwaitStack"
    ]

    assert len(waits) >= 2, "the loop went round"
    assert waits == [1] * len(waits)
    assert math.ceil(3600 / STRETCH) == next_wait_seconds(1, 3600)
