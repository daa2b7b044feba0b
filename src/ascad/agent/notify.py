"""systemd readiness: the ``sd_notify`` protocol, written by hand (no libsystemd).

Rules, and the reason for each (sd_notify(3)):

- Under ``Type=notify`` systemd passes ``$NOTIFY_SOCKET``: a ``AF_UNIX`` datagram socket, a path
  (``/run/systemd/notify``) or, when it starts with ``@``, a name in the abstract namespace (the
  ``@`` becomes a NUL byte). One datagram per message, ``KEY=VALUE`` lines.
- The agent says ``READY=1`` once its HTTP server listens and its first cycle has started, so
  ``systemctl start ascad`` (and the Salt state after it) returns only when peers can read this
  node's conf. ``RELOADING=1`` with ``MONOTONIC_USEC`` before a SIGHUP re-read and ``READY=1``
  after it; ``STOPPING=1`` on SIGTERM; ``STATUS=`` the last cycle's states (``systemctl status``).
- No socket (started by hand, in a test): nothing is sent. A socket that cannot be written to is
  logged once at debug and otherwise ignored: readiness is a courtesy to the service manager,
  never a reason for the agent to stop. ``vsock:`` addresses (VMs) are not supported.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

log = logging.getLogger("ascad.agent")


def notify_address(env: Mapping[str, str] | None = None) -> str | None:
    """The socket address in ``$NOTIFY_SOCKET`` (abstract names with a leading NUL), or None."""
    path = (os.environ if env is None else env).get("NOTIFY_SOCKET", "")
    if path.startswith("@") and len(path) > 1:
        return "\0" + path[1:]
    if path.startswith("/"):
        return path
    return None


def notify(*lines: str, env: Mapping[str, str] | None = None) -> bool:
    """Send ``lines`` (``READY=1``, ``STATUS=…``) as one datagram to ``$NOTIFY_SOCKET``; True when
    sent, False when there is no socket or it could not be written to."""
    address = notify_address(env)
    if address is None or not lines:
        return False
    message = "\n".join(line.replace("\n", " ") for line in lines).encode("utf-8", "replace")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.settimeout(1.0)
            sock.connect(address)
            sock.sendall(message)
    except OSError as exc:
        log.debug("cannot notify the service manager at %r: %s", address, exc)
        return False
    return True


def ready(status: str = "") -> bool:
    """``READY=1`` (and ``STATUS=``): the server listens and the first cycle has started."""
    return notify("READY=1", *([f"STATUS={status}"] if status else []))


def reloading() -> bool:
    """``RELOADING=1`` with the monotonic clock in microseconds, before a reload."""
    return notify(
        "RELOADING=1", f"MONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}"
    )


def stopping() -> bool:
    return notify("STOPPING=1")


def status(text: str) -> bool:
    return notify(f"STATUS={text}")
