"""Check that the ports the stack will bind are free, naming whoever holds one."""

from __future__ import annotations

import socket
from pathlib import Path

import psutil

LOCAL_PORT_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


class PortInUse(RuntimeError):
    """A port the stack needs is taken by another process."""


def first_ephemeral() -> int:
    """The lowest port Linux hands to outgoing connections (ip_local_port_range). A server port at or above it can
    be taken as the local end of any connection between the moment it was found free and the server's bind."""
    try:
        return int(LOCAL_PORT_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def holder(port: int) -> str:
    """Describe the process listening on `port`, as far as we are allowed to see it."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, PermissionError):
        return "a process this user cannot see"
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            if conn.pid is None:
                return "a process this user cannot see"
            try:
                proc = psutil.Process(conn.pid)
                return f"pid {conn.pid} ({' '.join(proc.cmdline())[:120] or proc.name()})"
            except psutil.Error:
                return f"pid {conn.pid}"
    return "an unknown process"


def check_free(ports: dict[str, int], host: str) -> None:
    """Raise PortInUse for the first taken port, with the variable that sets it and the process holding it."""
    for name, port in ports.items():
        if not is_free(host, port):
            raise PortInUse(f"port {port} ({name}) on {host} is already in use by {holder(port)}; "
                            f"stop that process or set {name} (or STACK_PORT_OFFSET) to another port")
