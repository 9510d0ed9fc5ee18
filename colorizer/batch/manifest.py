"""The manifest of a batch run: one row per source file, kept in DEST as Parquet.

    DEST/manifest.parquet          every row recorded up to the last consolidation
    DEST/manifest.parts/*.parquet  one file per batch since then, written by the worker that did it

A worker writes a batch's part only after every output of the batch is in place, and writes it whole
(a temp file renamed onto its name, or one object PUT on an object store), so a row never names an
output that is not there. Reading merges the two, one row per source (a done row wins over a refused
one); consolidating writes manifest.parquet whole first and removes the parts it took in after, so a
run killed in between only leaves rows that are read twice, never rows lost.
"""
from __future__ import annotations

import io
import uuid

import pyarrow as pa
import pyarrow.parquet as pq

from .store import Store

COLUMNS = ("source", "output", "status", "reason", "milliseconds")
SCHEMA = pa.schema([("source", pa.string()), ("output", pa.string()), ("status", pa.string()),
                    ("reason", pa.string()), ("milliseconds", pa.float64())])
STATUSES = ("done", "skipped", "refused")  # written; not opened (not a photo type); could not be colorized
MANIFEST = "manifest.parquet"
PARTS = "manifest.parts"


def table(rows: list[dict]) -> pa.Table:
    """Rows (dicts with COLUMNS) as a table of the manifest's schema."""
    return pa.Table.from_pylist([{k: row.get(k) for k in COLUMNS} for row in rows], schema=SCHEMA)


def _encode(t: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(t, sink)
    return sink.getvalue()


def write_part(dest: Store, rows: list[dict]) -> str:
    """One batch's rows as a part file of its own (a fresh name: a retried batch never overwrites one)."""
    name = f"{PARTS}/part-{uuid.uuid4().hex}.parquet"
    dest.write_bytes(name, _encode(table(rows)))
    return name


def _read(dest: Store, name: str) -> pa.Table | None:
    try:
        return pq.read_table(io.BytesIO(dest.read_bytes(name)), schema=SCHEMA)
    except Exception:  # noqa: BLE001 - a damaged file cannot be one we wrote whole: ignore it
        return None


def read(dest: Store) -> tuple[pa.Table, list[str]]:
    """The manifest as recorded: one row per source (done before refused before skipped, then the last
    written); and the part files read, for consolidate."""
    parts = dest.list_files(PARTS, suffix=".parquet")
    tables = [t for t in [_read(dest, MANIFEST) if dest.exists(MANIFEST) else None,
                          *(_read(dest, name) for name in parts)] if t is not None]
    return merge(tables), parts


def merge(tables: list[pa.Table]) -> pa.Table:
    """One row per source: done wins, then refused, then skipped; among equals the later table's row."""
    best: dict[str, tuple[int, dict]] = {}
    rank = {"done": 2, "refused": 1}
    for t in tables:
        for row in t.to_pylist():
            key = rank.get(row["status"], 0)
            old = best.get(row["source"])
            if old is None or key >= old[0]:
                best[row["source"]] = (key, row)
    return table([row for _, row in sorted(best.values(), key=lambda kv: kv[1]["source"])])


def consolidate(dest: Store, extra: list[dict] = ()) -> pa.Table:
    """Fold the part files (and extra rows: the files not opened, listed by the driver) into
    manifest.parquet, written whole; then remove the parts folded in. Returns the manifest."""
    recorded, parts = read(dest)
    known = set(recorded.column("source").to_pylist())
    extra = [row for row in extra if row["source"] not in known]
    manifest = merge([table(extra), recorded]) if extra else recorded
    dest.write_bytes(MANIFEST, _encode(manifest))
    for name in parts:
        dest.remove(name)
    return manifest
