"""make bench's own logic: how it times, summarises and records a figure, how results.md is
rendered (and that the committed one is what the committed results.json renders to), and how
each figure reads its measurements. Nothing here starts a stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from bench import __main__ as entry
from bench import core, package, routes
from bench.core import Figure, Floor, Stats


def test_the_committed_results_md_is_what_results_json_renders_to() -> None:
    document = json.loads(core.RESULTS_JSON.read_text())
    assert core.RESULTS_MD.read_text() == core.render(document)
    assert set(document["figures"]) == {key for keys in entry.stages(False) for key in keys}
    assert {"cpus", "cpu_model", "python"} <= set(document["machine"])


# Timing and summaries ------------------------------------------------------------------------------


def test_percentile_is_nearest_rank() -> None:
    samples = [float(value) for value in range(1, 101)]
    assert (core.percentile(samples, 50), core.percentile(samples, 95)) == (50, 95)
    assert core.percentile([3.0, 1.0, 2.0], 95) == 3.0
    with pytest.raises(ValueError, match="no samples"):
        core.percentile([], 50)


def test_stats_are_milliseconds_with_the_median_as_p50() -> None:
    assert Stats.of([0.010, 0.020, 0.030, 0.040]) == Stats(4, 25.0, 40.0, 40.0)
    assert Stats.of([]) == Stats(0, None, None, None)


def test_series_alternates_which_sampler_goes_first_and_skips_the_warmup() -> None:
    calls: list[str] = []

    def sampler(name: str, seconds: float) -> Any:
        def sample() -> float:
            calls.append(name)
            return seconds

        return sample

    samples = core.series(sampler("a", 1.0), sampler("b", 2.0), count=3, warmup=1)
    assert samples == [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]  # the warm-up round, then 3 alternating


def test_series_stops_at_its_budget() -> None:
    assert core.series(lambda: 0.0, count=1_000_000, budget=0.0) == [[]]


def test_ratio_and_goals() -> None:
    assert core.ratio(150.0, 100.0) == 1.5
    assert core.ratio(1.0, 3.0) == 0.333
    assert core.ratio(None, 1.0) is core.ratio(1.0, None) is core.ratio(1.0, 0.0) is None
    assert (core.at_most(1.5, 1.5), core.at_most(1.51, 1.5), core.at_most(None, 1.5)) == (True, False, None)


# Recording -------------------------------------------------------------------------------------


def a_figure(value: float | None = 15.0, floor: float | None = 10.0, **extra: Any) -> Figure:
    return Figure("what", value, "ms", "ratio <= 1.5", True, Floor("the calls", floor), **extra)


def test_a_recorded_figure_has_its_ratio_date_and_duration() -> None:
    found = core.record(("latency",), lambda: {"latency": a_figure(rows=[{"route": "GET /x"}])}, quick=True)
    item = found["latency"]
    assert item["ratio"] == 1.5
    assert item["floor"] == {"what": "the calls", "value": 10.0}
    assert item["rows"] == [{"route": "GET /x"}]
    assert item["quick"] is True
    assert item["seconds"] == 0
    assert len(item["date"]) == len("2026-11-28T00:00:00Z")


def test_a_measurement_that_raises_leaves_each_of_its_figures_saying_so() -> None:
    def broken() -> dict[str, Figure]:
        raise RuntimeError("boom")

    found = core.record(("latency", "memory"), broken, quick=False)
    assert set(found) == {"latency", "memory"}
    assert found["memory"]["note"] == "failed: RuntimeError: boom"
    assert found["memory"]["met"] is None
    assert found["memory"]["value"] is None


CPUINFO = "processor\t: 0\nmodel name\t: Example CPU @ 2.00GHz\n" * 2
MEMINFO = "MemTotal:        8048576 kB\n"


def test_machine_reads_the_model_and_memory() -> None:
    host = core.machine(CPUINFO, MEMINFO)
    assert (host["cpu_model"], host["memory_mib"]) == ("Example CPU @ 2.00GHz", 7860)
    assert host["cpus"] >= 1


def test_figures_measured_apart_are_merged_only_on_the_same_machine() -> None:
    host = core.machine(CPUINFO, MEMINFO)
    old = {"machine": host, "figures": {"memory": {"v": 1}, "latency": {"v": 1}}}
    merged = core.merged(old, {"latency": {"v": 2}, "coldstart": {"v": 2}}, host)
    assert merged["figures"] == {"latency": {"v": 2}, "coldstart": {"v": 2}, "memory": {"v": 1}}
    assert list(merged["figures"]) == ["latency", "coldstart", "memory"]  # in core.ORDER
    other = {**host, "cpus": host["cpus"] + 1}
    assert core.merged(old, {"latency": {"v": 2}}, other) == {
        "machine": other,
        "figures": {"latency": {"v": 2}},
    }
    assert json.loads(core.dumps(merged)) == merged


# results.md ------------------------------------------------------------------------------------


def test_render_has_a_row_a_figure_then_each_figures_details() -> None:
    figures = core.record(
        ("latency", "memory"),
        lambda: {
            "latency": a_figure(
                note="a | note", rows=[{"route": "GET /x", "ratio": 1.5}, {"route": "POST /y"}]
            ),
            "memory": Figure("largest worker", None, "MiB", "within MemorySize", None),
        },
        quick=True,
    )
    text = core.render(core.merged({}, figures, core.machine(CPUINFO, MEMINFO)))
    lines = text.splitlines()
    assert "Machine: " + f"{core.machine()['cpus']} CPUs (Example CPU @ 2.00GHz), 7,860 MiB" in text
    row = next(line for line in lines if line.startswith("| [`latency`]"))
    assert row.startswith("| [`latency`](#latency) | 15.0 ms | 10.0 ms | 1.5 | ratio <= 1.5 | met |")
    assert row.endswith("(quick pass) |")
    assert next(line for line in lines if line.startswith("| [`memory`]")).startswith(
        "| [`memory`](#memory) | - | - | - | within MemorySize | - |"
    )
    details = lines[lines.index("## latency") :]
    assert details[2:7] == ["What.", "", "Floor: the calls.", "", "A \\| note."]
    assert details[8:12] == ["| route | ratio |", "|---|---|", "| GET /x | 1.5 |", "| POST /y | - |"]


def test_cells() -> None:
    assert [core.cell(value) for value in (None, True, 1234, 0.12345, 1234.56, "a|b")] == [
        "-", "yes", "1,234", "0.123", "1,234.6", "a\\|b",
    ]  # fmt: skip
    assert core.cell(3.0, "ms") == "3 ms"
    assert core.cell(None, "ms") == "-"


# The entry point --------------------------------------------------------------------------------


def test_bench_only_refuses_a_figure_it_does_not_measure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_ONLY", "latency,readiness")
    assert entry.main([]) == 2
    assert entry.main(["what"]) == 2


def test_bench_only_runs_the_stages_of_the_figures_named(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []

    def stage(name: str, *keys: str) -> Any:
        def run() -> dict[str, Figure]:
            ran.append(name)
            return {key: a_figure() for key in keys}

        return run

    stages = {
        ("coldstart",): stage("coldstart", "coldstart"),
        ("latency", "memory"): stage("reads", "latency", "memory"),
    }
    monkeypatch.setattr(entry, "stages", lambda quick: stages)
    assert set(entry.measure(["memory"], quick=True)) == {"latency", "memory"}
    assert ran == ["reads"]
    assert set(entry.measure([], quick=True)) == {"coldstart", "latency", "memory"}


# The figures -------------------------------------------------------------------------------------


def test_the_quick_plan_is_smaller_in_every_count() -> None:
    full, quick = routes.Plan.of(False), routes.Plan.of(True)
    assert full.list_levels == (100, 1_000, 5_000)
    assert full.admission_levels == (0, 50, 200)
    assert quick.quick and not full.quick
    assert quick.requests < full.requests
    assert max(quick.list_levels) < max(full.list_levels)
    assert max(quick.admission_levels) < max(full.admission_levels)


def route(name: str, p50: float, floor: float) -> routes.Route:
    return routes.Route.of(name, [[p50 / 1000] * 3, [floor / 1000] * 3], "its calls")


def test_latency_is_the_worst_route_against_its_floor() -> None:
    found = routes.latency(routes.Plan(), [route("GET /a", 30.0, 25.0), route("POST /b", 16.0, 10.0)], 1_000)
    assert (found.value, found.floor and found.floor.value, found.ratio) == (16.0, 10.0, 1.6)
    assert found.met is False
    assert "POST /b" in found.what
    assert [row["ratio"] for row in found.rows] == [1.2, 1.6]
    assert routes.latency(routes.Plan(), [route("GET /a", 30.0, 25.0)], 1_000).met is True


def level(managed: int, page: float, query: float) -> routes.Level:
    return routes.Level(managed, managed, 1.0, Stats.of([page / 1000]), Stats.of([query / 1000]))


def test_list_scale_is_the_largest_level_against_the_smallest() -> None:
    found = routes.list_scale([level(100, 40.0, 30.0), level(1_000, 42.0, 31.0), level(5_000, 46.0, 35.0)])
    assert (found.value, found.ratio, found.met) == (46.0, 1.15, True)
    assert found.rows[-1]["page - Query ms"] == 11.0
    assert routes.list_scale([level(100, 40.0, 30.0), level(5_000, 60.0, 50.0)]).met is False


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc")
def test_memory_is_each_functions_largest_worker_against_its_memory_size() -> None:
    def worker(function: str, memory_size: str) -> subprocess.Popen[bytes]:
        environment = {"AWS_LAMBDA_FUNCTION_NAME": function, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": memory_size}
        return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], env=environment)

    workers = [worker("Roomy", "1024"), worker("Roomy", "1024")]
    try:
        time.sleep(0.5)
        found = routes.memory(os.getpid())
        assert found.met is True
        assert [(row["function"], row["workers"], row["MemorySize"]) for row in found.rows] == [
            ("Roomy", 2, 1024)
        ]
        assert 1 < float(found.value or 0) < 1024
        workers.append(worker("Cramped", "1"))  # no Python process fits in 1 MiB
        time.sleep(0.5)
        assert routes.memory(os.getpid()).met is False
    finally:
        for process in workers:
            process.kill()
            process.wait()
    assert routes.rss_mib(workers[0].pid) == 0.0  # gone


def test_a_functions_lambda_environment_is_its_templates_and_lambdas() -> None:
    template = package.template()
    environment = package.lambda_environment(template, "CreateRepositoryFunction")
    assert environment["AWS_LAMBDA_FUNCTION_NAME"] == "CreateRepositoryFunction"
    assert environment["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert environment["POWERTOOLS_SERVICE_NAME"]
    floor = package.lambda_environment()
    assert "AWS_LAMBDA_FUNCTION_NAME" not in floor
    assert set(floor) < set(environment)


def test_a_child_times_its_code_then_what_follows() -> None:
    measured, after = package.run_child("import time; time.sleep(0.05)", package.lambda_environment(), "pass")
    assert 0.05 <= measured < 5
    assert 0 <= after < measured
    with pytest.raises(RuntimeError, match="failed"):
        package.run_child("raise SystemExit(3)", package.lambda_environment(), "")


def test_an_artifact_is_zipped_as_sam_deploy_uploads_it(tmp_path: Path) -> None:
    (tmp_path / "agentcore_ecr").mkdir()
    (tmp_path / "agentcore_ecr" / "a.py").write_text("x = 1\n" * 10_000)
    (tmp_path / "boto3").mkdir()
    (tmp_path / "boto3" / "b.py").write_text("y = 2\n")
    found = package.zipped(tmp_path)
    assert found["files"] == 2
    assert found["unpacked MB"] == 0.06
    assert found["SDK shipped"] == "boto3"
    assert float(found["zipped MB"] or 0) < 0.01  # deflate: the repeated line is a few hundred bytes
    assert package.zipped(tmp_path)["sha256"] == found["sha256"]
