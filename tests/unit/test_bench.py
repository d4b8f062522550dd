"""The pure parts of make bench: series summaries, ratios and goals, the figures' shape, and the
document written to bench/results.json. Nothing here starts a stack or times anything."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Any

import pytest
from bench import results, scale
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


def test_route_item_ratio_and_goal() -> None:
    item = scale.route_item("GET x", "one call", [0.030] * 10, [0.020] * 10, 10)
    shaped(item)
    assert item["value"] == 30.0
    assert item["floor"]["value"] == 20.0
    assert item["ratio"] == 1.5
    assert item["met"] is True
    slow = scale.route_item("GET x", "one call", [0.031] * 5, [0.020] * 5, 10, "a note")
    assert slow["met"] is False
    assert slow["note"] == "a note; 5 of 10 requests within the time budget"


def test_latency_takes_the_worst_route_and_says_what_is_missing() -> None:
    plan = scale.Plan()
    routes = {
        "get": scale.route_item("GET", "f", [0.012], [0.010], 1),
        "token": scale.route_item("POST", "f", [0.030], [0.010], 1),
    }
    latency = scale.latency_figure(plan, routes)
    shaped(latency)
    assert latency["ratio"] == 3.0
    assert latency["value"] == 3.0
    assert latency["met"] is False
    assert set(latency["items"]) == set(scale.ROUTES.values())
    assert "not measured" in latency["note"]
    everything = {key: scale.route_item(key, "f", [0.011], [0.010], 1) for key in scale.LATENCY_KEYS}
    assert scale.latency_figure(plan, everything)["met"] is True
    assert scale.latency_figure(plan, {key: everything[key] for key in ("get", "list")})["met"] is None


def list_level(p50_ms: float) -> dict[str, Any]:
    return {"route_ms": results.summary([p50_ms / 1000])}


def test_list_scale_against_the_smallest_level() -> None:
    plan = scale.Plan()
    figure = scale.list_scale_figure(
        plan, {100: list_level(40), 1_000: list_level(42), 5_000: list_level(46)}, "", []
    )
    shaped(figure)
    assert figure["floor"]["value"] == 40.0
    assert figure["value"] == 46.0
    assert figure["ratio"] == 1.15
    assert figure["met"] is True
    assert figure["goal"] == "ratio at 5,000 <= 1.2"
    assert figure["items"]["1000"]["ratio"] == 1.05


def test_list_scale_is_skipped_without_the_catalog() -> None:
    plan = scale.Plan()
    figure = scale.list_scale_figure(plan, {100: {"managed": 100}}, "no DynamoDB table", [])
    shaped(figure)
    assert figure["met"] is None
    assert figure["note"] == "skipped: no DynamoDB table"
    assert figure["items"] == {"100": {"managed": 100}}


def test_admission_against_zero_running() -> None:
    plan = scale.Plan()
    levels = {
        0: {"running": 0, **list_level(100)},
        50: {"running": 50, **list_level(110)},
        200: {"running": 200, **list_level(160)},
    }
    figure = scale.admission_figure(plan, levels, Counter({"stopped": 500}))
    shaped(figure)
    assert figure["ratio"] == 1.6
    assert figure["met"] is False
    assert figure["items"]["50"]["ratio"] == 1.1


def test_admission_that_did_not_reach_its_top_level_is_not_met() -> None:
    plan = scale.Plan()
    levels = {0: {"running": 0, **list_level(100)}, 50: {"running": 50, **list_level(120)}}
    figure = scale.admission_figure(plan, levels, Counter())
    assert figure["ratio"] == 1.2
    assert figure["met"] is None  # under the goal so far, but 200 running was never measured
    assert "was not reached" in figure["note"]
    worse = {0: levels[0], 50: {"running": 40, **list_level(300)}}
    assert scale.admission_figure(plan, worse, Counter())["met"] is False


def test_provisioning_overhead_over_the_stack_and_one_poll() -> None:
    floor_s = scale.OPERATIONS_SETTLE + scale.POLL_INTERVAL
    runs = [scale.Run(0.1, "SUCCEEDED", floor_s + 0.25, floor_s + 0.2, 0.3) for _ in range(3)]
    figure = scale.provisioning_figure(runs)
    shaped(figure)
    assert figure["floor"]["value"] == floor_s * 1000
    assert figure["value"] == pytest.approx(200.0)
    assert figure["met"] is True
    failed = [*runs, scale.Run(0.1, "FAILED", 1.0, 1.0, None)]
    assert scale.provisioning_figure(failed)["met"] is False


def test_throughput_needs_every_create_to_succeed() -> None:
    good = {"all_succeeded": True, "wall_s": 10.0}
    bad = {"all_succeeded": False, "wall_s": 30.0}
    figure = scale.throughput_figure({"50": good, "200": bad})
    shaped(figure)
    assert figure["met"] is False
    assert figure["value"] == 30.0
    assert figure["floor"] is None
    assert scale.throughput_figure({"50": good})["met"] is True


def test_seed_is_stated() -> None:
    runs = [scale.Run(0.1, "SUCCEEDED", 3.0, 2.9, 0.3)]
    figure = scale.seed_figure([(10.1, "CREATE_COMPLETE", 2)], runs)
    shaped(figure)
    assert figure["met"] is None
    assert figure["value"] == 10.1
    assert figure["items"]["caller_wait_ratio"] == 101.0


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


def test_plan_from_the_environment() -> None:
    assert scale.Plan.from_environment({}) == scale.Plan()
    assert scale.Plan.from_environment({"BENCH_QUICK": "0"}).quick is False
    quick = scale.Plan.from_environment({"BENCH_QUICK": "1"})
    assert quick.quick is True
    assert quick.latency_requests < scale.Plan().latency_requests
    assert scale.Plan().latency_requests >= 300
    assert scale.Plan().list_levels == (100, 1_000, 5_000)
    assert scale.Plan().admission_levels == (0, 50, 200)
    assert scale.Plan().throughput_batches == (50, 200)
