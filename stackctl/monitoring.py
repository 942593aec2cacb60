"""The `monitoring` profile natively: when it runs, and the configuration files its programs read.

Prometheus' and collectd's files are written once, in compose.services.yaml (`configs:` prometheus-yml and
collectd-conf), with the compose network's names; here they get this machine's addresses and paths and are
written to the state folder, where the programs (derived from the same services) read them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from stackctl import compose, system
from stackctl.settings import Settings, SettingsError

PROFILE = "monitoring"
# blackbox-exporter's profile: it watches the certificate of HAProxy's TLS listener, which exists only when
# TLS_CERT_PATH is set. Natively TLS_CERT_PATH decides (certificate_watched); under compose the profile, which
# airflow-init checks against TLS_CERT_PATH (tls_profile_error), given to it as TLS_CERT_CONFIGURED.
TLS_PROFILE = "tls"
TLS_CERT_CONFIGURED = "TLS_CERT_CONFIGURED"
# compose config -> where the service finds it in its container (docker-compose.yaml)
CONFIGS = {"prometheus-yml": "/etc/prometheus/prometheus.yml", "collectd-conf": "/etc/collectd/collectd.conf",
           "blackbox-yml": "/etc/prometheus/blackbox.yml"}
STATE_IN_CONTAINER = "/opt/airflow/state"
PROJECT_IN_CONTAINER = "/opt/airflow/project"
# an address on the compose network, "service:port" in quotes, on a line that sets a target or its __address__
TARGET = re.compile(r'"([a-z][a-z0-9-]*):(\d+)"')
TARGET_LINES = ("targets:", "__address__")
# HAProxy's TLS port (probed for its certificate): natively haproxy.cfg's own 8443 unless PUBLIC_HTTPS_PORT is set
OPTIONAL_PORTS = {"haproxy:8443": "PUBLIC_HTTPS_PORT"}
# configs holding where their service listens (collectd's `Host "0.0.0.0"` and `Port "9125"` lines) -> the service.
# A `Host` line naming another service (collectd's postgresql and redis plugins: `Host "postgres"`) is where that
# one listens, and the `Port` line after it is that service's port.
LISTENERS = {"collectd-conf": "statsd-exporter"}
LISTEN_LINE = re.compile(r'^(\s*)(Host|Port) "([^"]*)"$')
JOB_LINE = re.compile(r"^(\s*)- job_name: ")  # a scrape job of prometheus-yml


def enabled(settings: Settings) -> bool:
    """COMPOSE_PROFILES names `monitoring` (the same switch as under compose)."""
    return switched_on(settings.values)


def switched_on(values: Mapping[str, str]) -> bool:
    return PROFILE in profiles(values)


def profiles(values: Mapping[str, str]) -> list[str]:
    return [p.strip() for p in (values.get("COMPOSE_PROFILES") or "").split(",")]


def certificate_watched(settings: Settings) -> bool:
    """Natively blackbox-exporter runs when the profile is on and HAProxy serves a certificate (TLS_CERT_PATH)."""
    return enabled(settings) and bool(settings.get("TLS_CERT_PATH"))


def tls_profile_error(values: Mapping[str, str]) -> SettingsError | None:
    """Under compose (airflow-init is given TLS_CERT_CONFIGURED), a `tls` profile that disagrees with TLS_CERT_PATH,
    naming the variable: a certificate nobody watches, or blackbox-exporter with nothing to probe. Natively
    TLS_CERT_PATH alone decides, and there is nothing to disagree."""
    if TLS_CERT_CONFIGURED not in values:
        return None
    named, certificate = profiles(values), bool(values[TLS_CERT_CONFIGURED])
    if certificate and PROFILE in named and TLS_PROFILE not in named:
        return SettingsError("COMPOSE_PROFILES", "names `monitoring` but not `tls` while TLS_CERT_PATH is set: add "
                             "`tls` so that blackbox-exporter watches the certificate's expiry")
    if TLS_PROFILE in named and not certificate:
        return SettingsError("TLS_CERT_PATH", "is not set but COMPOSE_PROFILES names `tls`: blackbox-exporter would "
                             "have no certificate to watch; set TLS_CERT_PATH or remove `tls`")
    if TLS_PROFILE in named and PROFILE not in named:
        return SettingsError("COMPOSE_PROFILES", "names `tls` without `monitoring`: blackbox-exporter reports to "
                             "the profile's Prometheus only; add `monitoring` or remove `tls`")
    return None


def packages(values: Mapping[str, str]) -> tuple[str, ...]:
    """The Debian packages its programs need, when it is on."""
    return system.MONITORING_PACKAGES if switched_on(values) else ()


def folder(settings: Settings) -> Path:
    return settings.state_dir / "monitoring"


def config_path(settings: Settings, container_path: str) -> Path:
    """Where the native program reads the file its container reads at `container_path`."""
    return folder(settings) / Path(container_path).name


def write_configs(settings: Settings) -> None:
    """Write each config of the profile (as compose resolves it) for the native programs; private, as
    Prometheus' holds Flower's password."""
    from stackctl import services  # it derives the programs from this module's tables

    configs = compose.config(settings.values)["configs"]
    absent = set(services.load(settings).without)
    root = folder(settings)
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    for name, container_path in CONFIGS.items():
        text = configs[name]["content"]
        if name == "prometheus-yml":
            text = without_jobs_of(text, absent)
        path = config_path(settings, container_path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(native_text(settings, text, LISTENERS.get(name)))


def without_jobs_of(text: str, absent: set[str]) -> str:
    """Prometheus' file without the scrape jobs (and the comment lines just above them) whose target or exporter
    (`__address__`) is a service that does not run here: a job of an absent program would be always down."""
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        match = JOB_LINE.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        indent, end = len(match.group(1)), i + 1
        while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent):
            end += 1
        block = lines[i:end]
        named = {m.group(1) for line in block if any(word in line for word in TARGET_LINES)
                 for m in TARGET.finditer(line)}
        if named & absent:
            while out and out[-1].strip().startswith("#") and len(out[-1]) - len(out[-1].lstrip()) == indent:
                out.pop()
        else:
            out += block
        i = end
    return "\n".join(out)


def native_text(settings: Settings, text: str, service: str | None = None) -> str:
    """A config as compose resolved it -> this machine's: `$$` is compose's escaped `$`; every target is on
    BIND_HOST; `service` (whose config it is) listens on BIND_HOST at its port settings; the state folder's file
    system is the one its folder lives on; paths are the checkout's."""
    text = text.replace("$$", "$")
    if service:
        text = listen_lines(settings, text, service)
    text = "\n".join(TARGET.sub(lambda m: f'"{address(settings, m.group(1), m.group(2))}"', line)
                     if any(word in line for word in TARGET_LINES) else line for line in text.split("\n"))
    text = text.replace(f'"{STATE_IN_CONTAINER}"', f'"{mount_point(settings.state_dir)}"')
    return text.replace(PROJECT_IN_CONTAINER, str(settings.project_dir))


