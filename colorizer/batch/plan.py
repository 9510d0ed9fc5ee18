"""Which source files a batch run colorizes and where each result goes: decided by the driver, before
any model is loaded, by the rules `colorize` uses for a folder (cli.plan_outputs: the photo's path below
SRC, named by limits.result_name with --format's suffix, _2, _3 ... where two names meet; the files that
are not opened, each with its reason, from images.list_folder).

Only paths are listed (tens of bytes a file): no photo is opened here.
"""
from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import NamedTuple

from .store import Store


class BatchPlan(NamedTuple):
    jobs: list[tuple[str, str]]       # (source as the manifest names it, output path relative to DEST)
    skipped: list[tuple[str, str]]    # (source, why it is not opened)


def plan(src: Store, dest: Store, fmt: str = "png") -> BatchPlan:
    """The jobs of a run from src (a folder) into dest. PlanError when src is not a folder."""
    from ..cli import PlanError

    if not src.is_dir():
        what = "is a file" if src.local and Path(src.root).exists() else "no such folder"
        raise PlanError(f"{src.location}: {what} (batch colorizes a folder; `colorize` takes single photos)")
    return _local_plan(src, dest, fmt) if src.local else _uri_plan(src, dest, fmt)


def _inside(store: Store, other: Store) -> str | None:
    """other's root relative to store's (with "/"), when other is store or below it on the same filesystem."""
    if store.local != other.local or (not store.local and type(store.fs) is not type(other.fs)):
        return None
    root, path = PurePosixPath(store.root), PurePosixPath(other.root)
    return path.relative_to(root).as_posix() if path == root or root in path.parents else None


def _local_plan(src: Store, dest: Store, fmt: str) -> BatchPlan:
    from ..cli import plan_outputs

    # colorize's own planning; into a URI, planned into a stand-in folder and made relative to it
    out = Path(dest.root) if dest.local else Path(src.root).parent / ".colorizer-batch-stand-in"
    found = plan_outputs([src.root], str(out), fmt)
    jobs = [(str(s), d.relative_to(out).as_posix()) for s, d in found.jobs]
    below = _inside(src, dest)
    skipped = [(str(p), why) for p, why in found.skipped
               if p != out and not (below is not None and Path(p).resolve().is_relative_to(dest.root))]
    return BatchPlan(jobs, skipped)


def _uri_plan(src: Store, dest: Store, fmt: str) -> BatchPlan:
    """plan_outputs' rules on a pyarrow filesystem (list_folder's classes of files, result_name, _2 ...)."""
    from ..images import readable_extensions, skip_reason
    from ..limits import result_name
    from ..pipeline import FORMATS

    readable, below = readable_extensions(), _inside(src, dest)
    photos, skipped = [], []
    for rel in src.list_files():
        if below and rel.startswith(below + "/"):
            continue  # earlier results, and the manifest, when DEST is inside SRC
        p = PurePosixPath(rel)
        why = skip_reason(p.name, readable)
        if why is None:
            photos.append(p)
        elif why:
            skipped.append((src.full(rel), why))
    taken, jobs = {str(p).casefold() for p in photos}, []
    for p in photos:
        plain = p.with_name(result_name(p)).with_suffix(FORMATS[fmt])
        name, n = plain, 2
        while str(name).casefold() in taken:
            name, n = plain.with_stem(f"{plain.stem}_{n}"), n + 1
        taken.add(str(name).casefold())
        jobs.append((src.full(str(p)), str(name)))
    return BatchPlan(jobs, skipped)
