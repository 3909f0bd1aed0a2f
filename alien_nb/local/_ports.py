"""Loopback ports for local servers."""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"


def free_loopback_port() -> int:
    """A port nothing listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Could a server bind ``127.0.0.1:port`` now?

    SO_REUSEADDR as Postgres sets it, so a port in TIME_WAIT from a server
    that just stopped counts as free.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


class LoopbackPorts:
    """The real port picker (see `_context.PortPicker`): the kernel's choice on 127.0.0.1."""

    def free_port(self) -> int:
        return free_loopback_port()

    def is_free(self, port: int) -> bool:
        return port_is_free(port)
