"""The native stack, derived from docker-compose.yaml: each service becomes a program of ours, or says why not.

Compose resolves the file (stackctl/compose.py) with the native settings as its variables, so ports, credentials
and defaults are the file's. What Compose cannot know is in the tables below: where the images' programs are
on this machine, which host names and container paths stand for what here, and which profiles run when.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from stackctl import alerting, compose, devservices, monitoring, native, system
from stackctl.settings import Settings

# ---- what Compose cannot say: the one table of native facts -------------------------------------------------
# Service host names on the compose network -> (the setting holding the host here, the setting holding the port
# here when the container's port is fixed rather than a variable). None: loopback.
HOSTS: dict[str, tuple[str | None, str | None]] = {
    "postgres": ("POSTGRES_HOST", None),
    "redis": ("REDIS_HOST", None),
    "airflow-apiserver": ("AIRFLOW_API_HOST", None),
    "webhook": ("WEBHOOK_HOST", None),
    "flower": ("FLOWER_HOST", None),
    "diagnostics": ("DIAGNOSTICS_HOST", None),
    "haproxy": ("HAPROXY_BIND", None),
    "localhost": ("HAPROXY_BIND", None),  # in a value a browser follows (AIRFLOW__API__BASE_URL): HAProxy's
    "fake-onepassword": (None, "FAKE_ONEPASSWORD_PORT"),
    "fake-slack": (None, "FAKE_SLACK_PORT"),
    "fixture-server": (None, "FIXTURE_SERVER_PORT"),
    # the `monitoring` profile
    "statsd-exporter": (None, None),  # where Airflow sends StatsD
    "prometheus": ("PROMETHEUS_HOST", None),
    "alertmanager": ("ALERTMANAGER_HOST", None),
    "dashboard": ("DASHBOARD_HOST", None),
}
DEV_CONTAINER_PORT = "8080"  # where each `dev` profile fake listens in its container
# Ports the compose file writes as numbers, `service:port` as the service listens in its container (inside the
# compose network they never change) -> the setting holding that port here. Every native program is given these
# settings (and PUBLIC_*), and reads its own port from them; Airflow's servers through AIRFLOW_LISTEN.
PORTS = {
    "postgres:5432": "POSTGRES_PORT",
    "redis:6379": "REDIS_PORT",
    "airflow-apiserver:8080": "AIRFLOW_API_PORT",
    "flower:5555": "FLOWER_PORT",
    "webhook:8000": "WEBHOOK_PORT",
    "diagnostics:8000": "DIAGNOSTICS_PORT",
    "haproxy:8081": "PUBLIC_WEBHOOK_PORT",  # HAProxy's binds: haproxy.cfg's defaults
    "haproxy:8084": "PUBLIC_STATS_PORT",
    # the `monitoring` profile
    "haproxy:8405": "HAPROXY_METRICS_PORT",
    "prometheus:9090": "PROMETHEUS_PORT",
    "alertmanager:9093": "ALERTMANAGER_PORT",
    "dashboard:8090": "DASHBOARD_PORT",
    "statsd-exporter:9125": "STATSD_PORT",  # StatsD (UDP)
    "statsd-exporter:9102": "STATSD_EXPORTER_PORT",
    "blackbox-exporter:9115": "BLACKBOX_EXPORTER_PORT",
}
# Where Airflow's servers listen: compose leaves Airflow's own defaults, the container ports above. And where
# Airflow sends StatsD (compose: statsd-exporter's fixed 9125).
AIRFLOW_LISTEN = {"AIRFLOW__API__PORT": "AIRFLOW_API_PORT", "AIRFLOW__CELERY__FLOWER_PORT": "FLOWER_PORT",
                  "AIRFLOW__METRICS__STATSD_PORT": "STATSD_PORT"}
EVERYWHERE = "0.0.0.0"  # a container listens on every interface; a native program on BIND_HOST (HAProxy: HAPROXY_BIND)
# Paths inside the images -> here (longest first).
PATHS: dict[str, Callable[[Settings], Path | str]] = {
    "/opt/airflow/project/dags": lambda s: s.dags_folder,
    "/opt/airflow/project": lambda s: s.project_dir,
    "/opt/airflow/state": lambda s: s.state_dir,
    "/opt/airflow/diagnostics": lambda s: s["DIAGNOSTICS_DIR"],
    "/usr/local/etc/redis/redis.conf": lambda s: s.state_dir / "redis" / "redis.conf",  # stackctl/redis.py
    "devtools/onepassword-items.example.json": devservices.items_file,  # the editable copy `up` makes
    **{inside: (lambda s, inside=inside: monitoring.config_path(s, inside))  # stackctl/monitoring.py writes them
       for inside in monitoring.CONFIGS.values()},
    alerting.CONTAINER_PATH: alerting.config_path,  # stackctl/alerting.py writes it
}
# What the images give their programs that a native program needs said: PostgreSQL's data and socket folders.
IMAGE_ARGS: dict[str, Callable[[Settings], list[str]]] = {
    "postgres": lambda s: ["-p", s["POSTGRES_PORT"], "-D", str(native.postgres_dirs(s)[0]),
                           "-c", f"listen_addresses={s['BIND_HOST']}", "-k", str(native.postgres_dirs(s)[1])],
}
# Compose variables a native program does without, and why.
COMPOSE_ONLY = {
    "DUMB_INIT_SETSID": "the image's init; supervisord signals the worker itself",
    "FORWARDED_ALLOW_IPS": "HAProxy reaches the programs over loopback, which gunicorn and uvicorn trust already; "
                           "'*' would trust every local user's X-Forwarded-* headers",
    "REDISCLI_AUTH": "for the healthcheck's redis-cli; natively the check speaks to Redis itself",
    monitoring.TLS_CERT_CONFIGURED: "airflow-init's check of compose's `tls` profile against TLS_CERT_PATH; natively "
                                    "TLS_CERT_PATH alone starts blackbox-exporter (PROFILES)",
}
# Profiles: when their services run here, and why not otherwise.
PROFILES: dict[str, tuple[Callable[[Settings], bool], str]] = {
    "dev": (devservices.enabled, "a development stand-in: not with ENVIRONMENT=production"),
    "relay": (lambda s: bool(s.get("SMEE_URL")), "the smee relay: SMEE_URL is not set"),
    "debug": (lambda s: False, "an operator's command: `./stack airflow ...` runs it (Stack.cli)"),
    "monitoring": (monitoring.enabled, "metrics: COMPOSE_PROFILES does not name `monitoring`"),
    "tls": (monitoring.certificate_watched, "the certificate's watch: TLS_CERT_PATH is not set (or COMPOSE_PROFILES "
                                            "does not name `monitoring`)"),
}
# The Airflow image's entrypoint runs `airflow <command>` unless the command is one of these.
AIRFLOW_ENTRYPOINT_PASSES = ("python", "bash")
VENV_PROGRAMS = ("airflow", "python", "gunicorn")
LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"


@dataclass(frozen=True)
class Program:
    """A compose service as a native program."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(repr=False)
    depends_on: dict[str, str]  # service -> compose condition
    restart: bool  # supervisord restarts it when it dies (compose: a restart policy)
    oneshot: bool  # no restart policy: `up` runs it to completion before what depends on it
    healthcheck: list[str]  # compose's test, with this machine's addresses
    stop_seconds: float | None  # compose's stop_grace_period