def address(settings: Settings, service: str, port: str) -> str:
    """A service's address on the compose network -> here: its host setting (else BIND_HOST), and the setting
    of its fixed container port (services.PORTS)."""
    from stackctl import services  # it derives the programs from this module's tables

    host = services.HOSTS.get(service, (None, None))[0]
    port_setting = services.PORTS.get(f"{service}:{port}")
    port = settings[port_setting] if port_setting else settings.get(OPTIONAL_PORTS.get(f"{service}:{port}", ""), port)
    return f"{settings[host] if host else settings['BIND_HOST']}:{port}"


def listen_lines(settings: Settings, text: str, service: str) -> str:
    """`Host`/`Port` lines here: every interface is BIND_HOST and a port of `service` its setting; a `Host` naming
    another service is that service's address here, and the `Port` line after it that service's port setting."""
    from stackctl import services

    out, owner = [], service
    for line in text.split("\n"):
        match = LISTEN_LINE.match(line)
        if match:
            indent, kind, value = match.groups()
            if kind == "Host" and value == services.EVERYWHERE:
                owner, value = service, settings["BIND_HOST"]
            elif kind == "Host":
                owner = value
                value = address(settings, value, "").rsplit(":", 1)[0]
            else:
                value = address(settings, owner, value).rsplit(":", 1)[1]
            line = f'{indent}{kind} "{value}"'
        out.append(line)
    return "\n".join(out)


def mount_point(path: Path) -> Path:
    path = path.resolve()
    while not os.path.ismount(path):
        path = path.parent
    return path
