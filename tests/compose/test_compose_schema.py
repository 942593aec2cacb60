"""The compose files and the Dockerfile: valid, and shaped as DESIGN §3 asks. docker-compose.yaml and
docker-compose.worker.yaml include the services (compose.services.yaml, compose.worker.yaml) with the defaults
(compose.defaults.env); the services files are the ones tested here, and the includes give the same stack.

The files as written are parsed with PyYAML (which resolves anchors and `<<` merge keys like compose does) and
validated against the vendored Compose Specification schema (compose-spec.json, see compose-spec.SOURCE.md);
interpolated, they are what `docker compose config` says (stackctl/compose.py: Compose's own parser, no engine).
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import dotenv
import jsonschema
import pytest
import yaml

from stackctl import compose
from stackctl.settings import GENERATED_SECRETS

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
MAIN = compose.COMPOSE_FILE  # compose.services.yaml
WORKER = compose.WORKER_FILE  # compose.worker.yaml
INCLUDES = {REPO / "docker-compose.yaml": MAIN, REPO / "docker-compose.worker.yaml": WORKER}

ONE_SHOTS = {"airflow-init", "airflow-cli", "dashboard-account"}
AIRFLOW_SERVICES = {"airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-triggerer", "airflow-worker", "webhook", "airflow-cli"}  # Flower: Celery's alone
# Every generated credential but the webhook key (production reads that from 1Password) is required by compose.
REQUIRED_SECRETS = tuple(name for name in GENERATED_SECRETS if name != "WEBHOOK_KEY")
# Every service of the stack; their commands are written once, in the file (the native runner runs them from
# there: tests/stackctl/test_one_definition.py).
SERVICES = {"postgres", "redis", "airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
            "airflow-triggerer", "airflow-worker", "flower", "webhook", "smee-relay", "diagnostics", "haproxy",
            "airflow-cli", "fake-onepassword", "fake-slack", "fixture-server",
            "prometheus", "statsd-exporter",
            "blackbox-exporter", "alertmanager", "dashboard-account", "dashboard"}
AIRFLOW_ENV_KEYS = {
    "AIRFLOW__CORE__EXECUTOR", "AIRFLOW__CORE__AUTH_MANAGER", "AIRFLOW__CORE__LOAD_EXAMPLES",
    "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
    "AIRFLOW__API__BASE_URL", "AIRFLOW__API__HOST", "AIRFLOW__API__EXPOSE_CONFIG",
    "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK", "AIRFLOW__CELERY__FLOWER_HOST", "ENVIRONMENT", "OP_CONNECT",
    "OP_VAULT_ID", "TEAM_TIMEZONE", "DIAGNOSTICS_DIR", "PYTHONPATH",
}
SEED_NAMES = ("AIRFLOW_UID", "ENVIRONMENT", "_AIRFLOW_WWW_USER_USERNAME", "_AIRFLOW_WWW_USER_PASSWORD",
              "AIRFLOW_PROJ_DIR", "OP_API_TOKEN", "OP_CONNECT", "OP_VAULT_ID")
CREDENTIAL_VARIABLES = {name for group in yaml.safe_load(MAIN.read_text())["x-credentials"].values() for name in group}
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}")


@pytest.fixture(scope="module")
def schema():
    return json.loads((HERE / "compose-spec.json").read_text())


@pytest.fixture(scope="module")
def main():
    return yaml.safe_load(MAIN.read_text())


@pytest.fixture(scope="module")
def worker():
    return yaml.safe_load(WORKER.read_text())


@pytest.fixture(scope="module")
def services(main):
    return main["services"]


def long_running(services):
    return {name: svc for name, svc in services.items() if name not in ONE_SHOTS}


def compose_variables(text):
    """{name: [the text after the name inside ${...}, ...]} for every interpolation in a compose file."""
    found = {}
    for name, rest in VARIABLE.findall(text):
        found.setdefault(name, []).append(rest)
    return found


@pytest.mark.parametrize("path", [MAIN, WORKER], ids=lambda p: p.name)
def test_valid_against_the_compose_specification(schema, path):
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(yaml.safe_load(path.read_text())), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_the_schema_rejects_a_broken_file(schema):
    # Proof that the validation above can fail: a misspelt key and a wrong type.
    broken = {"services": {"web": {"imgae": "nginx", "restart": ["always"]}}}
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))


def test_the_stack_has_every_service(services):
    assert set(services) == SERVICES


def test_non_airflow_programs_skip_the_airflow_entrypoint(services):
    # The image's entrypoint would run `airflow gunicorn ...`; haproxy's would add -W -db twice.
    assert services["webhook"]["entrypoint"] == ["/usr/bin/dumb-init", "--"]
    assert services["diagnostics"]["entrypoint"] == ["/usr/bin/dumb-init", "--"]
    assert services["haproxy"]["entrypoint"] == []
    assert services["haproxy"]["working_dir"] == "/opt/project"


def test_only_haproxy_publishes_ports(services):
    assert [name for name, svc in services.items() if "ports" in svc or "expose" in svc] == ["haproxy"]


def test_haproxy_publishes_each_port_it_binds_on_the_variable_s_host_port(services):
    """In its container HAProxy binds haproxy.cfg's defaults; the host side of each is the variable."""
    binds = re.findall(r'^\s*bind "\$\{HAPROXY_BIND-[^}]*\}:\$\{(PUBLIC_[A-Z_]+)-(\d+)\}"',
                       (REPO / "haproxy" / "haproxy.cfg").read_text(), re.M)
    assert {"PUBLIC_AIRFLOW_PORT", "PUBLIC_STATS_PORT", "PUBLIC_WORKER_REDIS_PORT"} <= {name for name, _ in binds}
    assert sorted(services["haproxy"]["ports"]) == sorted(f"${{{name}:-${{DEFAULT_{name}}}}}:{port}"
                                                          for name, port in binds)
    defaults = dotenv.dotenv_values(compose.DEFAULTS_FILE)
    assert {defaults[f"DEFAULT_{name}"] for name, port in binds if defaults[f"DEFAULT_{name}"] != port} == set()
    assert not {name for name in services["haproxy"]["environment"] if name.startswith("PUBLIC_")}


