"""A handler's import stays light: what was moved off it stays off it.

No timings here (bench/package.py measures them); these tests check which modules a fresh
process has loaded after importing each handler of template.yaml, with Lambda's variables set.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import TEST_ENVIRONMENT
from tests.deployment import ROOT, functions, load_template

# The X-Ray SDK is not shipped (Lambda's active tracing traces the functions); boto3, botocore's
# session and clients, and s3transfer are imported on first use (agentcore_ecr/aws/clients.py).
OFF_THE_IMPORT_PATH = ("aws_xray_sdk", "boto3", "botocore.session", "botocore.client", "s3transfer")

PROBE = """
import importlib, json, sys
found = {}
for module in sys.argv[2:]:
    importlib.import_module(module)
    found[module] = sorted(name for name in sys.argv[1].split(",") if name in sys.modules)
print(json.dumps(found))
"""


def handler_modules() -> list[str]:
    return sorted({handler.rsplit(".", 1)[0] for handler in functions(load_template()).values()})


def test_every_handler_imports_without_the_sdk_or_xray() -> None:
    modules = handler_modules()
    assert modules
    environment = {
        **TEST_ENVIRONMENT,
        "PATH": "/usr/bin:/bin",
        "AWS_LAMBDA_FUNCTION_NAME": "ColdImportProbe",  # as in Lambda, where a Tracer would be on
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(OFF_THE_IMPORT_PATH), *modules],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded: dict[str, list[str]] = json.loads(done.stdout)
    # Imported one after another: the first handler that pulls a module in is the one named.
    assert loaded == {module: [] for module in modules}


def test_boto3_comes_from_the_runtime_and_is_pinned_for_development() -> None:
    def requirements(path: str) -> list[str]:
        lines = (ROOT / path).read_text().lower().splitlines()
        return [line for line in lines if line.strip() and not line.startswith("#")]

    shipped = requirements("functions/requirements.txt")
    for package in ("boto3", "botocore", "aws-xray-sdk", "[tracer]"):
        assert not [line for line in shipped if package in line]
    assert [line for line in requirements("requirements-dev.txt") if line.startswith("boto3==")]
