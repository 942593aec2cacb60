"""Business metrics from tasks (rows loaded, dirty rows dropped) as StatsD packets to the statsd-exporter.

    from dagutils import metrics

    metrics.count("dirty_rows_dropped", len(dropped))   # a counter: adds up across runs
    metrics.gauge("orders_in_export", len(rows))        # a gauge: the last value wins

Each packet is one plain StatsD line, `airflow_business.<name>.<dag_id>.<task_id>:<value>|c` (or `|g`), the
ids of the task sending it in the name (dots in them become "_"): the statsd-exporter (collectd's statsd
plugin) takes no tags. Prometheus' scrape turns the ids into labels, as it does for Airflow's own per-task
names: `airflow_business_dirty_rows_dropped_total{dag_id="orders_upsert",task_id="clean"}`
(documentation/monitoring.md). Where the packets go is Airflow's own StatsD setting ([metrics] statsd_on,
statsd_host, statsd_port: AIRFLOW__METRICS__STATSD_*), so business metrics reach the same exporter as
Airflow's; with StatsD off nothing is sent.

Sending never fails the task: an exporter that is absent, a host that does not resolve or a bad setting logs
one warning per process and the task goes on. A bad metric name is a programming error and raises.
"""

from __future__ import annotations

import logging
import re
import socket
from dataclasses import dataclass

log = logging.getLogger(__name__)

PREFIX = "airflow_business"
NAME = re.compile(r"[a-z][a-z0-9_]{0,99}")
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")  # dots would split the name, ':' and '|' the line
_warned: set[str] = set()


@dataclass(frozen=True)
class Target:
    """Where packets go: an exporter's UDP address, or nowhere (StatsD off)."""

    host: str | None
    port: int = 0

    @classmethod
    def from_airflow(cls) -> Target:
        """Airflow's [metrics] statsd_* settings, as this process sees them (environment or airflow.cfg)."""
        from airflow.sdk import conf

        if not conf.getboolean("metrics", "statsd_on", fallback=False):
            return cls(None)
        port = conf.get("metrics", "statsd_port", fallback="8125")
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"AIRFLOW__METRICS__STATSD_PORT must be a port number, got {port!r}")
        return cls(conf.get("metrics", "statsd_host", fallback="localhost"), int(port))


def packet(name: str, value: float, kind: str, ids: tuple[str, ...] = ()) -> bytes:
    """One StatsD line (two for a negative gauge, which StatsD would read as a decrement)."""
    if not NAME.fullmatch(name):
        raise ValueError(f"metric name {name!r} must be lower-case letters, digits and '_', starting with a letter")
    full = ".".join((PREFIX, name, *(_ID_UNSAFE.sub("_", str(i)) for i in ids)))
    if kind == "g" and value < 0:
        return f"{full}:0|g\n{full}:{value:g}|g".encode()
    return f"{full}:{value:g}|{kind}".encode()


def send(data: bytes, target: Target) -> bool:
    """Send one UDP datagram; False (and one warning per process and problem) if it could not be sent."""
    if target.host is None:
        return False
    try:
        address = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_DGRAM)[0]
        with socket.socket(address[0], socket.SOCK_DGRAM) as sock:
            sock.sendto(data, address[4])
        return True
    except OSError as error:
        _warn_once(f"{target.host}:{target.port}", f"StatsD exporter {target.host}:{target.port} unreachable "
                                                   f"({error}); business metrics are not sent")
        return False


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        log.warning("%s", message)


def _task_ids() -> tuple[str, ...]:
    """dag_id and task_id of the running task; nothing outside a task."""
    try:
        from airflow.sdk import get_current_context

        ti = get_current_context()["ti"]
    except Exception:  # outside a task (a test, a script): no context, no ids
        return ()
    return ti.dag_id, ti.task_id


def _emit(name: str, value: float, kind: str) -> bool:
    data = packet(name, value, kind, _task_ids())
    try:
        target = Target.from_airflow()
    except Exception as error:  # a bad setting must not fail the task that reports
        _warn_once("settings", f"business metrics are not sent: {error}")
        return False
    return send(data, target)


def count(name: str, value: int = 1) -> bool:
    """Add `value` to the counter `name`; True if a packet was sent."""
    return _emit(name, value, "c")


def gauge(name: str, value: float) -> bool:
    """Set the gauge `name` to `value`; True if a packet was sent."""
    return _emit(name, value, "g")
