"""What `sam build` ships per function, zipped: `python -m bench.artifact`.

Every function of template.yaml has `CodeUri: functions/` (Globals), so `sam build` makes the
same directory for each, `.aws-sam/build/<Function>/`: the code and functions/requirements.txt
installed for Lambda's python3.13 on arm64. Each directory is zipped here in memory as
`sam deploy` uploads it (zipfile's ZIP_DEFLATED at zlib's default level, 6), and its unpacked
size is the sum of its files. The build is made (`make build`) when it is missing or older than
the code, the requirements or the template.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import zipfile
from pathlib import Path
from typing import Any

from local.template import LocalTemplate, load

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / ".aws-sam" / "build"
GOAL_BYTES = 5 * 1000 * 1000  # 5 MB
MB = 1000 * 1000
BUILD_TIMEOUT_SECONDS = 900.0
SDK_PACKAGES = ("boto3", "botocore", "s3transfer", "aws_xray_sdk")
SAME = "one artifact: every function has CodeUri functions/, and the same files"


def newest_source() -> float:
    sources = [ROOT / "template.yaml", *(path for path in (ROOT / "functions").rglob("*") if path.is_file())]
    return max(path.stat().st_mtime for path in sources if "__pycache__" not in path.parts)


def ensure_build(functions: list[str]) -> str:
    """'reused' or 'built'; raises when `make build` fails or makes no directory for a function."""
    dirs = [BUILD / name for name in functions]
    if all(path.is_dir() for path in dirs) and min(path.stat().st_mtime for path in dirs) >= newest_source():
        return "reused"
    done = subprocess.run(
        ["make", "build"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_SECONDS,
        check=False,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
    )
    missing = [path.name for path in dirs if not path.is_dir()]
    if done.returncode != 0 or missing:
        raise RuntimeError(f"make build failed ({done.returncode}, missing {missing}): {done.stdout[-2000:]}")
    return "built"


def zipped(directory: Path) -> dict[str, Any]:
    buffer = io.BytesIO()
    digest = hashlib.sha256()
    unpacked = 0
    files = 0
    top: dict[str, int] = {}
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if not path.is_file():
                continue
            relative = path.relative_to(directory).as_posix()
            data = path.read_bytes()
            archive.writestr(relative, data)
            digest.update(relative.encode() + b"\0" + hashlib.sha256(data).digest())
            unpacked += len(data)
            files += 1
            head = relative.split("/", 1)[0]
            top[head] = top.get(head, 0) + len(data)
    largest = sorted(top.items(), key=lambda item: -item[1])[:6]
    return {
        "zipped_bytes": len(buffer.getvalue()),
        "zipped_mb": round(len(buffer.getvalue()) / MB, 2),
        "unpacked_bytes": unpacked,
        "unpacked_mb": round(unpacked / MB, 2),
        "files": files,
        "sdk_shipped": sorted(name for name in SDK_PACKAGES if name in top),
        "largest_unpacked_mb": {name: round(size / MB, 2) for name, size in largest},
        "sha256": digest.hexdigest(),
    }


def measure() -> dict[str, Any]:
    functions = sorted(LocalTemplate(load(ROOT / "template.yaml")).functions())
    build = ensure_build(functions)
    items = {name: zipped(BUILD / name) for name in functions}
    worst = max(items, key=lambda name: items[name]["zipped_bytes"])
    size = items[worst]["zipped_bytes"]
    one_artifact = len({item["sha256"] for item in items.values()}) == 1
    shipped = items[worst]["sdk_shipped"]
    return {
        "what": "zipped size of what sam build ships per function (.aws-sam/build/<Function>/)",
        "floor": None,
        "value": round(size / MB, 2),
        "unit": "MB zipped (10^6 bytes; ZIP_DEFLATED, zlib default level 6)",
        "ratio": None,
        "goal": "<= 5 MB zipped, boto3 and botocore counted if shipped",
        "met": size <= GOAL_BYTES,
        "note": (
            f"{SAME if one_artifact else 'the functions ship different files'} ({len(functions)} "
            f"functions); largest {worst}: {items[worst]['zipped_mb']} MB zipped, "
            f"{items[worst]['unpacked_mb']} MB unpacked, {items[worst]['files']} files; "
            f"SDK shipped: {', '.join(shipped) or 'none (boto3 and botocore come from the runtime)'}; "
            f"build {build}"
        ),
        "items": items,
    }


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