@dataclass(frozen=True)
class Stack:
    programs: dict[str, Program]  # in start order (depends_on)
    without: dict[str, str]  # compose services with no native program here -> why
    cli: Program  # `./stack airflow ...`: the compose airflow-cli service
    credentials: dict[str, tuple[str, ...]]  # x-credentials: group -> its variables

    def supervised(self) -> list[Program]:
        return [p for p in self.programs.values() if not p.oneshot]


def load(settings: Settings, lenient: bool = False) -> Stack:
    """The native stack for these settings. `lenient`: for reading names and checks without the secrets."""
    config = compose.config(settings.values, lenient=lenient)
    credentials = {group: tuple(env) for group, env in config["x-credentials"].items()}
    services = config["services"]
    programs, without = {}, {}
    for name in start_order(services):
        reason = _why_not(settings, services[name])
        if reason:
            without[name] = reason
        else:
            programs[name] = program(settings, config, name, credentials)
    return Stack(programs, without, program(settings, config, "airflow-cli", credentials), credentials)


def given(settings: Settings, name: str) -> str:
    """A variable as compose gives it to the programs with these settings: its value here, else compose's default
    (compose.defaults.env holds each default once; the native runner has no copy)."""
    stack = load(settings, lenient=True)
    for program in (*stack.programs.values(), stack.cli):
        if name in program.env:
            return program.env[name]
    raise compose.ComposeError(f"no compose service is given {name}")


