"""bench/results.json: the machine, the date, and each figure against its floor.

Pure functions only (no stack, no AWS): the summaries of a series, the figure dicts and their
goals, the machine's description and the document written to results.json, and the table of
figures for results.md. tests/unit/test_bench.py tests them.

Every figure has one shape (bench/coldstart.py and bench/artifact.py make theirs alike):

    {"what": str, "floor": {"what": str, "value": float, "unit": str} | None,
     "value": float | None, "unit": str, "ratio": float | None, "goal": str,
     "met": bool | None, "note": str, "items": {...}}

`met` is None when nothing was measured (a skipped figure) or when the goal is only "stated".
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import re
import statistics
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

FIGURE_KEYS = ("what", "floor", "value", "unit", "ratio", "goal", "met", "note", "items")
FLOOR_KEYS = ("what", "value", "unit")
# The order of the figures in results.json and in the table: the order.
ORDER = (
    "coldstart",
    "latency",
    "list_scale",
    "admission",
    "provisioning",
    "throughput",
    "artifact",
    "seed",
    "readiness",
)

Figure = dict[str, Any]


# Series ----------------------------------------------------------------------------------------


def percentile(samples: Sequence[float], p: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least p% of the samples at or below it."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summary(
    samples: Sequence[float], scale: float = 1000.0, digits: int = 1, tail: int = 95
) -> dict[str, Any]:
    """n, p50 (the median), the `tail` percentile (nearest rank; p95 by default), min and max, in
    seconds times `scale` (ms by default)."""
    key = f"p{tail}"
    if not samples:
        return {"n": 0, "p50": None, key: None, "min": None, "max": None}
    return {
        "n": len(samples),
        "p50": round(statistics.median(samples) * scale, digits),
        key: round(percentile(samples, tail) * scale, digits),
        "min": round(min(samples) * scale, digits),
        "max": round(max(samples) * scale, digits),
    }


def ratio(value: float | None, floor: float | None, digits: int = 3) -> float | None:
    """value / floor, rounded; None when either is missing or the floor is not positive."""
    if value is None or floor is None or floor <= 0:
        return None
    return round(value / floor, digits)


def at_most(limit: float) -> Callable[[float | None], bool | None]:
    """A goal `x <= limit`: None when x is unknown."""

    def check(value: float | None) -> bool | None:
        return None if value is None else value <= limit

    return check


def all_met(results: Sequence[bool | None]) -> bool | None:
    """False if any part missed its goal; True if every part met it; None if a part is unknown."""
    if any(result is False for result in results):
        return False
    if not results or any(result is None for result in results):
        return None
    return True


# Figures ---------------------------------------------------------------------------------------


def floor_of(what: str, value: float | None, unit: str, **extra: Any) -> dict[str, Any]:
    return {"what": what, "value": value, "unit": unit, **extra}


def figure(
    what: str,
    floor: Mapping[str, Any] | None,
    value: float | None,
    unit: str,
    ratio: float | None,
    goal: str,
    met: bool | None,
    note: str = "",
    items: Mapping[str, Any] | None = None,
) -> Figure:
    return {
        "what": what,
        "floor": dict(floor) if floor is not None else None,
        "value": value,
        "unit": unit,
        "ratio": ratio,
        "goal": goal,
        "met": met,
        "note": note,
        "items": dict(items or {}),
    }


def skipped(what: str, unit: str, goal: str, why: str, items: Mapping[str, Any] | None = None) -> Figure:
    """A figure that could not be measured on this run, and why."""
    return figure(what, None, None, unit, None, goal, None, f"skipped: {why}", items)


def failed(what: str, goal: str, error: BaseException) -> Figure:
    """A figure whose measurement raised: the run goes on, the figure says what happened."""
    return figure(what, None, None, "", None, goal, None, f"failed: {type(error).__name__}: {error}")


def check_shape(name: str, candidate: object) -> Figure:
    """The figure, if it has the shape results.json promises; ValueError naming what is wrong."""
    if not isinstance(candidate, dict):
        raise ValueError(f"{name}: a figure is a dict, not {type(candidate).__name__}")
    missing = [key for key in FIGURE_KEYS if key not in candidate]
    if missing:
        raise ValueError(f"{name}: missing {', '.join(missing)}")
    floor = candidate["floor"]
    if floor is not None and (not isinstance(floor, dict) or any(key not in floor for key in FLOOR_KEYS)):
        raise ValueError(f"{name}: floor must be null or have {', '.join(FLOOR_KEYS)}")
    if candidate["met"] not in (True, False, None):
        raise ValueError(f"{name}: met must be true, false or null")
    if not isinstance(candidate["items"], dict):
        raise ValueError(f"{name}: items must be a dict")
    return candidate


# The machine and the document -----------------------------------------------------------------


def _first(pattern: str, text: str) -> str | None:
    found = re.search(pattern, text, re.MULTILINE)
    return found.group(1).strip() if found else None


def machine(cpuinfo: str | None = None, meminfo: str | None = None) -> dict[str, Any]:
    """CPU count and model, memory, Python version and platform of this machine."""
    if cpuinfo is None:
        cpuinfo = _read("/proc/cpuinfo")
    if meminfo is None:
        meminfo = _read("/proc/meminfo")
    memory_kib = _first(r"^MemTotal:\s+(\d+)\s+kB", meminfo)
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(affinity) if affinity is not None else os.cpu_count(),
        "cpu_model": _first(r"^model name\s*:\s*(.+)$", cpuinfo) or platform.processor() or None,
        "memory_mib": round(int(memory_kib) / 1024) if memory_kib else None,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
    }


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def ordered(figures: Mapping[str, Figure]) -> dict[str, Figure]:
    """The figures in the issue's order, any others after them."""
    keys = [key for key in ORDER if key in figures] + sorted(key for key in figures if key not in ORDER)
    return {key: figures[key] for key in keys}


