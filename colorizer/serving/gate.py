"""Back-pressure: at most max_running photos colorized at once and max_waiting requests queued
behind them, per worker process. A request beyond that is refused at once (`enter` is False:
the API answers 503 with Retry-After once its upload is in, before colorizing); one that waits longer than
wait_timeout for its turn is refused too (Busy), never left hanging.
"""
from __future__ import annotations

import math
import threading
import time
from contextlib import contextmanager


class Busy(Exception):
    """No turn within the wait timeout; retry_after: seconds worth waiting before trying again."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class Gate:
    def __init__(self, max_running: int = 1, max_waiting: int = 8, wait_timeout: float = 60.0):
        self.max_running, self.max_waiting, self.wait_timeout = max_running, max_waiting, wait_timeout
        self._cond = threading.Condition()
        self._admitted = 0  # inside the gate: running or waiting
        self._running = 0
        self._seconds = 2.0  # moving average of one photo's time, for Retry-After

    def enter(self) -> bool:
        """Take a place (running or waiting) if there is one; False when the queue is full."""
        with self._cond:
            if self._admitted >= self.max_running + self.max_waiting:
                return False
            self._admitted += 1
            return True

    def leave(self) -> None:
        """Give back the place `enter` took."""
        with self._cond:
            self._admitted -= 1

    @contextmanager
    def place(self):
        """A place (running or waiting) for the block, or Busy at once when the queue is full. The API takes
        it only once the upload is in: a slow upload holds no place."""
        if not self.enter():
            raise Busy(self.full_message(), self.retry_after())
        try:
            yield
        finally:
            self.leave()

    @contextmanager
    def turn(self):
        """Wait (within wait_timeout) for one of the max_running slots, hold it for the block.
        Yields the seconds waited; Busy when the wait ran out."""
        t0 = time.monotonic()
        with self._cond:
            if not self._cond.wait_for(lambda: self._running < self.max_running, timeout=self.wait_timeout):
                raise Busy(f"the server is busy: no turn within {self.wait_timeout:g} s "
                           f"({self._running} colorizing, {self._admitted - self._running} waiting)",
                           self.retry_after())
            self._running += 1
        started = time.monotonic()
        try:
            yield started - t0
        finally:
            took = time.monotonic() - started
            with self._cond:
                self._running -= 1
                self._seconds = 0.8 * self._seconds + 0.2 * took
                self._cond.notify()

    def retry_after(self) -> int:
        """Whole seconds until the queue as it stands now has likely cleared (at least 1)."""
        return max(1, math.ceil(self._seconds * max(1, self._admitted) / self.max_running))

    def full_message(self) -> str:
        return (f"the server is busy ({self.max_running} colorizing, {self.max_waiting} waiting, the most it takes): "
                f"try again in {self.retry_after()} s")

    def snapshot(self) -> dict:
        with self._cond:
            return {"running": self._running, "waiting": self._admitted - self._running,
                    "max_running": self.max_running, "max_waiting": self.max_waiting,
                    "wait_timeout_s": self.wait_timeout, "retry_after_s": self.retry_after()}
