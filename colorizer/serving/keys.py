"""API keys: `python -m colorizer api-key add USER` prints a new key once; only its hash is kept,
in the results database (store.py), so every worker and a restarted server know it.

A key reads `clz_<key id>_<secret>`. The key id finds the row; the sha256 of the whole key is
compared with the stored one in constant time (hmac.compare_digest), also when no row is found.
Keys carry 256 random bits, so a plain fast hash is enough (no password stretching needed).
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import re
import secrets
import sys
import time
from datetime import datetime
from pathlib import Path

from .config import ConfigError, ServeConfig
from .store import StoreError, connect, transaction

PREFIX = "clz"
KEY = re.compile(rf"^{PREFIX}_([0-9a-f]{{12}})_([A-Za-z0-9_-]{{43}})$")
USER_ID = re.compile(r"^[A-Za-z0-9._@-]{1,128}$")
USER_ID_RULE = "1 to 128 characters among letters, digits and . _ @ -"
_NO_KEY_HASH = hashlib.sha256(b"no such key").hexdigest()  # compared against when the key id is unknown


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyStore:
    """The api_keys table of the results database at db_path."""

    def __init__(self, db_path: str | Path):
        self.db_path = Path(db_path)

    def add(self, user_id: str) -> str:
        """A new key for user_id (ValueError for a bad user id). The key is returned, never stored."""
        if not USER_ID.match(user_id):
            raise ValueError(f"user id {user_id!r}: {USER_ID_RULE}")
        key_id = secrets.token_hex(6)
        key = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        with connect(self.db_path) as conn, transaction(conn):
            conn.execute("INSERT INTO api_keys (key_id, user_id, hash, created) VALUES (?, ?, ?, ?)",
                         (key_id, user_id, key_hash(key), time.time()))
        return key

    def user_of(self, key: str | None) -> str | None:
        """The user a key belongs to, or None for a missing, malformed, unknown or revoked key."""
        match = KEY.match(key or "")
        row = None
        if match:
            with connect(self.db_path) as conn:
                row = conn.execute("SELECT user_id, hash FROM api_keys WHERE key_id = ?", (match[1],)).fetchone()
        stored = row["hash"] if row else _NO_KEY_HASH
        same = hmac.compare_digest(key_hash(key or ""), stored)
        return row["user_id"] if row and same else None

    def list(self) -> list[dict]:
        with connect(self.db_path) as conn:
            return [dict(r) for r in conn.execute("SELECT key_id, user_id, created FROM api_keys ORDER BY created")]

    def revoke(self, who: str) -> int:
        """Remove the key with this key id, or every key of this user; how many went."""
        with connect(self.db_path) as conn, transaction(conn):
            return conn.execute("DELETE FROM api_keys WHERE key_id = ? OR user_id = ?", (who, who)).rowcount

    def count(self) -> int:
        with connect(self.db_path) as conn:
            return conn.execute("SELECT COUNT(*) FROM api_keys").fetchone()[0]


# ---- python -m colorizer api-key ... -------------------------------------------------------

def main(argv: list[str]) -> int:
    """`python -m colorizer api-key add USER | list | revoke USER_OR_KEY_ID`."""
    parser = argparse.ArgumentParser(
        prog="python -m colorizer api-key",
        description="Make, list and revoke the HTTP API's keys. A key is printed once, when made; the results "
                    "database keeps only its hash.")
    parser.add_argument("--results-dir", default=None,
                        help="the server's results folder, holding results.db (default: $COLORIZER_RESULTS_DIR "
                             "when set, else results)")
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="make a key for USER and print it (once)")
    add.add_argument("user")
    sub.add_parser("list", help="key ids, users and dates (never the keys)")
    rev = sub.add_parser("revoke", help="remove one key (by key id) or all of a user's keys")
    rev.add_argument("who", metavar="USER_OR_KEY_ID")
    args = parser.parse_args(argv)
    try:
        config = ServeConfig.from_env(results_dir=args.results_dir)
        keys = KeyStore(config.db_path)
        if args.action == "add":
            key = keys.add(args.user)
            print(f"API key for {args.user} (shown only now; {config.db_path} keeps its hash). "
                  f"Send it as 'Authorization: Bearer KEY':", file=sys.stderr)
            print(key)
        elif args.action == "list":
            for row in keys.list():
                when = datetime.fromtimestamp(row["created"]).strftime("%Y-%m-%d %H:%M")
                print(f"{row['key_id']}  {row['user_id']}  {when}")
        else:
            n = keys.revoke(args.who)
            if not n:
                print(f"error: no key or user {args.who!r} in {config.db_path}", file=sys.stderr)
                return 1
            print(f"revoked {n} key{'s' if n != 1 else ''} ({args.who})")
    except (ValueError, ConfigError, StoreError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0
