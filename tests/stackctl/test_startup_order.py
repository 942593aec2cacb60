"""The order `up` starts and waits for the programs in (stackctl/startup.py), with supervisord and the health
checks replaced by a record of what was asked, when."""

from __future__ import annotations

import sys

import pytest

from stackctl import bootstrap, health, init, postgres, services, startup, supervisor
from stackctl.settings import GENERATED_SECRETS, load
from stackctl.timeline import Timeline


@pytest.fixture
def stack(tmp_path):
    settings = load({"STACK_STATE_DIR": str(tmp_path), "STACK_ENV_FILE": "", "STACK_VENV": sys.prefix,
                     **{name: f"{name.lower()}-value-0123456789" for name in GENERATED_SECRETS}})
    return settings, services.load(settings)


@pytest.fixture
def record(monkeypatch, stack):
    """Every launch and wait in order; the final wait finds each program healthy, the api-server last unless
    `record.unhealthy` names it."""
    events: list[tuple[str, object]] = []
    record = type("Record", (), {"events": events, "unhealthy": set(), "pending": []})()

    def wait(settings, names, timeout, on_change=None, gave_up=None, since=None):
        events.append(("wait", sorted(names)))
        results = {}
        for name in sorted(names, key=lambda name: name == "airflow-apiserver"):
            reason = gave_up(name) if gave_up else None
            results[name] = (False, reason) if reason else (name not in record.unhealthy, "checked")
            if results[name][0] and on_change:
                on_change(name)
        return results

    monkeypatch.setattr(supervisor, "launch", lambda settings, *names: events.append(("launch", names)) or [])
    monkeypatch.setattr(health, "wait_healthy", wait)
    monkeypatch.setattr(supervisor, "state", lambda settings, name: ("RUNNING", ""))
    monkeypatch.setattr(health, "http_get", lambda *args, **kwargs: (200, b""))
    monkeypatch.setattr(postgres, "ensure_database", lambda settings: None)
    monkeypatch.setattr(init, "pending", lambda environ: record.pending)
    monkeypatch.setattr(startup, "run_init", lambda settings, program, echo: events.append(("run", program.name)))
    monkeypatch.setattr(startup, "check_public", lambda settings, stack, timeline: events.append(("public", None))
                        or [])
    monkeypatch.setattr(bootstrap, "start", lambda settings, env: events.append(("bootstrap", None)))
    monkeypatch.setattr(bootstrap, "report", lambda proc, echo: None)
    return record


def launched(events) -> list[str]:
    return [name for kind, names in events if kind == "launch" for name in names]


def test_a_second_up_waits_for_what_airflow_init_needs_only(stack, record):
    settings, programs = stack
    startup.start(settings, programs, Timeline(), lambda line: None, 60)
    waits = [names for kind, names in record.events if kind == "wait"]
    assert waits[0] == ["postgres", "redis"]  # airflow-init's depends_on; the fakes are waited for with the rest
    assert "diagnostics" in waits[1] and "fake-onepassword" in waits[1]


def test_airflow_init_runs_once_every_early_program_answers(stack, record):
    settings, programs = stack
    record.pending = [init.SCHEMA]
    startup.start(settings, programs, Timeline(), lambda line: None, 60)
    kinds = [(kind, names) for kind, names in record.events if kind in ("wait", "run")]
    assert kinds[0] == ("wait", ["postgres", "redis"])
    assert kinds[1][0] == "wait" and "fake-onepassword" in kinds[1][1]  # the bootstrap file reads it
    assert kinds[2] == ("run", "airflow-init")


def test_the_dag_processor_starts_once_the_api_server_is_healthy(stack, record):
    settings, programs = stack
    results, silent = startup.start(settings, programs, Timeline(), lambda line: None, 60)
    order = launched(record.events)
    assert order[-1] == "airflow-dag-processor" and set(order) == {p.name for p in programs.supervised()}
    assert all(ok for ok, _ in results.values()) and silent == []
    # the public ports are asked and the bootstrap file applied once the others are healthy, beside its start
    assert [kind for kind, _ in record.events][-3:] == ["launch", "bootstrap", "public"]


def test_a_dag_processor_never_started_says_why(stack, record):
    settings, programs = stack
    record.unhealthy = {"airflow-apiserver"}
    results, silent = startup.start(settings, programs, Timeline(), lambda line: None, 60)
    assert "airflow-dag-processor" not in launched(record.events)
    assert results["airflow-dag-processor"] == (
        False, "checked; not started: it starts once airflow-apiserver is healthy")
    assert ("public", None) not in record.events and silent == []  # not asked while a program is unhealthy


def test_a_program_supervisord_cannot_start_fails_up_though_no_longer_waited_for_first(stack, record, monkeypatch):
    """The diagnostics server is no longer waited for before airflow-init's check; its failure still stops the
    wait at once, naming what supervisord says (an Airflow program restarting meanwhile is waited for, as before)."""
    settings, programs = stack
    monkeypatch.setattr(supervisor, "state", lambda settings, name: ("FATAL", "Exited too quickly")
                        if name in ("diagnostics", "airflow-scheduler") else ("RUNNING", ""))
    results, silent = startup.start(settings, programs, Timeline(), lambda line: None, 60)
    assert results["diagnostics"] == (False, "FATAL: Exited too quickly")
    assert results["airflow-scheduler"] == (True, "checked")
    assert ("public", None) not in record.events


def test_both_modes_hold_the_same_programs_until_another_is_healthy(tmp_path):
    """Compose's `service_healthy` conditions between programs of the same step are `up`'s order too: the DAG
    processor after the api-server, the relay after HAProxy and the webhook; the worker and the triggerer start
    with the api-server (compose.services.yaml)."""
    settings = load({"STACK_STATE_DIR": str(tmp_path), "STACK_ENV_FILE": "", "STACK_VENV": sys.prefix,
                     "COMPOSE_PROFILES": "relay", "SMEE_URL": "https://smee.io/abcdefghijklmnop",
                     **{name: f"{name.lower()}-value-0123456789" for name in GENERATED_SECRETS}})
    programs = services.load(settings)
    held = startup.after_healthy(programs, startup.after_init(programs))
    assert held["airflow-dag-processor"] == {"airflow-apiserver"}
    assert held.get("smee-relay") == {"haproxy", "webhook"}
    assert not {"airflow-worker", "airflow-triggerer", "airflow-scheduler"} & set(held)
