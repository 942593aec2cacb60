"""A port already taken stops `up` with the port, its variable and the process holding it."""

from __future__ import annotations

import os
import socket

import pytest

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