def _why_not(settings: Settings, service: dict) -> str:
    for profile in service.get("profiles") or ():
        if profile not in PROFILES:
            raise compose.ComposeError(f"profile {profile!r} has no native rule: say in stackctl/services.py "
                                       f"(PROFILES) when its services run here")
        runs, reason = PROFILES[profile]
        if not runs(settings):
            return reason
    return ""


def start_order(services: dict[str, dict]) -> list[str]:
    """Service names, each after everything it depends on (compose's depends_on); ties by name."""
    order: list[str] = []
    pending = sorted(services)
    while pending:
        ready = [n for n in pending if set(services[n].get("depends_on") or {}) <= set(order)]
        if not ready:
            raise compose.ComposeError(f"depends_on has a cycle among {', '.join(pending)}")
        order += ready
        pending = [n for n in pending if n not in ready]
    return order


def program(settings: Settings, config: dict, name: str, credentials: dict[str, tuple[str, ...]]) -> Program:
    service = config["services"][name]
    here = _Mapper(settings, name)
    compose_env = service.get("environment") or {}
    env = {k: here.value(v) for k, v in compose_env.items()
           if v is not None and k not in COMPOSE_ONLY and not here.at_absent_fake(v)}
    airflow = {k for k, v in config["x-airflow-common-env"].items() if v is not None} <= set(compose_env)
    env = _with_native_basics(settings, env, airflow, credentials)
    test = (service.get("healthcheck") or {}).get("test") or []
    return Program(name=name, argv=_argv(settings, service, here), env=env,
                   depends_on={k: v["condition"] for k, v in (service.get("depends_on") or {}).items()},
                   restart=service.get("restart", "no") != "no", oneshot=service.get("restart", "no") == "no",
                   healthcheck=[here.value(part, inside=True) for part in test],
                   stop_seconds=_seconds(service.get("stop_grace_period")))


def _argv(settings: Settings, service: dict, here: _Mapper) -> list[str]:
    command = [here.value(arg, inside=True) for arg in service["command"]]
    build = service.get("build") or {}
    airflow_image = build and not build.get("target")  # the Dockerfile's last stage
    if airflow_image and service.get("entrypoint") is None and command[0] not in AIRFLOW_ENTRYPOINT_PASSES:
        command = ["airflow", *command]
    head, *rest = command
    if head in VENV_PROGRAMS:
        head = settings.bin(head)
    elif "/" in head:
        head = str(settings.project_dir / head)
    else:
        head = system.which(head) or head
    image = (service.get("image") or "").split(":")[0]
    return [head, *rest, *IMAGE_ARGS.get(image, lambda s: [])(settings)]


def _seconds(duration: str | None) -> float | None:
    """Compose's normalised duration (`2m0s`, `1m30.5s`) in seconds."""
    if not duration:
        return None
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return sum(float(n) * units[u] for n, u in re.findall(r"([\d.]+)(ms|h|m|s)", duration))


def native_text(settings: Settings, service: str, text: str) -> str:
    """A file a service reads, written with the compose network's names, ports and paths -> this machine's."""
    return _Mapper(settings, service).value(text)


