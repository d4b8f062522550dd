"""The figures of what Lambda loads, measured without a stack: `coldstart` and `artifact`.

coldstart: per function of template.yaml, a fresh Python process with the environment Lambda
gives that function (the template's variables, resolved as the local stack resolves them, and
Lambda's own) imports its handler module, which builds what it builds at import. The child
times the import itself (the interpreter's start-up is the same for every process and is left
out). The floor is a fresh process that imports boto3 and makes one client, timed alike. Each
round runs the floor and every function once in a shuffled order, so that the machine's load
falls on all alike; each figure is the median of its rounds. The handlers import boto3 on first
use, so the import leaves out what a first invocation pays for it: `with SDK` adds the floor's
work, timed in the same process after the import.

artifact: every function has `CodeUri: functions/`, so `sam build` makes the same directory for
each (`.aws-sam/build/<Function>/`); each is zipped in memory as `sam deploy` uploads it (deflate,
zlib's default level). The build is made (`make build`) when it is missing or older than the code.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import statistics
import subprocess
import sys
import zipfile
from pathlib import Path

from local.template import REGION, LocalTemplate, load

from bench.core import Cell, Figure, Floor, at_most

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / ".aws-sam" / "build"
COLDSTART_GOAL = 1.25  # the worst function's import over the floor
ARTIFACT_GOAL_MB = 5.0
MB = 1000 * 1000
SDK_PACKAGES = ("boto3", "botocore", "s3transfer", "aws_xray_sdk")
FLOOR_CODE = 'import boto3\nboto3.client("ecr", region_name="us-east-1")\n'
CHILD = """
import json, sys, time
began = time.perf_counter()
exec(compile(sys.argv[1], "<measured>", "exec"))
measured = time.perf_counter() - began
began = time.perf_counter()
exec(compile(sys.argv[2], "<then>", "exec"))
print(json.dumps([measured, time.perf_counter() - began]))
"""


def template() -> LocalTemplate:
    return LocalTemplate(load(ROOT / "template.yaml"))


def lambda_environment(source: LocalTemplate | None = None, logical_id: str | None = None) -> dict[str, str]:
    """What Lambda sets for the function (as local/stack.py does, without the local endpoint and
    credentials); with no function, what every process gets (the floor's): nothing of this shell's."""
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **{key: "testing" for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")},
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if source is None or logical_id is None:
        return environment
    settings = source.properties(logical_id)
    logging_config = settings.get("LoggingConfig", {})
    environment |= {
        **source.function_environment(logical_id),
        "AWS_LAMBDA_FUNCTION_NAME": logical_id,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(settings.get("MemorySize", 128)),
        "AWS_LAMBDA_LOG_FORMAT": str(logging_config.get("LogFormat", "Text")),
        "AWS_LAMBDA_LOG_GROUP_NAME": str(logging_config.get("LogGroup", f"/aws/lambda/{logical_id}")),
    }
    if logging_config.get("LogFormat") == "JSON":
        environment["AWS_LAMBDA_LOG_LEVEL"] = str(logging_config.get("ApplicationLogLevel", "INFO"))
    return environment


def run_child(code: str, environment: dict[str, str], then: str) -> tuple[float, float]:
    """Seconds of `code` in a fresh process, then of `then` in the same process."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, code, then],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the measured process failed ({done.returncode}): {done.stderr[-2000:]}")
    measured, after = json.loads(done.stdout.strip().splitlines()[-1])
    return float(measured), float(after)