def test_haproxy_gets_every_variable_its_config_reads_and_no_other_secret(services):
    config = (REPO / "haproxy" / "haproxy.cfg").read_text()
    code = "\n".join(line for line in config.splitlines() if not line.lstrip().startswith("#"))
    read = set(re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)", code))
    # with no default of its own (the defaults are the compose addresses: postgres:5432, webhook:8000, ...)
    needed = {name for name, default in re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)(-?)", code) if not default}
    given = set(services["haproxy"]["environment"])
    assert needed <= given, f"haproxy.cfg reads {sorted(needed - given)} but compose does not set them"
    assert given <= read, f"compose gives haproxy {sorted(given - read)}, which haproxy.cfg never reads"
    # The seed handed HAProxy the whole Airflow environment, 1Password token included.
    assert not given & {"OP_API_TOKEN", "OP_CONNECT", "AIRFLOW__CORE__FERNET_KEY", "POSTGRES_PASSWORD",
                        "REDIS_PASSWORD"}


@pytest.mark.parametrize("name", sorted(SERVICES - ONE_SHOTS))
def test_every_long_running_service_has_a_healthcheck(services, name):
    test = services[name]["healthcheck"]["test"]
    assert test[0] in ("CMD", "CMD-SHELL") and len(test) > 1
    assert "sleep" not in " ".join(test)


def test_healthchecks_are_the_documented_ones(services):
    def probe(name):
        return " ".join(services[name]["healthcheck"]["test"][1:])

    assert "/api/v2/monitor/health" in probe("airflow-apiserver")
    # the job heartbeat in the database: no health server in the scheduler, no Airflow CLI start per check
    assert probe("airflow-scheduler") == "python -m stackctl.job_alive SchedulerJob --local"
    assert probe("airflow-dag-processor") == "python -m stackctl.job_alive DagProcessorJob --local"
    assert probe("airflow-triggerer") == "python -m stackctl.job_alive TriggererJob --local"
    assert probe("airflow-worker") == "python -m stackctl.worker_alive --local"  # no Airflow import per check
    assert "/healthcheck" in probe("flower")
    assert "/healthz" in probe("webhook")
    assert probe("haproxy").startswith("haproxy -c")
    assert probe("postgres").startswith("pg_isready")
    assert probe("redis").endswith("ping")
    assert "/proc/net/tcp" in probe("smee-relay")