class _Mapper:
    """Compose values -> this machine's: host names, container ports and paths, listen addresses."""

    def __init__(self, settings: Settings, service: str):
        self.settings = settings
        self.service = service
        dev = devservices.enabled(settings)
        self.hosts = {name: (settings[host] if host else "127.0.0.1", settings[port] if port else None)
                      for name, (host, port) in HOSTS.items() if dev or not port}  # no fake runs: names stay
        self.paths = {container: str(here(settings)) for container, here in PATHS.items()}
        self.absent = [name for name in HOSTS if name not in self.hosts]

    def at_absent_fake(self, value: str) -> bool:
        """A default pointing at a `dev` fake that does not run here (production): the variable is left out, and
        the program's own default (the real service) applies."""
        return any(f"//{name}:" in value for name in self.absent)

    def value(self, value: str, inside: bool = False) -> str:
        """`inside`: an argument of the service's own command or check, where `localhost` and its port mean
        itself (and a word such as `postgres` is a program, not a host)."""
        s = self.settings
        everywhere = s["HAPROXY_BIND"] if self.service == "haproxy" else s["BIND_HOST"]
        if value == EVERYWHERE:
            return everywhere
        if inside and value.startswith(f"{EVERYWHERE}:"):  # a listen address (--web.listen-address 0.0.0.0:9090)
            return f"{everywhere}:{self._port(self.service, value.split(':', 1)[1])}"
        own_port = self.hosts.get(self.service, (None, None))[1]
        if inside and own_port and value == DEV_CONTAINER_PORT:
            return own_port
        if inside and f"{self.service}:{value}" in PORTS:  # the port it listens on
            return s[PORTS[f"{self.service}:{value}"]]
        if not inside and value in self.hosts and value != "localhost":  # a host name alone (REDIS_HOST: redis)
            return self.hosts[value][0]
        for container, path in self.paths.items():
            value = value.replace(container, path)
        return re.sub(r"(?<=//)([\w.-]+)(?::(\d+))?|(?<=@)([\w.-]+)(?::(\d+))?", lambda m: self._host(m, inside),
                      value)

    def _host(self, match: re.Match, inside: bool) -> str:
        name, port = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
        if inside and name == "localhost":  # the service's own check: where it listens here
            host, own_port = self.settings["BIND_HOST"], self.hosts.get(self.service, (None, None))[1]
            return f"{host}:{own_port or self._port(self.service, port)}" if port else host
        if name not in self.hosts:
            return match.group(0)
        host, fixed_port = self.hosts[name]
        return f"{host}:{fixed_port or self._port(name, port)}" if port else host

    def _port(self, name: str, port: str) -> str:
        """A container port written as a number in the compose file -> this machine's; others were interpolated
        with this machine's values already."""
        setting = PORTS.get(f"{name}:{port}")
        return self.settings[setting] if setting else port


def _with_native_basics(settings: Settings, env: dict[str, str], airflow: bool,
                        credentials: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """What every native program needs besides its compose environment; for Airflow's, what the image gives."""
    basics = {name: os.environ[name] for name in native.PASSTHROUGH if name in os.environ}
    basics["PATH"] = f"{settings.venv_dir / 'bin'}:{basics.get('PATH', '/usr/local/bin:/usr/bin:/bin')}"
    basics.update(HOME=str(settings.state_dir), PYTHONPATH=str(settings.project_dir),
                  STACK_STATE_DIR=str(settings.state_dir))
    # where every program is here: compose's programs find each other by their defaults (the container ports)
    addresses = {*PORTS.values(), *(host for host, _ in HOSTS.values() if host)}
    public = {name for name in settings.values if name.startswith("PUBLIC_")}
    basics.update({name: settings[name] for name in addresses | public})
    env = {**basics, **env}
    if not airflow:
        return env
    secret = {name for names in credentials.values() for name in names}
    # any other Airflow option set in .env or the environment reaches every Airflow program (not a credential:
    # those only where compose gives them)
    env.update({k: v for k, v in settings.values.items()
                if k.startswith("AIRFLOW__") and k not in env and k not in secret})
    home = native.airflow_home(settings)
    env.update({option: settings[port] for option, port in AIRFLOW_LISTEN.items()})
    env.update({
        "AIRFLOW_HOME": str(home),  # the image's /opt/airflow
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(settings.state_dir / "logs" / "airflow"),
        # Airflow's default is a fixed folder under /tmp, which every stack on the machine would share
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH": str(home / "dag_bundles"),
        # natively the DAGs may come from the working tree (DAG_SOURCE, development's default): compose's
        # bundle is the gitops one
        "DAG_SOURCE": settings["DAG_SOURCE"],
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
            dag_bundles(settings, json.loads(env["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"]))),
    })
    return env


def dag_bundles(settings: Settings, gitops: list[dict]) -> list[dict]:
    """Where Airflow reads DAGs: the deploy mirror (compose's bundles) or the working tree; extra folders
    (tests) when configured."""
    bundles = gitops if settings["DAG_SOURCE"] == "gitops" else [
        {"name": "dags-folder", "classpath": LOCAL_BUNDLE,
         "kwargs": {"path": str(settings.dags_folder), "refresh_interval": 5}}]
    extra = settings.get("STACK_EXTRA_DAGS_FOLDER")
    if extra:
        bundles.append({"name": "extra-dags", "classpath": LOCAL_BUNDLE,
                        "kwargs": {"path": extra, "refresh_interval": 5}})
    return bundles