def coldstart(rounds: int) -> Figure:
    source = template()
    handlers = {
        name: str(source.properties(name)["Handler"]).rsplit(".", 1)[0] for name in source.functions()
    }
    jobs = {"floor": (FLOOR_CODE, lambda_environment(), "")}
    for name, module in sorted(handlers.items()):
        jobs[name] = (f"import {module}\n", lambda_environment(source, name), FLOOR_CODE)
    for code, environment, then in jobs.values():  # once, not counted: bytecode compiled, pages cached
        run_child(code, {**environment, "PYTHONDONTWRITEBYTECODE": "0"}, then)
    imports: dict[str, list[float]] = {name: [] for name in jobs}
    with_sdk: dict[str, list[float]] = {name: [] for name in jobs}
    order = list(jobs)
    for _ in range(rounds):
        random.shuffle(order)
        for name in order:
            measured, after = run_child(*jobs[name])
            imports[name].append(measured * 1000)
            with_sdk[name].append((measured + after) * 1000)
    floor = statistics.median(imports.pop("floor"))
    median = {name: statistics.median(samples) for name, samples in imports.items()}
    rows: list[dict[str, Cell]] = [
        {
            "function": name,
            "handler": handlers[name],
            "import ms": round(median[name], 1),
            "ratio": round(median[name] / floor, 3),
            "with SDK ms": round(statistics.median(with_sdk[name]), 1),
            "with SDK ratio": round(statistics.median(with_sdk[name]) / floor, 3),
        }
        for name in sorted(median)
    ]
    worst = max(median, key=lambda name: median[name])
    return Figure(
        f"per function, a fresh process importing its handler with Lambda's environment for it; the "
        f"slowest function's median of {rounds} rounds ({worst})",
        round(median[worst], 1),
        "ms",
        f"worst ratio <= {COLDSTART_GOAL}",
        at_most(median[worst] / floor, COLDSTART_GOAL),
        Floor('a fresh process running `import boto3; boto3.client("ecr")`, median', round(floor, 1)),
        f"Python {sys.version.split()[0]}; `with SDK` adds, in the same process, the "
        "floor's work, which a handler defers to its first invocation",
        rows,
    )


def newest_source() -> float:
    sources = [ROOT / "template.yaml", *(path for path in (ROOT / "functions").rglob("*") if path.is_file())]
    return max(path.stat().st_mtime for path in sources if "__pycache__" not in path.parts)


def ensure_build(functions: list[str]) -> str:
    """'reused' or 'built'; raises when `make build` fails or makes no directory for a function."""
    dirs = [BUILD / name for name in functions]
    if all(path.is_dir() for path in dirs) and min(path.stat().st_mtime for path in dirs) >= newest_source():
        return "reused"
    done = subprocess.run(
        ["make", "build"], cwd=ROOT, capture_output=True, text=True, timeout=900, check=False
    )
    missing = [path.name for path in dirs if not path.is_dir()]
    if done.returncode != 0 or missing:
        raise RuntimeError(f"make build failed ({done.returncode}, missing {missing}): {done.stdout[-2000:]}")
    return "built"


def zipped(directory: Path) -> dict[str, Cell]:
    buffer, digest = io.BytesIO(), hashlib.sha256()
    unpacked = files = 0
    tops: set[str] = set()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(item for item in directory.rglob("*") if item.is_file()):
            relative, data = path.relative_to(directory).as_posix(), path.read_bytes()
            archive.writestr(relative, data)
            digest.update(relative.encode() + b"\0" + hashlib.sha256(data).digest())
            unpacked, files = unpacked + len(data), files + 1
            tops.add(relative.split("/", 1)[0])
    return {
        "zipped MB": round(len(buffer.getvalue()) / MB, 2),
        "unpacked MB": round(unpacked / MB, 2),
        "files": files,
        "SDK shipped": ", ".join(name for name in SDK_PACKAGES if name in tops) or "none",
        "sha256": digest.hexdigest()[:12],
    }


def artifact() -> Figure:
    functions = sorted(template().functions())
    build = ensure_build(functions)
    artifacts: dict[str, dict[str, Cell]] = {}  # by content: every function ships the same one
    for name in functions:
        found = zipped(BUILD / name)
        same = artifacts.setdefault(str(found["sha256"]), {"functions": 0, **found})
        same["functions"] = int(same["functions"] or 0) + 1
    largest = max(float(item["zipped MB"] or 0) for item in artifacts.values())
    return Figure(
        f"zipped size of what `sam build` ships per function ({len(functions)} functions), the largest",
        largest,
        "MB",
        f"<= {ARTIFACT_GOAL_MB:g} MB zipped, boto3 and botocore counted if shipped",
        at_most(largest, ARTIFACT_GOAL_MB),
        note=f"{len(artifacts)} distinct artifact(s); build {build}; MB are 10^6 bytes",
        rows=list(artifacts.values()),
    )