def test_long_running_services_restart_and_one_shots_do_not(services):
    for name, svc in long_running(services).items():
        assert svc.get("restart") == "unless-stopped", name
    for name in ONE_SHOTS:
        assert "restart" not in services[name], f"{name} would be restarted after finishing"


def test_depends_on_always_names_a_condition(main, worker):
    for data in (main, worker):
        for name, svc in data["services"].items():
            depends = svc.get("depends_on", {})
            assert isinstance(depends, dict), f"{name}: depends_on must be a map with conditions"
            for target, rule in depends.items():
                assert rule["condition"] in ("service_healthy", "service_completed_successfully",
                                             "service_started"), (name, target)


def test_start_order(services):
    init = services["airflow-init"]["depends_on"]
    assert init == {"postgres": {"condition": "service_healthy"}, "redis": {"condition": "service_healthy"}}
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        assert services[name]["depends_on"]["airflow-init"] == {"condition": "service_completed_successfully"}
    # the DAG processor's parse of every file waits out the api-server's start (two cores); the worker and the
    # triggerer start beside it, as natively (stackctl/startup.py reads these conditions)
    assert services["airflow-dag-processor"]["depends_on"]["airflow-apiserver"] == {"condition": "service_healthy"}
    for name in ("airflow-worker", "airflow-triggerer"):
        assert "airflow-apiserver" not in services[name]["depends_on"]
    assert services["smee-relay"]["depends_on"]["haproxy"] == {"condition": "service_healthy"}


def test_airflow_cli_is_a_debug_tool_that_runs_airflow_commands(services):
    cli = services["airflow-cli"]
    assert cli["profiles"] == ["debug"]
    # No entrypoint override: `docker compose run --rm airflow-cli dags test weather-checker` runs
    # `airflow dags test weather-checker` through the image's entrypoint.
    assert "entrypoint" not in cli
    # the stack's own environment and bundle: another bundle list would take the running stack's DAGs over
    # (credentials differ by service: tests/stackctl/test_isolation.py)
    def shared(name):
        return {k: v for k, v in services[name]["environment"].items() if k not in CREDENTIAL_VARIABLES}
    assert shared("airflow-cli") == shared("airflow-apiserver")


