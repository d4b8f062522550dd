"""Each function's settings: what its handler needs is what template.yaml gives it, and a setting
that is missing or invalid fails the cold start (the handler's import), naming the variable."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from typing import Any

import pytest

from agentcore_ecr import config
from tests.conftest import TEST_ENVIRONMENT
from tests.deployment import ROOT, functions, load_template

PROBE = """
import importlib, json, os, sys
found = []
for module, variable in json.loads(sys.argv[1]):
    value = os.environ.pop(variable)
    try:
        importlib.import_module(module)
    except Exception as error:
        found.append([module, variable, type(error).__name__, str(error)])
    else:
        found.append([module, variable, None, ""])
    os.environ[variable] = value
print(json.dumps(found))
"""


def source_path() -> dict[str, str]:
    """PYTHONPATH as this process has it, so the probe imports the same code."""
    return {"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}


def needs_of(handler: str) -> set[str]:
    """The variables a handler checks at import (its module's NEEDS)."""
    module = importlib.import_module(handler.rsplit(".", 1)[0])
    return {variable for need in module.NEEDS for variable in need.variables()}


def environments() -> dict[str, tuple[str, set[str], set[str]]]:
    """Logical id -> (handler, the variables of Globals, the function's own variables)."""
    template = load_template()
    globals_ = set(template["Globals"]["Function"]["Environment"]["Variables"])
    resources: dict[str, Any] = template["Resources"]
    return {
        logical_id: (
            handler,
            globals_,
            set(resources[logical_id]["Properties"].get("Environment", {}).get("Variables", {})),
        )
        for logical_id, handler in functions(template).items()
    }


def test_every_function_is_given_what_its_handler_needs_and_nothing_else_of_its_own() -> None:
    found = environments()
    assert len(found) == 15

    for logical_id, (handler, globals_, own) in found.items():
        needs = needs_of(handler)
        assert needs <= globals_ | own, f"{logical_id} lacks {sorted(needs - globals_ - own)}"
        assert own <= needs, f"{logical_id} is given {sorted(own - needs)}, which its handler does not use"


def test_a_missing_variable_fails_the_handlers_import_and_names_it() -> None:
    pairs = sorted(
        (handler.rsplit(".", 1)[0], variable)
        for handler, _, _ in environments().values()
        for variable in needs_of(handler)
    )
    assert ("agentcore_ecr.handlers.start_stack_change", "CLOUDFORMATION_ROLE_ARN") in pairs

    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(pairs)],
        env={**TEST_ENVIRONMENT, "PATH": "/usr/bin:/bin", **source_path()},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    for module, variable, error, message in json.loads(done.stdout):
        assert error == "SettingsError", f"{module} imported without {variable}"
        assert f"{variable} is not set" in message, message


def test_an_invalid_value_is_named_with_the_reason_and_every_problem_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STACK_POLL_INTERVAL_SECONDS", "-1")
    monkeypatch.setenv("STACK_NAME_PREFIX", "1-not-a-prefix")
    monkeypatch.delenv("CLOUDFORMATION_ROLE_ARN")

    with pytest.raises(config.SettingsError) as failed:
        config.require(config.NamingSettings, config.StackWaitSettings, config.ServiceRoleSettings)

    message = str(failed.value)
    assert "STACK_POLL_INTERVAL_SECONDS='-1' is invalid: Input should be greater than or equal" in message
    assert "STACK_NAME_PREFIX='1-not-a-prefix' is invalid" in message
    assert "CLOUDFORMATION_ROLE_ARN is not set" in message


def test_an_empty_value_is_not_a_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATE_MACHINE_ARN", "")

    with pytest.raises(config.SettingsError, match="STATE_MACHINE_ARN=''"):
        config.load(config.StateMachineSettings)
