"""A stand-in for systemd's notification socket: an ``AF_UNIX`` datagram socket the agent's
``$NOTIFY_SOCKET`` names (a path, or ``@name`` in the abstract namespace), read with a deadline."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path


class NotifySocket:
    """``with NotifySocket(path_or_None) as ns:`` ``ns.env`` holds ``NOTIFY_SOCKET``;
    ``ns.wait_for("READY=1")`` returns the datagram holding that line. ``None``: an abstract
    name, as systemd uses in containers."""

    def __init__(self, path: Path | None = None) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if path is None:
            name = f"ascad-test-{os.getpid()}-{time.monotonic_ns()}"
            self.sock.bind("\0" + name)
            self.value = "@" + name
        else:
            self.sock.bind(str(path))
            self.value = str(path)
        self.messages: list[str] = []

    def __enter__(self) -> NotifySocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    @property
    def env(self) -> dict[str, str]:
        return {"NOTIFY_SOCKET": self.value}

    def wait_for(self, line: str, timeout: float = 20.0) -> str:
        """The first datagram (from here on) with ``line`` as one of its lines."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                message = self.sock.recv(4096).decode()
            except TimeoutError:
                break
            self.messages.append(message)
            if line in message.split("\n"):
                return message
        raise AssertionError(f"{line!r} not notified; got {self.messages}")
