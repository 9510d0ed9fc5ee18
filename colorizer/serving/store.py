"""Results that last: PNG files in a folder, indexed by a SQLite database (WAL mode) beside them.

    results/results.db       the index (and the API keys' hashes, keys.py)
    results/png/ID.png       one file per result, written atomically (temp file, fsync, rename)

Every worker process opens the same files, so all of them see every result, and a restart
keeps them. Limits per user and in total, by count and by bytes, drop the oldest first.
Nothing here is held in memory between calls: each call opens its own connection.
"""
from __future__ import annotations

import dataclasses
import secrets
import sqlite3
import time
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..files import write_atomic

SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,  -- order of arrival: the oldest goes first
    id       TEXT NOT NULL UNIQUE,
    user_id  TEXT NOT NULL,
    filename TEXT NOT NULL,
    width    INTEGER NOT NULL,
    height   INTEGER NOT NULL,
    seconds  REAL NOT NULL,
    bytes    INTEGER NOT NULL,
    created  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS results_by_user ON results (user_id, seq);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id  TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    hash    TEXT NOT NULL,  -- sha256 of the whole key; the key itself is never stored
    created REAL NOT NULL
);
"""
STALE_SECONDS = 3600  # a temp file or unindexed PNG this old is left over from a crash


class StoreError(RuntimeError):
    """The results folder or database cannot be used; the message names the path."""


@contextmanager
def connect(db_path: Path):
    """A connection to the results database, made (folder, WAL mode, tables) if needed.
    Autocommit: writers open their own `BEGIN IMMEDIATE` transaction."""
    try:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(db_path, timeout=30, isolation_level=None)
    except (OSError, sqlite3.Error) as err:
        raise StoreError(f"{db_path}: cannot open the results database ({err})") from None
    with closing(conn):
        conn.row_factory = sqlite3.Row
        _set_up(conn, db_path)
        yield conn


def _set_up(conn: sqlite3.Connection, db_path: Path, timeout: float = 30.0) -> None:
    """WAL mode and the tables. Switching to WAL and creating tables can meet "database is locked"
    without SQLite's busy handler waiting (two workers starting at once): retried until timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # safe with WAL: a crash loses no committed index
            conn.executescript(SCHEMA)
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise StoreError(f"{db_path}: cannot use the results database ({err})") from None
            time.sleep(0.05)
        except sqlite3.Error as err:
            raise StoreError(f"{db_path}: cannot use the results database ({err})") from None


