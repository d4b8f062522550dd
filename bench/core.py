"""The one way `make bench` times, repeats and records a measurement, and renders the record.

A measurement is a `Figure`: a value in a unit, against a floor where there is one (what the same
work costs when nothing of the service stands in the way) and a goal. `record` runs the function
that measures one figure, stamps it with the date, how long it took and whether the pass was
quick, and keeps a figure that failed as one that says why. bench/results.json holds the figures
and the machine they were measured on; bench/results.md is `render(results.json)` and nothing
else (a test checks it), so the figures are written in one place.

Timing: `series` runs one or more samplers in rounds (the order alternating, so that whatever
else the machine does falls on all alike), after warm-up rounds that are not counted, within a
count and a time budget; a sampler returns the seconds it measured. Latencies are summarised as
n, p50 (the median), p95 (nearest rank) and max, in milliseconds.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import re
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS_JSON = HERE / "results.json"
RESULTS_MD = HERE / "results.md"
Cell = str | int | float | bool | None
_began = time.monotonic()


def say(message: str) -> None:
    """Progress on stderr, with the time since the bench started."""
    print(f"[bench {time.monotonic() - _began:7.1f}s] {message}", file=sys.stderr, flush=True)


# Timing ----------------------------------------------------------------------------------------


def timed(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def series(
    *samplers: Callable[[], float], count: int, warmup: int = 0, budget: float = 300.0
) -> list[list[float]]:
    """`count` rounds (fewer if the budget runs out) of every sampler once; the seconds of each
    sampler's rounds. The first sampler goes first in even rounds, last in odd ones."""
    for _ in range(warmup):
        for sampler in samplers:
            sampler()
    samples: list[list[float]] = [[] for _ in samplers]
    deadline = time.monotonic() + budget
    for index in range(count):
        if time.monotonic() >= deadline:
            break
        order = list(enumerate(samplers))
        for position, sampler in order if index % 2 == 0 else reversed(order):
            samples[position].append(sampler())
    return samples


