"""A child process's output lines with a deadline, for the benchmarks.

A bare ``stream.readline()`` in a loop that checks a deadline waits forever on a child that hangs
without writing (the deadline is only seen between lines). Here a daemon thread reads the stream
into a queue, which also keeps draining the pipe so a chatty child never blocks on a full pipe.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import IO


class Lines:
    """The lines of ``stream`` (a text pipe), read in a background thread."""

    def __init__(self, stream: IO[str] | None) -> None:
        if stream is None:
            raise ValueError("the child's stream is not a pipe")
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line)
        self._queue.put(None)

    def next(self, deadline: float) -> str | None:
        """The next line; None at the end of the stream or once ``time.monotonic()`` passes
        ``deadline``."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            line = self._queue.get(timeout=remaining)
        except queue.Empty:
            return None
        if line is None:
            self._queue.put(None)  # the end stays the end for the next caller
        return line