def document(
    figures: Mapping[str, Figure],
    started: dt.datetime,
    seconds: float,
    quick: bool,
    command: str,
    host: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What results.json holds."""
    checked = {name: check_shape(name, value) for name, value in ordered(figures).items()}
    return {
        "date": started.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": dict(host) if host is not None else machine(),
        "command": command,
        "quick": quick,
        "run_seconds": round(seconds, 1),
        "figures": checked,
    }


def dumps(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def merged(
    doc: Mapping[str, Any],
    figures: Mapping[str, Figure],
    started: dt.datetime,
    seconds: float,
    command: str,
) -> dict[str, Any]:
    """A results.json document with `figures` measured apart from its run (BENCH_ONLY=...): those
    replace the document's figures of the same keys, every other figure stays as it was, and
    `measured_apart` says when and how each of them was measured."""
    updated = {**doc.get("figures", {}), **figures}
    checked = {name: check_shape(name, value) for name, value in ordered(updated).items()}
    apart = dict(doc.get("measured_apart", {}))
    when = {
        "date": started.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": command,
        "run_seconds": round(seconds, 1),
    }
    apart.update(dict.fromkeys(figures, when))
    return {**doc, "figures": checked, "measured_apart": {key: apart[key] for key in ordered(apart)}}


# The table in results.md ----------------------------------------------------------------------


def _number(value: object, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        text = f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 10 else f"{value:,.1f}"
    elif isinstance(value, int):
        text = f"{value:,}"
    else:
        text = str(value)
    return f"{text} {unit}".strip()


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def met_mark(met: bool | None) -> str:
    return {True: "met", False: "**missed**", None: "-"}[met]


def apart_note(measured_apart: Mapping[str, Mapping[str, Any]]) -> str:
    """The line under the table for figures measured apart from the run (empty when none were)."""
    if not measured_apart:
        return ""
    return (
        "Measured apart from the run above: "
        + "; ".join(
            f"`{key}` on {when.get('date')} with `{when.get('command')}` ({when.get('run_seconds')} s)"
            for key, when in measured_apart.items()
        )
        + "."
    )


TABLE_HEADER = "| key | value | floor | ratio | goal | met | note |"


def replace_figures_table(markdown: str, table: str, note: str = "") -> str:
    """results.md with its table of figures (and whatever followed it to the next heading) replaced."""
    start = markdown.find(TABLE_HEADER)
    if start < 0:
        raise ValueError("results.md has no table of figures")
    end = markdown.find("\n#", start)
    rest = markdown[end:] if end >= 0 else "\n"
    section = table + (f"\n\n{note}" if note else "")
    return markdown[:start] + section + ("\n" + rest if end >= 0 else rest)


def figures_table(figures: Mapping[str, Figure]) -> str:
    """One row a figure: its value against its floor, the ratio, the goal and whether it is met."""
    lines = [
        TABLE_HEADER,
        "|---|---:|---|---:|---|---|---|",
    ]
    for name, item in ordered(figures).items():
        floor = item.get("floor")
        floor_text = (
            f"{_number(floor.get('value'), str(floor.get('unit', '')))}: {floor.get('what', '')}"
            if isinstance(floor, dict)
            else "-"
        )
        lines.append(
            "| "
            + " | ".join(
                _cell(cell)
                for cell in (
                    f"`{name}`",
                    _number(item.get("value"), str(item.get("unit", ""))),
                    floor_text,
                    _number(item.get("ratio")),
                    str(item.get("goal", "")),
                    met_mark(item.get("met")),
                    str(item.get("note", "")),
                )
            )
            + " |"
        )
    return "\n".join(lines)
