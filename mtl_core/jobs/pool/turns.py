"""Round-robin turns: the jobs hosted by one worker process take the CPU one time slice at a time.

A job asks for a turn before each slice of training and gives it back after; waiting jobs are served in the
order they asked, so a job that just had its turn goes to the back of the line. A short job submitted behind
long ones therefore gets every n-th slice (n = the jobs hosted) and finishes first, instead of waiting.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager


class Turns:
    """A first-come, first-served lock: ``with turns.turn(name):`` runs one slice; thread-safe."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._line: deque[object] = deque()
        self._holder: object | None = None
        #: Who had each turn, in order (the last 1,000; for tests and the worker's load report).
        self.history: deque[str] = deque(maxlen=1000)

    @contextmanager
    def turn(self, name: str = "") -> Iterator[None]:
        """Wait for this caller's turn, run the block, then hand the turn to the next in line."""
        ticket = object()
        with self._cond:
            self._line.append(ticket)
            while self._holder is not None or self._line[0] is not ticket:
                self._cond.wait()
            self._line.popleft()
            self._holder = ticket
            self.history.append(name)
        try:
            yield
        finally:
            with self._cond:
                self._holder = None
                self._cond.notify_all()

    @property
    def waiting(self) -> int:
        """How many callers wait for a turn."""
        with self._cond:
            return len(self._line)
