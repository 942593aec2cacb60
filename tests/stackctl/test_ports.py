"""A port already taken stops `up` with the port, its variable and the process holding it."""

from __future__ import annotations

import os
import socket

import pytest

from stackctl import ports
from stackctl.ports import PortInUse, check_free


def test_a_taken_port_names_the_variable_and_the_holder():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(PortInUse) as error:
            check_free({"PUBLIC_AIRFLOW_PORT": port}, "127.0.0.1")
    message = str(error.value)
    assert str(port) in message and "PUBLIC_AIRFLOW_PORT" in message
    assert f"pid {os.getpid()}" in message


def test_free_ports_pass():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    check_free({"PUBLIC_AIRFLOW_PORT": port}, "127.0.0.1")


def test_test_stacks_stay_below_the_ports_outgoing_connections_take():
    """A test stack's ports are all below Linux' ephemeral range, where a connection's local end could take one
    between the check and the bind (stacktest.native.free_port_offset); compose's published ports too."""
    from stackctl.settings import PORT_DEFAULTS
    from stacktest.compose import free_port_block
    from stacktest.native import free_port_offset

    first = ports.first_ephemeral()
    assert first == int(ports.LOCAL_PORT_RANGE.read_text().split()[0])
    for _ in range(20):
        offset = free_port_offset()
        assert all(1024 <= port + offset < first for port in PORT_DEFAULTS.values())
        assert all(1024 <= int(port) < first for port in free_port_block().values())
