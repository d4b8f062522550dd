"""`python -m bench` (`make bench`): measure the figures, write bench/results.json and render
bench/results.md from it; `python -m bench render` renders it alone.

The figures: `latency` (each read route against its AWS calls), `list_scale` (a page of the list
as the account grows), `memory` (each function's largest worker against its MemorySize), all
three from one local stack; `admission` (POST /repositories -> 202 as operations run); `coldstart`
(each handler's import against boto3's) and `artifact` (what is shipped). bench/routes.py and
bench/package.py say how each is measured.

`BENCH_ONLY=key,...` measures the figures named (and those measured on the same stack) and keeps
the others of results.json if they were measured on this machine. `BENCH_QUICK=1` makes a short
pass (fewer requests, smaller levels), which results.md marks as such.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable

from bench import core, package, routes
from bench.core import RESULTS_JSON, RESULTS_MD, Figure


def stages(quick: bool) -> dict[tuple[str, ...], Callable[[], dict[str, Figure]]]:
    """The figures measured together, and what measures them."""
    plan = routes.Plan.of(quick)
    return {
        ("coldstart",): lambda: {"coldstart": package.coldstart(rounds=3 if quick else 7)},
        ("artifact",): lambda: {"artifact": package.artifact()},
        ("latency", "list_scale", "memory"): lambda: routes.reads(plan),
        ("admission",): lambda: routes.admission(plan),
    }


def measure(only: list[str], quick: bool) -> dict[str, dict[str, object]]:
    found: dict[str, dict[str, object]] = {}
    for keys, run in stages(quick).items():
        if not only or set(keys) & set(only):
            found.update(core.record(keys, run, quick))
    return found


def main(arguments: list[str]) -> int:
    if arguments == ["render"]:
        RESULTS_MD.write_text(core.render(json.loads(RESULTS_JSON.read_text())))
        return 0
    if arguments:
        print(f"usage: python -m bench [render]\n\n{__doc__}", file=sys.stderr)
        return 2
    only = [key.strip() for key in os.environ.get("BENCH_ONLY", "").split(",") if key.strip()]
    known = {key for keys in stages(False) for key in keys}
    if unknown := sorted(set(only) - known):
        print(
            f"BENCH_ONLY: no figure {', '.join(unknown)}; the figures: {', '.join(sorted(known))}",
            file=sys.stderr,
        )
        return 2
    quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
    figures = measure(only, quick)
    previous = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() and only else {}
    document = core.merged(previous, figures, core.machine())
    RESULTS_JSON.write_text(core.dumps(document))
    RESULTS_MD.write_text(core.render(document))
    core.say(f"wrote {RESULTS_JSON.name} and {RESULTS_MD.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
