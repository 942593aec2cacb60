"""benchmarks/stack_benchmark.py and processes.py: the statistics and names behind the tables (no timing)."""

from __future__ import annotations

import pytest

from benchmarks import compose_run, processes, stack_benchmark
from benchmarks.stack_benchmark import Run
from stackctl.compose import COMPOSE_FILE


def test_figures_of_one_run_leave_the_development_fakes_out_of_the_memory_goal():
    run = Run(cold_start=40.0, second_up=12.0, triggers=[float(v) for v in range(1, 21)], deploys=[1.0, 3.0, 2.0],
              pss={"airflow-scheduler": 250.0, "fake-slack": 20.0, "fixture-server": 15.0, "postgres": 60.0},
              cpu={"airflow-scheduler": 3.5, "postgres": 1.5})
    figures = run.figures()
    assert figures["memory_pss"] == 310.0
    assert figures["memory_pss_dev_fakes"] == 35.0
    assert figures["idle_cpu"] == 5.0
    assert figures["trigger_to_success_p50"] in (10.0, 11.0)
    assert figures["trigger_to_success_p95"] == 19.0
    assert figures["deploy_to_visible_p50"] == 2.0
    assert set(figures) <= set(stack_benchmark.GOALS)


def test_a_run_without_triggers_or_second_up_has_no_such_figures():
    figures = Run(cold_start=1.0).figures()
    assert "trigger_to_success_p50" not in figures
    assert "second_up" not in figures  # the second `up` failed: no figure rather than a zero


def test_the_table_shows_minimum_median_maximum_over_runs_per_variant():
    runs = [Run(cold_start=c, triggers=[0.5], deploys=[1.0], phases={"task: started -> ended": [0.1]})
            for c in (30.0, 50.0, 40.0)]
    lines = stack_benchmark.report({"shipped": runs, "airflow-defaults": runs[:1]}, None)
    row = next(line for line in lines if line.startswith("| cold start"))
    assert row == "| cold start (s) | ≤ 30 | 30.00 / **40.00** / 50.00 | 30.00 / **30.00** / 30.00 |"
    phase = next(line for line in lines if line.startswith("| task: started -> ended"))
    assert phase == "| task: started -> ended | 0.10 / **0.10** / 0.10 | 0.10 / **0.10** / 0.10 |"


def test_recorded_names_say_variant_and_figure():
    runs = [Run(cold_start=30.0, pss={"postgres": 60.0}, cpu={"postgres": 1.0})]
    names = {f.name: f for f in stack_benchmark.record({"shipped": runs}, "cmd", "quiet")}
    assert names["native.shipped.cold_start"].goal == 30.0
    assert names["native.shipped.pss.postgres"].value == 60.0
    assert "native.shipped.trigger_to_success_p50" not in names


def test_a_compose_run_counts_the_docker_engine_apart_and_is_recorded_as_compose():
    engine = compose_run.ENGINE
    runs = [Run(cold_start=35.0, pss={"airflow-scheduler": 150.0, "fake-slack": 10.0, engine: 80.0},
                cpu={"airflow-scheduler": 2.0, engine: 1.5})]
    figures = runs[0].figures()
    assert (figures["memory_pss"], figures["memory_pss_dev_fakes"], figures["memory_pss_engine"]) == (150, 10, 80)
    assert (figures["idle_cpu"], figures["idle_cpu_engine"]) == (2.0, 1.5)
    names = {f.name for f in stack_benchmark.record({"compose": runs}, "cmd", "quiet")}
    assert {"compose.shipped.cold_start", "compose.shipped.memory_pss_engine",
            "compose.shipped.pss.docker engine"} <= names
    assert "memory_pss_engine" not in Run(cold_start=1.0, pss={"postgres": 60.0}).figures()  # native: no engine


def test_without_a_docker_engine_the_compose_variant_is_left_out_saying_why(monkeypatch, capsys):
    monkeypatch.setattr(compose_run, "DOCKER", "/nonexistent/docker")
    assert set(stack_benchmark.variants(None)) == {"shipped", "airflow-defaults"}
    assert "compose variant is left out: no Docker CLI at /nonexistent/docker" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="--only compose: no Docker CLI"):
        stack_benchmark.variants(["compose"])


def test_airflow_defaults_come_from_the_installed_airflow():
    assert stack_benchmark.airflow_default("AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME") == "1"
    with pytest.raises(RuntimeError, match="no default"):
        stack_benchmark.airflow_default("AIRFLOW__SCHEDULER__NO_SUCH_OPTION")


@pytest.mark.parametrize("name", stack_benchmark.TUNING)
def test_each_tuned_setting_can_be_set_from_outside_compose(name):
    """The airflow-defaults variant sets each one in the environment: compose must interpolate it."""
    assert f"{name}: ${{{name}:-" in COMPOSE_FILE.read_text()


def test_an_unknown_variant_is_named():
    with pytest.raises(SystemExit, match="no variant fast"):
        stack_benchmark.variants(["fast"])


@pytest.mark.parametrize(("argv", "name"), [
    (["/srv/.venv/bin/python", "-m", "stackctl.launch", "airflow-scheduler"], "airflow-scheduler"),
    (["/usr/lib/postgresql/15/bin/postgres", "-D", "/tmp/x"], "postgres"),
    (["/usr/bin/redis-server 127.0.0.1:6379"], "redis-server"),
    (["/srv/.venv/bin/python", "/srv/.venv/bin/supervisord", "-c", "x"], "supervisord"),
])
def test_program_names(argv, name):
    assert processes.program_name(argv) == name


def test_process_titles_hide_the_state_folder_and_passwords():
    title = processes.role(["/srv/.venv/bin/celery", "--broker", "redis://:s3cret@127.0.0.1:6379/0",
                            "/tmp/stack-x/logs"], "/tmp/stack-x")
    assert "s3cret" not in title
    assert title.startswith("celery --broker")
    assert "$STATE/logs" in title