def test_airflow_services_share_one_environment(main, services):
    common = main["x-airflow-common-env"]
    assert AIRFLOW_ENV_KEYS <= set(common)
    assert not CREDENTIAL_VARIABLES & set(common), "credentials go only to the services that need them"
    # airflow-cli reads the checkout's DAGs (dags test while developing), everything else the deployed ones
    own_dags = {"DAG_SOURCE", "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"}
    # the DAG processor runs without FAB's auth manager (documentation/writing-dags.md, "Who sees a DAG")
    own = {"airflow-cli": own_dags, "airflow-dag-processor": {"AIRFLOW__CORE__AUTH_MANAGER"}}
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        shared = {key: value for key, value in common.items() if key not in own.get(name, ())}
        assert {key: env[key] for key in shared} == shared, name
        assert services[name]["image"] == main["x-project-image"]["image"]
    assert common["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert common["AIRFLOW__CORE__AUTH_MANAGER"].endswith("fab_auth_manager.FabAuthManager")
    assert services["airflow-dag-processor"]["environment"]["AIRFLOW__CORE__AUTH_MANAGER"].endswith(
        "simple_auth_manager.SimpleAuthManager")
    assert common["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith("http://airflow-apiserver:")
    assert common["AIRFLOW__API__EXPOSE_CONFIG"] == "False"


def test_common_maps_are_anchored_and_merged_not_restated():
    text = MAIN.read_text()
    for anchor in ("airflow-common", "airflow-common-env", "airflow-common-depends-on"):
        assert re.search(rf"^x-{anchor}: &{anchor}$", text, re.M), anchor
    # Each Airflow-common variable is written once, in the anchored map.
    assert text.count("AIRFLOW__CORE__EXECUTOR:") == 1
    assert text.count("<<: *airflow-common\n") == len(AIRFLOW_SERVICES)


# What a remote worker holds (tests/stackctl/test_isolation.py): none of the stack's other credentials.
WORKER_SECRETS = ("REDIS_PASSWORD", "CELERY_RESULTS_PASSWORD", "HAPROXY_STATS_PASSWORD")


def test_required_secrets_fail_loudly_when_missing():
    for path, names in ((MAIN, REQUIRED_SECRETS), (WORKER, WORKER_SECRETS)):
        found = compose_variables(path.read_text())
        if path == WORKER:
            assert not set(found) & (set(REQUIRED_SECRETS) - set(WORKER_SECRETS)), "a remote worker needs none"
        for name in names:
            assert found.get(name), f"{path.name} never uses {name}"
            assert all(rest.startswith(":?") and len(rest) > 10 for rest in found[name]), (path.name, name)


def test_worker_file_joins_the_main_host(worker, main):
    svc = worker["services"]["airflow-worker"]
    assert list(worker["services"]) == ["airflow-worker"]
    # serve-logs stays on there and its port is published for the api-server.
    assert "--skip-serve-logs" not in svc["command"]
    assert svc["ports"] == ["8793:8793"]
    assert svc["hostname"].startswith("${WORKER_HOSTNAME:?")
    env = svc["environment"]
    for key in ("AIRFLOW__CELERY__BROKER_URL", "AIRFLOW__CELERY__RESULT_BACKEND",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL"):
        assert "${MAIN_HOST:?" in env[key], key
    assert "PUBLIC_WORKER_API_PORT" in env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]
    # What the main stack's workers have (compose cannot share anchors across files) but the scheduler's and the
    # DAG processor's options, and where a task finds the main host's services (their ports are fixed on the
    # compose network, the main host's HAProxy ports here).
    extra = {"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT", "DUMB_INIT_SETSID", "AIRFLOW_API_PORT", "REDIS_PORT",
             "POSTGRES_PORT"}
    not_a_worker_s = {name for name in main["x-airflow-common-env"]
                      if name.startswith(("AIRFLOW__SCHEDULER__", "AIRFLOW__DAG_PROCESSOR__"))}
    shared = set(main["x-airflow-common-env"]) - not_a_worker_s
    assert set(env) - extra - CREDENTIAL_VARIABLES - not_a_worker_s == shared
    assert "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST" in env  # the DAGs' bundle, which the worker reads too
    # and the same credentials as the main host's workers: no more
    main_worker = main["services"]["airflow-worker"]["environment"]
    assert set(env) & CREDENTIAL_VARIABLES == set(main_worker) & CREDENTIAL_VARIABLES
    assert svc["healthcheck"]["test"] == main["services"]["airflow-worker"]["healthcheck"]["test"]


def test_env_example_documents_every_variable():
    example = (REPO / ".env.example").read_text()
    documented = {}
    lines = example.splitlines()
    for index, line in enumerate(lines):
        match = re.match(r"^(?:# )?([A-Z_][A-Z0-9_]*)=(.*)$", line)
        if match:
            documented[match.group(1)] = index
    used = set(compose_variables(MAIN.read_text())) | set(compose_variables(WORKER.read_text()))
    used.discard("HOSTNAME")  # the container's own, in the worker healthcheck ($${HOSTNAME})
    used -= {name for name in used if name.startswith("DEFAULT_")}  # compose.defaults.env's, not settings
    assert used - set(documented) == set(), "variables the compose files read but .env.example omits"
    assert set(SEED_NAMES) <= set(documented)
    for name, index in documented.items():
        above = lines[index - 1]
        assert above.startswith("#") and index - 1 not in documented.values(), \
            f".env.example: {name} has no comment of its own above it"


def test_env_example_holds_no_secret_values():
    example = (REPO / ".env.example").read_text()
    for name in REQUIRED_SECRETS + ("OP_API_TOKEN", "WEBHOOK_KEY", "SMEE_URL"):
        assert re.search(rf"^# {name}=$", example, re.M), f"{name} must be left unset in .env.example"


def test_dockerfile_pins_airflow_and_installs_only_at_build():
    dockerfile = (REPO / "Dockerfile").read_text()
    froms = re.findall(r"^FROM (\S+)", dockerfile, re.M)
    assert "apache/airflow:3.3.2-python3.11" in froms
    assert all(":" in image and not image.endswith(":latest") for image in froms)
    assert "RUN pip install --no-cache-dir -r /opt/airflow/requirements.txt" in dockerfile
    assert "npm ci --prefix relay" in dockerfile  # the relay's lock file pins smee-client
    assert '"smee-client": "5.0.0"' in (REPO / "relay" / "package.json").read_text()
    # Nothing installs when a container starts.
    assert not re.search(r"^(CMD|ENTRYPOINT).*\b(pip|npm|uv)\b", dockerfile, re.M)
    compose_text = MAIN.read_text() + WORKER.read_text()
    assert "_PIP_ADDITIONAL_REQUIREMENTS" not in compose_text
    assert not re.search(r"\b(pip|npm) install\b", compose_text)
    assert "apache-airflow==3.3.2" in (REPO / "requirements.txt").read_text().splitlines()


def test_dockerignore_keeps_state_and_secrets_out_of_the_image():
    ignored = set((REPO / ".dockerignore").read_text().split())
    assert {".git", ".env", ".state", ".venv", "dev/onepassword-items.json"} <= ignored


def example_env(**overrides):
    """The values of .env.example, with the required secrets filled in."""
    env = {k: v for k, v in dotenv.dotenv_values(REPO / ".env.example").items() if v is not None}
    env.update(dict.fromkeys(REQUIRED_SECRETS, "s3cr3t-value-for-tests"))
    env.update(MAIN_HOST="10.1.2.3", WORKER_HOSTNAME="worker-2.example.org",
               DEPLOY_REPO_URL="https://github.com/example/airflow.git")
    env.update(overrides)
    return env


@pytest.mark.parametrize("path", [MAIN, WORKER], ids=lambda p: p.name)
def test_interpolated_files_are_still_valid(schema, path):
    data = compose.config(example_env(), path)
    errors = list(jsonschema.Draft7Validator(schema).iter_errors(data))
    assert not errors, [error.message for error in errors]


@pytest.mark.parametrize("including", INCLUDES, ids=lambda p: p.name)
def test_the_includes_give_the_services_with_the_defaults(including):
    """What `docker compose` reads (docker-compose.yaml, docker-compose.worker.yaml: an include of the services
    with compose.defaults.env) is what stackctl reads (the services file with the defaults as --env-file)."""
    assert yaml.safe_load(including.read_text())["include"] == [
        {"path": INCLUDES[including].name, "env_file": compose.DEFAULTS_FILE.name}]
    for overrides in ({}, {"PUBLIC_AIRFLOW_PORT": "9090", "POSTGRES_USER": "owner", "WORKER_CONCURRENCY": ""}):
        env = {k: v for k, v in example_env(**overrides).items() if not k.startswith("COMPOSE_")}
        argv = [compose.binary(), "--file", str(including), "--project-directory", str(REPO),
                "--project-name", "stack", "--env-file", os.devnull,
                "--profile", "*", "config", "--format", "json"]
        result = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
        included = json.loads(result.stdout)
        direct = compose.config(env, INCLUDES[including])
        assert {k: v for k, v in included.items() if k != "name"} == {
            k: v for k, v in direct.items() if k != "name" and not k.startswith("x-")}


def test_the_environment_overrides_the_defaults_and_empty_means_default():
    env = compose.config(example_env(POSTGRES_USER="owner", FLOWER_USERNAME=""))["services"]
    assert env["postgres"]["environment"]["POSTGRES_USER"] == "owner"
    assert "//owner:" in env["airflow-apiserver"]["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert env["flower"]["environment"]["FLOWER_BASIC_AUTH"].startswith("admin:")


def test_interpolated_values_are_the_documented_defaults():
    services = compose.config(example_env())["services"]
    published = services["haproxy"]["ports"][0]
    assert (published["published"], published["target"], published.get("host_ip")) == ("8080", 8080, None)
    env = services["airflow-apiserver"]["environment"]
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == (
        "postgresql+psycopg2://airflow:s3cr3t-value-for-tests@postgres:5432/airflow")
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert env["AIRFLOW__API__BASE_URL"] == "http://localhost:8080"
    # the output is itself a compose file: the container's own variables stay escaped
    assert services["postgres"]["healthcheck"]["test"][1].endswith('-d "$${POSTGRES_DB}"')
    moved = compose.config(example_env(PUBLIC_AIRFLOW_PORT="9090", AIRFLOW__API__BASE_URL=""))["services"]
    assert (moved["haproxy"]["ports"][0]["published"], moved["haproxy"]["ports"][0]["target"]) == ("9090", 8080)
    assert moved["airflow-apiserver"]["environment"]["AIRFLOW__API__BASE_URL"] == "http://localhost:9090"


@pytest.mark.parametrize("name", REQUIRED_SECRETS)
def test_a_missing_secret_stops_compose_with_its_name(name):
    with pytest.raises(compose.ComposeError, match=rf"required variable {name} is missing a value: set {name} "):
        compose.config(example_env(**{name: ""}))


CERTIFICATE = "haproxy/certs/site.pem"


def user_config(**overrides) -> dict:
    """`docker compose config` as a user gets it with these variables in .env: only the services their
    COMPOSE_PROFILES start, every value interpolated."""
    argv = [compose.binary(), "--file", str(REPO / "docker-compose.yaml"), "--project-directory", str(REPO),
            "--project-name", "stack", "--env-file", os.devnull, "config", "--format", "json"]
    result = subprocess.run(argv, env=example_env(**overrides), capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def tls_targets(config: dict, folder: Path) -> list[tuple[str, str]]:
    """(exporter, probed address) of each target Prometheus keeps in its `tls` job, as promtool relabels them."""
    path = folder / "prometheus.yml"
    path.write_text(config["configs"]["prometheus-yml"]["content"].replace("$$", "$"))
    check = subprocess.run(["promtool", "check", "service-discovery", "--timeout=5s", str(path), "tls"],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    return [(t["labels"]["__address__"], t["labels"]["__param_target"]) for t in json.loads(check.stdout)
            if t["labels"]]  # empty labels: the target is dropped


@pytest.mark.parametrize(("profiles", "certificate", "watched"), [
    ("dev,monitoring", "", False),
    ("dev,monitoring,tls", CERTIFICATE, True)], ids=["no-certificate", "certificate"])
def test_blackbox_exporter_and_the_tls_job_run_only_with_a_certificate(tmp_path, profiles, certificate, watched):
    """Without TLS_CERT_PATH HAProxy has no TLS listener: no blackbox-exporter and no target in Prometheus' tls job
    (none that is always down). With it and the `tls` profile, blackbox-exporter probes HAProxy's TLS port."""
    config = user_config(COMPOSE_PROFILES=profiles, TLS_CERT_PATH=certificate)
    assert {"prometheus", "alertmanager", "statsd-exporter", "dashboard"} <= set(config["services"])
    assert ("blackbox-exporter" in config["services"]) is watched
    assert tls_targets(config, tmp_path) == ([("blackbox-exporter:9115", "haproxy:8443")] if watched else [])
    environment = {k: v for k, v in config["services"]["airflow-init"]["environment"].items() if v is not None}
    check = "import os; from stackctl import init; init.check_environment(dict(os.environ))"  # its first step
    init = subprocess.run([sys.executable, "-c", check], env={**environment, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=60)
    assert init.returncode == 0, init.stderr


@pytest.mark.parametrize(("profiles", "certificate", "named"), [
    ("dev,monitoring", CERTIFICATE, "COMPOSE_PROFILES names `monitoring` but not `tls` while TLS_CERT_PATH is set"),
    ("dev,monitoring,tls", "", "TLS_CERT_PATH is not set but COMPOSE_PROFILES names `tls`"),
    ("dev,tls", CERTIFICATE, "COMPOSE_PROFILES names `tls` without `monitoring`")],
    ids=["certificate-unwatched", "nothing-to-watch", "no-prometheus"])
def test_airflow_init_stops_when_the_tls_profile_and_the_certificate_disagree(profiles, certificate, named):
    """The stack does not start, and `docker compose logs airflow-init` says which variable to change."""
    config = user_config(COMPOSE_PROFILES=profiles, TLS_CERT_PATH=certificate)
    environment = {k: v for k, v in config["services"]["airflow-init"]["environment"].items() if v is not None}
    init = subprocess.run([sys.executable, "-m", "stackctl.init"], env={**environment, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=60)
    assert (init.returncode, init.stderr.splitlines()[-1].startswith(f"airflow-init: {named}")) == (2, True), \
        init.stderr
