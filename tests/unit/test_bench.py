"""The pure parts of make bench: series summaries, ratios and goals, the figures' shape, and the
document written to bench/results.json. Nothing here starts a stack or times anything."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from bench import results
from bench.results import Figure


def shaped(candidate: Figure) -> None:
    assert list(candidate) == list(results.FIGURE_KEYS)
    results.check_shape("figure", candidate)


# Series ----------------------------------------------------------------------------------------


def test_percentile_is_nearest_rank() -> None:
    samples = [float(value) for value in range(1, 101)]  # 1..100
    assert results.percentile(samples, 50) == 50
    assert results.percentile(samples, 95) == 95
    assert results.percentile(samples, 100) == 100
    assert results.percentile([3.0, 1.0, 2.0], 95) == 3.0
    assert results.percentile([7.0], 50) == 7.0


def test_percentile_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no samples"):
        results.percentile([], 50)


def test_summary_in_milliseconds_with_the_median_as_p50() -> None:
    summary = results.summary([0.010, 0.020, 0.030, 0.040])
    assert summary == {"n": 4, "p50": 25.0, "p95": 40.0, "min": 10.0, "max": 40.0}


def test_summary_in_seconds_and_of_nothing() -> None:
    assert results.summary([1.234, 2.345], scale=1.0, digits=2)["p50"] == 1.79
    assert results.summary([]) == {"n": 0, "p50": None, "p95": None, "min": None, "max": None}


def test_ratio() -> None:
    assert results.ratio(150.0, 100.0) == 1.5
    assert results.ratio(1.0, 3.0) == 0.333
    assert results.ratio(None, 100.0) is None
    assert results.ratio(100.0, None) is None
    assert results.ratio(100.0, 0.0) is None


def test_goals() -> None:
    check = results.at_most(1.5)
    assert check(1.5) is True
    assert check(1.51) is False
    assert check(None) is None
    assert results.all_met([True, True]) is True
    assert results.all_met([True, None]) is None
    assert results.all_met([None, False]) is False
    assert results.all_met([]) is None


# Figures ---------------------------------------------------------------------------------------


def test_figure_and_skipped_have_the_promised_shape() -> None:
    floor = results.floor_of("one call", 10.0, "ms", p95=12.0)
    made = results.figure("what", floor, 15.0, "ms", 1.5, "p50 ratio <= 1.5", True, "n", {"a": 1})
    shaped(made)
    assert made["floor"] == {"what": "one call", "value": 10.0, "unit": "ms", "p95": 12.0}
    none = results.skipped("what", "ms", "goal", "no table")
    shaped(none)
    assert none["met"] is None
    assert none["value"] is None
    assert none["note"] == "skipped: no table"
    broken = results.failed("what", "goal", RuntimeError("boom"))
    shaped(broken)
    assert broken["note"] == "failed: RuntimeError: boom"


@pytest.mark.parametrize(
    ("candidate", "message"),
    [
        ([], "a figure is a dict"),
        ({"what": "x"}, "missing floor"),
        ({**results.skipped("w", "u", "g", "r"), "floor": {"what": "x"}}, "floor must be null"),
        ({**results.skipped("w", "u", "g", "r"), "met": "yes"}, "met must be"),
        ({**results.skipped("w", "u", "g", "r"), "items": []}, "items must be a dict"),
    ],
)
def test_check_shape_names_what_is_wrong(candidate: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        results.check_shape("key", candidate)


# The document ----------------------------------------------------------------------------------


CPUINFO = "processor\t: 0\nmodel name\t: Example CPU @ 2.00GHz\n" * 2
MEMINFO = "MemTotal:        8048576 kB\nMemFree:         1000000 kB\n"


def test_machine_reads_model_and_memory() -> None:
    host = results.machine(CPUINFO, MEMINFO)
    assert host["cpu_model"] == "Example CPU @ 2.00GHz"
    assert host["memory_mib"] == 7860
    assert {"cpu_count", "cpus_usable", "python", "platform"} <= set(host)


def test_document_is_json_with_the_machine_date_and_ordered_figures() -> None:
    started = dt.datetime(2026, 11, 27, 12, 0, 0, tzinfo=dt.UTC)
    figures = {
        "seed": results.skipped("s", "s", "stated", "later"),
        "latency": results.skipped("l", "ratio", "p50 ratio <= 1.5 per route", "later"),
        "coldstart": results.skipped("c", "ratio", "worst ratio <= 1.25", "later"),
    }
    host = results.machine(CPUINFO, MEMINFO)
    doc = results.document(figures, started, 12.34, True, "make bench", host)
    assert doc["date"] == "2026-11-27T12:00:00Z"
    assert doc["machine"] == host
    assert doc["quick"] is True
    assert doc["run_seconds"] == 12.3
    assert list(doc["figures"]) == ["coldstart", "latency", "seed"]
    assert json.loads(results.dumps(doc)) == doc


def test_document_refuses_a_misshapen_figure() -> None:
    with pytest.raises(ValueError, match="artifact: missing"):
        results.document({"artifact": {"what": "x"}}, dt.datetime.now(dt.UTC), 1.0, False, "make bench")


def test_figures_table_has_a_row_a_figure() -> None:
    floor = results.floor_of("one | call", 10.0, "ms")
    figures = {
        "latency": results.figure("w", floor, 15.0, "ms", 1.5, "p50 ratio <= 1.5", True, "", {}),
        "seed": results.skipped("s", "s", "stated", "later"),
    }
    table = results.figures_table(figures).splitlines()
    assert len(table) == 4
    row = "| `latency` | 15.0 ms | 10.0 ms: one \\| call | 1.5 | p50 ratio <= 1.5 | met |"
    assert table[2].startswith(row)
    assert "| `seed` | - | - | - | stated | - | skipped: later |" in table[3]
