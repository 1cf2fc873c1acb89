"""Free ports for the servers tests start, outside the kernel's ephemeral range.

A port from ``bind(("127.0.0.1", 0))`` is an ephemeral one, the range every outgoing
connection takes its local port from: a test that kills a server and starts it again on
the same ports (a restart, a ``kill -9``) then fails now and then with "address already
in use", because some client's connection took the port meanwhile. These ports are
chosen below that range, checked by binding, and never given twice in one process.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

__all__ = ["free_port"]

_given: set[int] = set()


def _below_ephemeral() -> range:
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768  # Linux's default start; macOS starts at 49152
    return range(10000, max(low, 10001))


def free_port() -> int:
    """A port nothing listens on now, that no outgoing connection will be given."""
    ports = _below_ephemeral()
    for _ in range(500):
        port = random.choice(ports)
        if port in _given:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given.add(port)
        return port
    with socket.socket() as probe:  # a crowded machine: any port will do
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
