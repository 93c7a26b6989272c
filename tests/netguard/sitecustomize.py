"""Loopback-only networking for every Python process the test suite starts.

pytest-socket guards the pytest process itself; ingest workers (spawned), `python -m ingest`
and the servers the tests start are other interpreters it cannot reach. `tests/conftest.py`
puts this folder first on PYTHONPATH, so Python imports this `sitecustomize` at start-up in
each of them: a connection to anything but loopback (or a Unix socket) raises at once, so a
hidden download fails on every machine, not only on one whose caches happen to be empty.
"""

from __future__ import annotations

import ipaddress
import socket

_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex
_getaddrinfo = socket.getaddrinfo


class NetworkBlocked(OSError):
    """A test process tried to reach a host that is not loopback."""


def _local_host(host) -> bool:
    """Loopback, or the unspecified address a server binds to; a name only if "localhost"."""
    if host is None or host in ("localhost", b"localhost", ""):
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    try:
        address = ipaddress.ip_address(str(host).split("%")[0])
    except ValueError:
        return False  # any other name needs DNS: not loopback
    return address.is_loopback or address.is_unspecified


def _allowed(sock: socket.socket, address) -> bool:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return True  # Unix sockets (PostgreSQL) stay local by nature
    return _local_host(address[0] if isinstance(address, tuple) else address)


def _guarded(original):
    def connect(self, address):
        if not _allowed(self, address):
            raise NetworkBlocked(f"network access to {address!r} is blocked in tests (loopback only)")
        return original(self, address)

    return connect


def _guarded_getaddrinfo(host, *args, **kwargs):
    if not _local_host(host):
        raise NetworkBlocked(f"name lookup of {host!r} is blocked in tests (loopback only)")
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _guarded_getaddrinfo
socket.socket.connect = _guarded(_connect)
socket.socket.connect_ex = _guarded(_connect_ex)