def percentile(samples: Sequence[float], p: float) -> float:
    """Nearest rank: the smallest sample with at least p% of the samples at or below it."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class Stats:
    """A series in milliseconds (from samples in seconds)."""

    n: int
    p50: float | None
    p95: float | None
    max: float | None

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stats:
        if not samples:
            return cls(0, None, None, None)
        return cls(
            len(samples),
            round(statistics.median(samples) * 1000, 1),
            round(percentile(samples, 95) * 1000, 1),
            round(max(samples) * 1000, 1),
        )


def ratio(value: float | None, floor: float | None) -> float | None:
    """value / floor to 3 places; None when either is missing or the floor is not positive."""
    if value is None or floor is None or floor <= 0:
        return None
    return round(value / floor, 3)


def at_most(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


# Figures -----------------------------------------------------------------------------------------


@dataclass
class Floor:
    what: str
    value: float | None  # in the figure's unit


@dataclass
class Figure:
    what: str  # what is measured, and how
    value: float | None
    unit: str
    goal: str
    met: bool | None  # None: not measured, or nothing to meet
    floor: Floor | None = None
    note: str = ""
    rows: list[dict[str, Cell]] = field(default_factory=list)  # the details, one table

    @property
    def ratio(self) -> float | None:
        return ratio(self.value, self.floor.value) if self.floor is not None else None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


def record(keys: Sequence[str], measure: Callable[[], Mapping[str, Figure]], quick: bool) -> dict[str, Any]:
    """Figures measured together, as results.json keeps them: each with the date and the seconds
    of the measurement; if it raised, each says so (the other figures of the pass go on)."""
    began, clock = dt.datetime.now(dt.UTC), time.monotonic()
    say(f"{', '.join(keys)}: measuring")
    try:
        found = {key: figure.to_json() for key, figure in measure().items()}
    except Exception as error:  # noqa: BLE001 - one measurement's failure must not lose the others
        traceback.print_exc()
        failed = Figure("not measured", None, "", "", None, note=f"failed: {type(error).__name__}: {error}")
        found = {key: failed.to_json() for key in keys}
    stamp = {
        "date": f"{began:%Y-%m-%dT%H:%M:%SZ}",
        "seconds": round(time.monotonic() - clock),
        "quick": quick,
    }
    for key, item in found.items():
        item.update(stamp)
        say(f"{key}: {item['value']} {item['unit']} (goal met: {item['met']})")
    return found


# The document ------------------------------------------------------------------------------------


def machine(cpuinfo: str | None = None, meminfo: str | None = None) -> dict[str, Any]:
    """What the figures depend on: usable CPUs and their model, memory, Python, the platform."""

    def first(pattern: str, text: str | None, path: str) -> str | None:
        if text is None:
            try:
                text = Path(path).read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = ""
        found = re.search(pattern, text, re.MULTILINE)
        return found.group(1).strip() if found else None

    memory_kib = first(r"^MemTotal:\s+(\d+)\s+kB", meminfo, "/proc/meminfo")
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpus": len(usable) if usable is not None else os.cpu_count(),
        "cpu_model": first(r"^model name\s*:\s*(.+)$", cpuinfo, "/proc/cpuinfo") or platform.processor(),
        "memory_mib": round(int(memory_kib) / 1024) if memory_kib else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def same_machine(one: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
    return all(one.get(key) == other.get(key) for key in ("cpus", "cpu_model", "memory_mib", "python"))


def merged(
    document: Mapping[str, Any], figures: Mapping[str, Any], host: Mapping[str, Any]
) -> dict[str, Any]:
    """results.json with these figures in place of its own of the same keys, in ORDER; the
    others are kept only when they were measured on this machine."""
    kept = dict(document.get("figures", {})) if same_machine(document.get("machine", {}), host) else {}
    kept.update(figures)
    return {"machine": dict(host), "figures": {key: kept[key] for key in sorted(kept, key=_position)}}


ORDER = ("latency", "list_scale", "admission", "coldstart", "artifact", "memory")


def _position(key: str) -> tuple[int, str]:
    return (ORDER.index(key) if key in ORDER else len(ORDER), key)


def dumps(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


# results.md ------------------------------------------------------------------------------------


def cell(value: Cell, unit: str = "") -> str:
    if value is None:
        text = "-"
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, float):
        text = f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 10 else f"{value:,.1f}"
    elif isinstance(value, int):
        text = f"{value:,}"
    else:
        text = value
    text = f"{text} {unit}" if unit and value is not None else text
    return text.replace("|", "\\|").replace("\n", " ")


def sentence(text: str) -> str:
    return cell(text[:1].upper() + text[1:] + ("" if text.endswith(".") else "."))


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def render(document: Mapping[str, Any]) -> str:
    """bench/results.md: the machine, a row a figure, then each figure's details."""
    host, figures = document["machine"], document["figures"]
    memory = f", {host['memory_mib']:,} MiB" if host.get("memory_mib") else ""
    met = {True: "met", False: "**missed**", None: "-"}
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` from `bench/results.json` (`python -m bench render` writes it again); "
        "edit neither by hand. The figures are the local stack's on this machine, not AWS's.",
        "",
        f"Machine: {host['cpus']} CPUs ({host['cpu_model']}){memory}, Python {host['python']}, "
        f"{host['platform']}.",
        "",
        *table(
            ["figure", "value", "floor", "ratio", "goal", "met", "measured"],
            [
                [
                    f"[`{key}`](#{key})",
                    cell(item["value"], item["unit"]),
                    cell(item["floor"]["value"], item["unit"]) if item["floor"] else "-",
                    cell(item["ratio"]),
                    cell(item["goal"]),
                    met[item["met"]],
                    f"{item['date'][:10]}, {item['seconds']} s" + (" (quick pass)" if item["quick"] else ""),
                ]
                for key, item in figures.items()
            ],
        ),
    ]
    for key, item in figures.items():
        lines += ["", f"## {key}", "", sentence(item["what"])]
        if item["floor"]:
            lines += ["", sentence(f"Floor: {item['floor']['what']}")]
        if item["note"]:
            lines += ["", sentence(item["note"])]
        columns = list(dict.fromkeys(column for row in item["rows"] for column in row))
        if columns:
            lines += [
                "",
                *table(columns, [[cell(row.get(column)) for column in columns] for row in item["rows"]]),
            ]
    return "\n".join(lines) + "\n"
