"""The server's own failures, said as such: a full disk is 507 naming the folder, a results store that
cannot be used 503, and /health shows either until a check finds the disk writable again (no restart).
"""
from __future__ import annotations

import errno
import shutil
import sqlite3
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

from .store import StoreError

FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
FULL_WORDS = ("no space left", "disk is full", "database or disk is full", "quota exceeded")
NEARLY_FULL_BYTES = 1 << 20  # a store failure with less free than this is taken for a full disk
STORAGE_ERRORS = (OSError, StoreError, sqlite3.Error)


def free_bytes(folder: Path) -> int | None:
    """Free bytes on folder's disk (the nearest folder that exists), None when it cannot be asked."""
    for path in (folder, *folder.parents):
        try:
            return shutil.disk_usage(path).free
        except OSError:
            continue
    return None


def is_disk_full(err: BaseException, folder: Path | None = None) -> bool:
    """The error is a full disk (or quota): ENOSPC/EDQUOT anywhere in its chain, SQLite's 'disk is full',
    or a store failure (SQLite says 'disk I/O error' when it cannot grow its WAL index) on a nearly full disk."""
    seen = err
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in FULL_ERRNOS:
            return True
        if any(word in str(seen).lower() for word in FULL_WORDS):
            return True
        seen = seen.__cause__ or seen.__context__
    if folder is not None and isinstance(err, (StoreError, sqlite3.Error)):
        free = free_bytes(folder)
        return free is not None and free < NEARLY_FULL_BYTES
    return False


class Storage:
    """The state of the server's disk as requests found it. `failed` records a failure and gives the
    answer (status, message); /health's `snapshot` says it, and once a failure is recorded, checks again
    (probe: a small write where results and uploads go) at most every recheck_s; a check that passes,
    or a result kept, clears it."""

    def __init__(self, results_dir: Path, probe: Callable[[], None], recheck_s: float = 2.0):
        self.results_dir, self.probe, self.recheck_s = Path(results_dir), probe, recheck_s
        self._lock = threading.Lock()
        self._failure: dict | None = None
        self._checked = 0.0

    def failed(self, err: BaseException, what: str) -> tuple[int, str]:
        """Record a storage failure met while doing `what`; (507, message) for a full disk, else (503, message)."""
        full = is_disk_full(err, self.results_dir)
        cause = getattr(err, "strerror", None) or str(err) or err.__class__.__name__
        where = getattr(err, "filename", None)
        if full:
            message = (f"{what}: the server's disk is full ({cause}{f': {where}' if where else ''}); "
                       f"results folder {self.results_dir}, temp folder {tempfile.gettempdir()}. "
                       f"Nothing was kept; try again once space is freed")
        else:
            message = f"{what}: the server's storage failed ({cause}); try again later"
        with self._lock:
            self._failure = {"status": "disk_full" if full else "storage_error", "message": message,
                             "since": (self._failure or {}).get("since", round(time.time(), 3))}
            self._checked = time.monotonic()
        return (507 if full else 503), message

    def ok(self) -> None:
        with self._lock:
            self._failure = None

    def snapshot(self) -> dict:
        """{"ok", "free_mb", and while failing "status", "message", "since"}; a failure is checked again
        (at most every recheck_s) and cleared when the check passes."""
        with self._lock:
            due = self._failure is not None and time.monotonic() - self._checked >= self.recheck_s
            if due:
                self._checked = time.monotonic()
        if due:
            try:
                self.probe()
            except STORAGE_ERRORS as err:
                self.failed(err, "check")
            else:
                self.ok()
        free = free_bytes(self.results_dir)
        out = {"ok": self._failure is None, "free_mb": None if free is None else round(free / 2**20, 1)}
        with self._lock:
            if self._failure is not None:
                out.update(self._failure)
        return out


def probe_writes(store) -> Callable[[], None]:
    """A check that results and uploads can be written again: a small file where each goes, and the index."""
    def probe() -> None:
        store.check_writable()
        with tempfile.TemporaryFile() as f:  # uploads spool here (python-multipart)
            f.write(b"\0" * 65536)
            f.flush()
    return probe