@contextmanager
def transaction(conn: sqlite3.Connection):
    """A write transaction, taken at once (BEGIN IMMEDIATE), so two workers never interleave."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@dataclass(frozen=True)
class Result:
    id: str
    user_id: str
    filename: str
    width: int
    height: int
    seconds: float
    bytes: int
    created: float
    kept: bool = True  # False: too large for the limits, served once but not stored

    def info(self) -> dict:
        return {"id": self.id, "filename": self.filename, "width": self.width, "height": self.height,
                "seconds": round(self.seconds, 3), "bytes": self.bytes, "created": round(self.created, 3)}


def _result(row: sqlite3.Row) -> Result:
    return Result(*(row[k] for k in ("id", "user_id", "filename", "width", "height", "seconds", "bytes", "created")))


class ResultStore:
    """Results per user on disk; see the module's docstring. Limits: per_user_count and
    per_user_bytes for one user, total_count and total_bytes for all; the oldest go first."""

    def __init__(self, folder: str | Path, per_user_count: int = 50, per_user_bytes: int = 500 * 2**20,
                 total_count: int = 5000, total_bytes: int = 4096 * 2**20):
        self.folder = Path(folder)
        self.db_path = self.folder / "results.db"
        self.png_dir = self.folder / "png"
        self.per_user_count, self.per_user_bytes = per_user_count, per_user_bytes
        self.total_count, self.total_bytes = total_count, total_bytes

    @classmethod
    def from_config(cls, config) -> "ResultStore":
        return cls(config.results_dir, config.per_user_count, config.per_user_bytes, config.total_count,
                   config.total_bytes)

    def _file(self, result_id: str) -> Path:
        return self.png_dir / f"{result_id}.png"

    def prepare(self) -> int:
        """Make the folder and the database, check that PNGs can be written there, and remove what
        a crash left behind (temp files, PNGs never indexed, both older than an hour). Returns how
        many files were removed. StoreError, naming the folder, when it cannot be used."""
        self.check_writable()
        with connect(self.db_path) as conn:
            known = {r[0] for r in conn.execute("SELECT id FROM results")}
        removed = 0
        old = time.time() - STALE_SECONDS
        for p in self.png_dir.iterdir():
            leftover = p.name.endswith(".tmp") or (p.suffix == ".png" and p.stem not in known)
            try:
                if leftover and p.stat().st_mtime < old:
                    p.unlink()
                    removed += 1
            except OSError:
                continue
        return removed

    def check_writable(self) -> None:
        """A small file written (fsync) and removed in the PNG folder, and the database opened; StoreError naming
        the folder (its cause, e.g. ENOSPC, chained) when either fails."""
        try:
            self.png_dir.mkdir(parents=True, exist_ok=True)
            write_atomic(self.png_dir / ".write_check", b"\0" * 4096, fsync=True)
            (self.png_dir / ".write_check").unlink()
        except OSError as err:
            raise StoreError(f"{self.png_dir}: results cannot be written there ({err.strerror or err})") from err
        with connect(self.db_path):
            pass

    def add(self, user_id: str, filename: str, width: int, height: int, seconds: float, png: bytes) -> Result:
        """Store one result and drop the oldest past the limits. A PNG larger than a limit on its
        own is not stored: the Result comes back with kept=False."""
        item = Result(secrets.token_hex(8), user_id, filename, width, height, seconds, len(png), time.time())
        if len(png) > min(self.per_user_bytes, self.total_bytes):
            return dataclasses.replace(item, kept=False)
        self.png_dir.mkdir(parents=True, exist_ok=True)
        path = self._file(item.id)
        write_atomic(path, png, fsync=True)
        try:
            with connect(self.db_path) as conn, transaction(conn):
                conn.execute("INSERT INTO results (id, user_id, filename, width, height, seconds, bytes, created) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                             (item.id, user_id, filename, width, height, seconds, item.bytes, item.created))
                dropped = self._drop_over_limits(conn, user_id)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        for d in dropped:  # after the commit: a reader holding the row meanwhile gets a 404
            self._file(d).unlink(missing_ok=True)
        return item

    def _drop_over_limits(self, conn: sqlite3.Connection, user_id: str) -> list[str]:
        """Remove the index rows past the limits, newest kept first: this user's, then everyone's.
        Returns their ids (the files go after the commit)."""
        query = ("SELECT id FROM (SELECT id, ROW_NUMBER() OVER w AS n, SUM(bytes) OVER w AS total "
                 "FROM results {where} WINDOW w AS (ORDER BY seq DESC)) WHERE n > ? OR total > ?")
        dropped = []
        for where, args in (("WHERE user_id = ?", (user_id, self.per_user_count, self.per_user_bytes)),
                            ("", (self.total_count, self.total_bytes))):
            ids = [r[0] for r in conn.execute(query.format(where=where), args)]
            conn.executemany("DELETE FROM results WHERE id = ?", [(i,) for i in ids])
            dropped += ids
        return dropped

    def list(self, user_id: str) -> list[Result]:
        """A user's results, oldest first."""
        with connect(self.db_path) as conn:
            return [_result(r) for r in conn.execute("SELECT * FROM results WHERE user_id = ? ORDER BY seq",
                                                     (user_id,))]

    def get(self, user_id: str | None, result_id: str) -> tuple[Result, bytes] | None:
        """(result, PNG bytes) when result_id is user_id's (any user's when user_id is None), else None."""
        with connect(self.db_path) as conn:
            row = conn.execute("SELECT * FROM results WHERE id = ?", (result_id,)).fetchone()
        if row is None or (user_id is not None and row["user_id"] != user_id):
            return None
        try:
            return _result(row), self._file(result_id).read_bytes()
        except FileNotFoundError:  # dropped by another worker between the two reads
            return None

    def delete(self, user_id: str | None, result_id: str) -> bool:
        """Remove result_id when it is user_id's (any user's when None); False when there is none."""
        with connect(self.db_path) as conn, transaction(conn):
            if user_id is None:
                gone = conn.execute("DELETE FROM results WHERE id = ?", (result_id,)).rowcount
            else:
                gone = conn.execute("DELETE FROM results WHERE id = ? AND user_id = ?", (result_id, user_id)).rowcount
        if gone:
            self._file(result_id).unlink(missing_ok=True)
        return bool(gone)

    def totals(self) -> dict:
        """{"count", "bytes"} of everything stored."""
        with connect(self.db_path) as conn:
            count, size = conn.execute("SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM results").fetchone()
        return {"count": count, "bytes": size}

