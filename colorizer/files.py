"""Writing files all or nothing: a temp file beside the destination, renamed onto it when complete.

A reader (or a later run) sees the old file or the whole new one, never half of one. Temp files are
named `.NAME.XXXX.tmp` beside NAME (checkpoint.temp_files finds what a killed write left behind).
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def atomic_path(dest: str | Path, fsync: bool = False) -> Iterator[Path]:
    """A temp path beside dest to write to. When the block ends without an error the file is made
    readable like any other (0644; mkstemp makes it private), flushed to disk when fsync, and renamed
    onto dest; otherwise it is removed and dest is left as it was."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        if fsync:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_atomic(dest: str | Path, data: bytes, fsync: bool = False) -> Path:
    """data -> dest, all or nothing (atomic_path)."""
    with atomic_path(dest, fsync) as tmp:
        tmp.write_bytes(data)
    return Path(dest)
