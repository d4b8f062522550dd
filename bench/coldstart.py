"""Cold import of each function's handler against a floor: `python -m bench.coldstart`.

Per function of template.yaml: a fresh Python process (this interpreter, the project's .venv)
with the environment Lambda gives that function (the template's variables, resolved as the local
stack resolves them, and Lambda's own: region, function name, memory, log format and level,
dummy credentials) imports its handler module, which builds what it builds at import (the
Powertools resolver, Logger, Metrics). The child times the import itself with `perf_counter`
(the interpreter's own start-up is the same for every process and is left out).

The floor: a fresh process, same interpreter and Lambda variables, that runs `import boto3` and
creates one client (`boto3.client("ecr", region_name="us-east-1")`), timed the same way. Every
round runs the floor and every function once, in a shuffled order, so that the load of the
machine falls on both alike; each figure is the median of its rounds, and a function's ratio is
its median over the floor's median.

The handlers import boto3 on first use (agentcore_ecr/aws/clients.py), so the import leaves out
what a first invocation then pays for the SDK. `with_sdk_ms` says it: in the same process, after
the import, the floor's own work (import boto3 + one client) is timed too, and added.

Where the time goes: `python -X importtime -c "import agentcore_ecr.handlers.create_repository"`
(with POWERTOOLS_SERVICE_NAME set), or `.venv/bin/pyinstrument -c "import ..."`.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from local.template import REGION, LocalTemplate, load

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 7
GOAL = 1.25
CHILD_TIMEOUT_SECONDS = 60.0
# Modules a handler should not pull in at import: their presence is reported per function.
WATCHED = ("aws_xray_sdk", "boto3", "botocore", "pydantic", "aws_lambda_powertools.event_handler")

FLOOR_CODE = 'import boto3\nboto3.client("ecr", region_name="us-east-1")\n'
CHILD = """
import sys, time
began = time.perf_counter()
exec(compile(sys.argv[1], "<measured>", "exec"))
elapsed = time.perf_counter() - began
loaded = [name for name in sys.argv[3].split(",") if name in sys.modules]
modules = len(sys.modules)
began = time.perf_counter()
exec(compile(sys.argv[2], "<then>", "exec"))
then = time.perf_counter() - began
import json
print(json.dumps({"ms": elapsed * 1000, "then_ms": then * 1000, "modules": modules, "loaded": loaded}))
"""


def lambda_environment(template: LocalTemplate, logical_id: str) -> dict[str, str]:
    """What Lambda sets for the function (as local/stack.py `_function_spec` does, without the
    local stack's own endpoint and credentials)."""
    settings = template.properties(logical_id)
    logging_config = settings.get("LoggingConfig", {})
    environment = {
        **template.function_environment(logical_id),
        **base_environment(),
        "AWS_LAMBDA_FUNCTION_NAME": logical_id,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(settings.get("MemorySize", 128)),
        "AWS_LAMBDA_LOG_FORMAT": str(logging_config.get("LogFormat", "Text")),
        "AWS_LAMBDA_LOG_GROUP_NAME": str(logging_config.get("LogGroup", f"/aws/lambda/{logical_id}")),
    }
    if logging_config.get("LogFormat") == "JSON":
        environment["AWS_LAMBDA_LOG_LEVEL"] = str(logging_config.get("ApplicationLogLevel", "INFO"))
    return environment


def base_environment() -> dict[str, str]:
    """Every process gets these (the floor too): no variable of this shell leaks in."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def run_child(code: str, environment: dict[str, str], then: str = "") -> dict[str, Any]:
    """Run `code` in a fresh process and time it, then `then` (timed apart, in the same process)."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, code, then, ",".join(WATCHED)],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the measured process failed ({done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def handler_module(template: LocalTemplate, logical_id: str) -> str:
    return str(template.properties(logical_id)["Handler"]).rsplit(".", 1)[0]


def measure(rounds: int = ROUNDS) -> dict[str, Any]:
    template = LocalTemplate(load(ROOT / "template.yaml"))
    functions = sorted(template.functions())
    jobs: dict[str, tuple[str, dict[str, str], str]] = {"floor": (FLOOR_CODE, base_environment(), "")}
    for logical_id in functions:
        module = handler_module(template, logical_id)
        jobs[logical_id] = (f"import {module}\n", lambda_environment(template, logical_id), FLOOR_CODE)
    for code, environment, then in jobs.values():  # once, unmeasured: bytecode compiled, page cache warm
        run_child(code, {**environment, "PYTHONDONTWRITEBYTECODE": "0"}, then)
    samples: dict[str, list[float]] = {name: [] for name in jobs}
    with_sdk: dict[str, list[float]] = {name: [] for name in jobs}
    last: dict[str, dict[str, Any]] = {}
    order = list(jobs)
    for _ in range(rounds):
        random.shuffle(order)
        for name in order:
            code, environment, then = jobs[name]
            last[name] = run_child(code, environment, then)
            samples[name].append(last[name]["ms"])
            with_sdk[name].append(last[name]["ms"] + last[name]["then_ms"])
    floor_ms = statistics.median(samples["floor"])
    items: dict[str, Any] = {}
    for logical_id in functions:
        median = statistics.median(samples[logical_id])
        items[logical_id] = {
            "handler": handler_module(template, logical_id),
            "import_ms": round(median, 1),
            "min_ms": round(min(samples[logical_id]), 1),
            "max_ms": round(max(samples[logical_id]), 1),
            "ratio": round(median / floor_ms, 3),
            "with_sdk_ms": round(statistics.median(with_sdk[logical_id]), 1),
            "with_sdk_ratio": round(statistics.median(with_sdk[logical_id]) / floor_ms, 3),
            "modules": last[logical_id]["modules"],
            "loaded": last[logical_id]["loaded"],
        }
    worst = max(items, key=lambda name: items[name]["ratio"])
    ratio = items[worst]["ratio"]
    return {
        "what": "per function of template.yaml: a fresh process importing its handler module "
        "(and building what it builds at import), median import time",
        "floor": {
            "what": 'a fresh process: import boto3 + boto3.client("ecr", region_name="us-east-1")',
            "value": round(floor_ms, 1),
            "unit": "ms",
            "min_ms": round(min(samples["floor"]), 1),
            "max_ms": round(max(samples["floor"]), 1),
            "modules": last["floor"]["modules"],
        },
        "value": ratio,
        "unit": "ratio (function / floor)",
        "ratio": ratio,
        "goal": f"worst ratio <= {GOAL}",
        "met": ratio <= GOAL,
        "note": f"worst: {worst} ({items[worst]['import_ms']} ms); worst with_sdk_ratio "
        f"{max(item['with_sdk_ratio'] for item in items.values())} (the import, then in the same process "
        "the floor's own work, import boto3 + one client, which a handler defers to its first "
        f"invocation); median of {rounds} rounds, each "
        f"running the floor and every function once in a shuffled order; {Path(sys.executable).name} "
        f"{sys.version.split()[0]}; the import timed in the child with perf_counter (interpreter "
        "start-up left out); Lambda's environment for each function, from template.yaml",
        "items": items,
    }


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
