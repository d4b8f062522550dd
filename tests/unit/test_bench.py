"""The pure parts of make bench: series summaries, ratios and goals, the figures' shape, and the
document written to bench/results.json. Nothing here starts a stack or times anything."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Any

import pytest
from bench import readiness, results, scale
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


# readiness ---------------------------------------------------------------------------------------


T0 = 1_800_000_000.0


def history_event(at: float, kind: str, **details: Any) -> dict[str, Any]:
    """One GetExecutionHistory event as boto3 returns it (the timestamp a datetime)."""
    return {"timestamp": dt.datetime.fromtimestamp(T0 + at, dt.UTC), "type": kind, **details}


def entered(at: float, name: str) -> dict[str, Any]:
    return history_event(at, "TaskStateEntered", stateEnteredEventDetails={"name": name})


def scheduled(at: float, function: str, resource: str = "invoke") -> dict[str, Any]:
    parameters = json.dumps({"FunctionName": f"arn:aws:lambda:us-east-1:123456789012:function:{function}"})
    return history_event(
        at,
        "TaskScheduled",
        taskScheduledEventDetails={"resourceType": "lambda", "resource": resource, "parameters": parameters},
    )


def succeeded(at: float, resource_type: str = "lambda") -> dict[str, Any]:
    return history_event(at, "TaskSucceeded", taskSucceededEventDetails={"resourceType": resource_type})


def create_history(resumed: float = 2.06, with_fallback_check: bool = False) -> list[dict[str, Any]]:
    """StartStackChange, AwaitStack (resumed at `resumed` s), FinalizeSuccess, EmitSucceeded."""
    events = [
        history_event(0.0, "ExecutionStarted", executionStartedEventDetails={"input": "{}"}),
        entered(0.01, "StartStackChange"),
        scheduled(0.02, "StartStackChangeFunction"),
        succeeded(0.1),
        entered(0.11, "AwaitStack"),
        scheduled(0.12, "CheckStackFunction", "invoke.waitForTaskToken"),
    ]
    if with_fallback_check:
        events += [
            history_event(1.12, "TaskTimedOut", taskTimedOutEventDetails={"resourceType": "lambda"}),
            entered(1.13, "CheckStack"),
            scheduled(1.14, "CheckStackFunction"),
        ]
    events += [
        succeeded(resumed),
        entered(resumed + 0.01, "FinalizeSuccess"),
        scheduled(resumed + 0.02, "FinalizeOperationFunction"),
        succeeded(resumed + 0.12),
        entered(resumed + 0.13, "EmitSucceeded"),
        history_event(
            resumed + 0.14,
            "TaskScheduled",
            taskScheduledEventDetails={"resourceType": "events", "resource": "putEvents", "parameters": "{}"},
        ),
        succeeded(resumed + 0.17, "events"),
        history_event(resumed + 0.18, "ExecutionSucceeded", executionSucceededEventDetails={"output": "{}"}),
    ]
    return events


def an_operation(
    action: str = "create",
    terminal: float = 2.0,
    history: list[dict[str, Any]] | None = None,
    status: str = "SUCCEEDED",
    rule_enabled: bool = True,
) -> readiness.Operation:
    steps = readiness.steps(history if history is not None else create_history())
    stop = next((step.at for step in steps if step.type == "ExecutionSucceeded"), None)
    bracket = readiness.Bracket(T0 + terminal - 0.02, T0 + terminal + 0.02, "CREATE_COMPLETE", 80)
    return readiness.Operation(
        action, "r", "op", "arn:stack/s/1", bracket, status, stop, steps, rule_enabled, status_events=1
    )


def test_steps_give_each_task_its_state_and_each_lambda_task_its_function() -> None:
    steps = readiness.steps(create_history(with_fallback_check=True))
    assert steps[0].at == pytest.approx(T0)
    scheduled_lambdas = [(step.state, step.function) for step in steps if step.function]
    assert scheduled_lambdas == [
        ("StartStackChange", "StartStackChangeFunction"),
        ("AwaitStack", "CheckStackFunction"),
        ("CheckStack", "CheckStackFunction"),
        ("FinalizeSuccess", "FinalizeOperationFunction"),
    ]
    assert readiness.lambda_invocations(steps) == Counter(
        {"CheckStackFunction": 2, "StartStackChangeFunction": 1, "FinalizeOperationFunction": 1}
    )  # EmitSucceeded's putEvents is no Lambda invocation


def test_segments_from_the_terminal_status_to_succeeded() -> None:
    steps = readiness.steps(create_history(resumed=2.06))
    parts = readiness.segments(T0 + 2.0, steps)
    assert parts == pytest.approx(
        {
            "terminal_to_resumed": 0.06,
            "resumed_to_finalized": 0.12,
            "finalized_to_emitted": 0.05,
            "emitted_to_succeeded": 0.01,
        },
        abs=1e-5,  # the timestamps are datetimes, to the microsecond
    )
    # After a fallback check, the wait is resumed by CheckStack's success, the last before FinalizeSuccess.
    fallback = readiness.steps(create_history(resumed=3.2, with_fallback_check=True))
    assert readiness.moments(fallback)["resumed"] == pytest.approx(T0 + 3.2)
    lines = readiness.timeline(T0 + 2.0, steps)
    assert lines[0] == "+60 ms AwaitStack TaskSucceeded"
    assert lines[-1] == "+240 ms EmitSucceeded ExecutionSucceeded"


def test_an_operation_latency_from_the_middle_of_its_bracket_and_its_invocations() -> None:
    item = an_operation(terminal=2.0)
    assert item.terminal is not None
    assert item.terminal.moment == pytest.approx(T0 + 2.0)
    assert item.terminal.width == pytest.approx(0.04)
    assert item.latency == pytest.approx(0.24)
    assert item.invocations()["total"] == 4
    assert item.invocations()[readiness.FUNCTION] == 1
    disabled = an_operation(rule_enabled=False)
    assert disabled.invocations()["total"] == 3  # the event is on the bus, but no rule delivers it
    assert disabled.invocations()["status_events"] == 1
    assert an_operation(status="FAILED").latency is None


def test_status_events_and_resumed_lines_go_to_their_own_change() -> None:
    def body(stack: str, status: str) -> str:
        return json.dumps({"detail": {"stack-id": stack, "status-details": {"status": status}}})

    events = readiness.status_events(
        [body("s1", "CREATE_COMPLETE"), body("s1", "DELETE_COMPLETE"), body("s2", "CREATE_COMPLETE")]
    )
    line = {"message": readiness.RESUMED, "stack_id": "s1", "stack_status": "DELETE_COMPLETE"}
    log = "\n".join(
        [
            json.dumps({**line, "function_request_id": "a"}),
            json.dumps({**line, "function_request_id": "a"}),  # the same invocation: counted once
            "not json " + readiness.RESUMED,
            json.dumps({"message": "something else", "stack_id": "s1"}),
        ]
    )
    resumed = readiness.resumed_lines(log)
    assert resumed == Counter({("s1", "DELETE_COMPLETE"): 1})
    create = an_operation("create")
    delete = an_operation("delete")
    create.stack_id = delete.stack_id = "s1"
    readiness.attribute([create, delete], events, resumed)
    assert (create.status_events, create.resumed_in_log) == (1, 0)
    assert (delete.status_events, delete.resumed_in_log) == (1, 1)


def test_tail_takes_p99_by_nearest_rank() -> None:
    assert readiness.tail([0.1] * 19 + [0.9]) == {
        "n": 20,
        "p50": 100.0,
        "p99": 900.0,
        "min": 100.0,
        "max": 900.0,
    }
    assert readiness.tail([])["p99"] is None


def test_readiness_figure_against_250_ms() -> None:
    fast = [an_operation("create", history=create_history(resumed=2.06)) for _ in range(3)]
    slow_one = an_operation("delete", history=create_history(resumed=2.2))
    fallback_history = create_history(resumed=3.2, with_fallback_check=True)
    only = [
        an_operation(action, history=fallback_history, rule_enabled=False) for action in ("create", "delete")
    ]
    figure = readiness.readiness_figure(fast, [slow_one], only, 30, only)
    shaped(figure)
    assert figure["value"] == pytest.approx(380.0)  # the p99 of 240, 240, 240 and 380 ms
    assert figure["met"] is False
    assert figure["goal"] == readiness.GOAL
    assert figure["items"]["create_ms"]["p50"] == pytest.approx(240.0)
    invocations = figure["items"]["invocations"]
    assert invocations["events"]["create"]["total"] == 4
    assert invocations["events"]["create"]["totals_over_operations"] == {"4": 3}
    assert invocations["fallback_only"]["create"]["workflow"]["CheckStackFunction"] == 2
    assert invocations["fallback_only"]["poll_interval_s"] == 30
    assert invocations["fallback_only"]["latency_ms"]["p50"] == pytest.approx(1380.0)
    assert figure["items"]["fallback"]["all_ms"]["p50"] == pytest.approx(1380.0)
    assert "resumed after 60.0 ms" in figure["note"]
    met = readiness.readiness_figure(fast, fast, only, 30, only)
    assert met["met"] is True
    failed = readiness.readiness_figure([*fast, an_operation(status="FAILED")], fast, only, 30, only)
    assert failed["met"] is False  # under 250 ms, but not every operation succeeded


def test_readiness_counts_for_the_plan() -> None:
    full = readiness.Counts.for_plan(scale.Plan())
    assert (full.operations, full.fallback_only_at_interval) == (20, True)
    quick = readiness.Counts.for_plan(scale.Plan.quick_run())
    assert quick.operations < full.operations
    assert quick.fallback_only_at_interval is False


# Figures measured apart (BENCH_ONLY) -----------------------------------------------------------


def test_merged_replaces_only_the_figures_measured_apart() -> None:
    started = dt.datetime(2026, 11, 27, 12, 0, 0, tzinfo=dt.UTC)
    committed = results.document(
        {
            "seed": results.skipped("s", "s", "stated", "later"),
            "latency": results.skipped("l", "ratio", "g", "later"),
        },
        started,
        1680.0,
        False,
        "make bench",
        results.machine(CPUINFO, MEMINFO),
    )
    fresh = results.figure("r", None, 200.0, "ms", None, readiness.GOAL, True)
    later = dt.datetime(2026, 11, 28, 9, 30, 0, tzinfo=dt.UTC)
    doc = results.merged(committed, {"readiness": fresh}, later, 300.04, "BENCH_ONLY=readiness make bench")
    assert list(doc["figures"]) == ["latency", "seed", "readiness"]
    assert doc["figures"]["seed"] == committed["figures"]["seed"]
    assert doc["figures"]["readiness"] == fresh
    assert {key: doc[key] for key in ("date", "run_seconds", "quick")} == {
        "date": "2026-11-27T12:00:00Z",
        "run_seconds": 1680.0,
        "quick": False,
    }
    assert doc["measured_apart"] == {
        "readiness": {
            "date": "2026-11-28T09:30:00Z",
            "command": "BENCH_ONLY=readiness make bench",
            "run_seconds": 300.0,
        }
    }
    assert json.loads(results.dumps(doc)) == doc
    with pytest.raises(ValueError, match="readiness: missing"):
        results.merged(committed, {"readiness": {"what": "x"}}, later, 1.0, "c")


def test_replace_figures_table_keeps_the_rest_of_results_md() -> None:
    old = results.figures_table({"seed": results.skipped("s", "s", "stated", "later")})
    markdown = f"# Benchmarks\n\nintro\n\n## Figures against their floors\n\nabout them\n\n{old}\n"
    new = results.figures_table(
        {
            "seed": results.skipped("s", "s", "stated", "later"),
            "readiness": results.figure("r", None, 200.0, "ms", None, readiness.GOAL, True),
        }
    )
    replaced = results.replace_figures_table(markdown, new)
    assert replaced == markdown.replace(old, new)
    assert results.replace_figures_table(markdown, old) == markdown
    note = results.apart_note({"readiness": {"date": "D", "command": "C", "run_seconds": 1.0}})
    assert note == "Measured apart from the run above: `readiness` on D with `C` (1.0 s)."
    noted = results.replace_figures_table(markdown, new, note)
    assert noted.endswith(f"{new}\n\n{note}\n")
    followed = markdown + "\n## Later\n\nmore\n"
    assert results.replace_figures_table(followed, new).endswith(f"{new}\n\n## Later\n\nmore\n")
    with pytest.raises(ValueError, match="no table"):
        results.replace_figures_table("# nothing\n", new)
    assert "readiness" in results.ORDER


def test_bench_only_names_what_it_can_measure_alone() -> None:
    from bench.__main__ import selected  # noqa: PLC0415 - the entry point, imported for this test only

    assert selected("readiness") == ["readiness"]
    assert selected(" readiness , coldstart ") == ["readiness", "coldstart"]
    with pytest.raises(ValueError, match="cannot measure latency alone"):
        selected("readiness,latency")
