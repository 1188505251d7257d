"""Port exclusivity for ``geomon listen``: before any worker binds with SO_REUSEPORT, the
first process binds every fixed listener port once WITHOUT it.

Linux lets SO_REUSEPORT sockets of the same user share a port, so a second ``geomon listen``
(another deployment, a test run, any process setting the option) would silently take a share
of the devices. A probe socket without the option cannot join such a group: its bind fails
with EADDRINUSE whenever anything else listens on the port, and that failure is reported
naming the port. The probes are closed before this instance's own workers bind, which then
share the port among themselves as before.
"""

from __future__ import annotations

import errno
import socket
from typing import Any

from geomon.errors import ConfigError
from sensors.transports.tcp import parse_hostport

TCP_FIELDS = ("nmea_tcp", "teltonika_tcp", "osmand_http", "sensor_tcp", "cot_tcp", "metrics_http")
UDP_FIELDS = ("nmea_udp",)


class PortInUse(ConfigError):
    """A listener port is already held by another process."""


def _probe(name: str, address: str, kind: socket.SocketKind) -> None:
    host, port = parse_hostport(address)
    if port == 0:
        return  # an ephemeral port is always free; nothing to share by accident
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, kind) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is no owner
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(
                    f"port {host}:{port} ({name}) is already in use by another process "
                    "(another geomon listen?); refusing to share it"
                ) from None
            raise ConfigError(f"cannot bind {host}:{port} ({name}): {exc.strerror}") from None


def ensure_ports_free(ingest: Any) -> None:
    """Raise PortInUse naming the first configured listener port another process holds."""
    for name in TCP_FIELDS:
        if address := getattr(ingest, name):
            _probe(name, address, socket.SOCK_STREAM)
    for name in UDP_FIELDS:
        if address := getattr(ingest, name):
            _probe(name, address, socket.SOCK_DGRAM)
