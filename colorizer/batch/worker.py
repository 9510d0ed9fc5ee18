"""The Ray actor of a batch run: loads the model once, colorizes one batch of (source, output) at a time
through the same per-photo path as `colorize` (pipeline.colorize_files: images.read_photo, the model's
prepare / predict_ab / finish, the photo's alpha put back, pipeline.save_image written whole), then
records the batch's rows as a manifest part, after every output of the batch is in place.

An output already there when its batch starts was written whole by a run (or a worker) killed before it
could record it: it is counted done, not colorized again. Sources or outputs on a URI are staged through
a local temp folder, so the per-photo path is the same one.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pyarrow as pa

from . import manifest
from .store import Store

ADOPTED = "written by an earlier run stopped before it was recorded; kept as it is"
# Test hook (tests/test_batch.py): when set to a path that is not there, the first worker to finish a batch's
# outputs makes that file and dies at once (os._exit) before recording the batch: a worker killed mid-run.
DIE_ONCE_ENV = "COLORIZER_BATCH_TEST_DIE_ONCE"


class ColorizeBatch:
    """map_batches' callable class: __init__ once per actor (the model), __call__ once per batch."""

    def __init__(self, src: str, dest: str, weights: str, weights_dir: str | None = None,
                 render_size: int | None = None, backend: str = "onnx", device: str = "cpu",
                 precision: str = "auto", saturation: float = 1.0, quality: int = 90, net_batch: int = 8,
                 threads: int | None = None):
        from ..infer import Colorizer

        self.src, self.dest = Store.open(src), Store.open(dest)
        self.model = Colorizer.load(weights, device=device, precision=precision, render_size=render_size,
                                    weights_dir=weights_dir, backend=backend, threads=threads)
        self.saturation, self.quality, self.net_batch = saturation, quality, net_batch

    def __call__(self, batch: pa.Table) -> pa.Table:
        jobs = list(zip(batch.column("source").to_pylist(), batch.column("output").to_pylist()))
        rows = self.colorize(jobs)
        hook = os.environ.get(DIE_ONCE_ENV)
        if hook and not os.path.exists(hook):
            Path(hook).write_text(str(os.getpid()))
            os._exit(1)
        manifest.write_part(self.dest, rows)
        return manifest.table(rows)

    # ---- one batch ---------------------------------------------------------------------------
    def colorize(self, jobs: list[tuple[str, str]]) -> list[dict]:
        """Rows for jobs, (source, output relative to DEST): outputs written, then the rows."""
        rows, todo = [], []
        for source, rel in jobs:
            if self.dest.exists(rel):
                rows.append(dict(source=source, output=self.dest.full(rel), status="done", reason=ADOPTED))
            else:
                todo.append((source, rel))
        if not todo:
            return rows
        if self.src.local and self.dest.local:
            return rows + self._run([(Path(s), Path(self.dest.full(rel)), s, rel) for s, rel in todo])
        with tempfile.TemporaryDirectory(prefix="colorizer-batch-") as tmp:
            return rows + self._staged(todo, Path(tmp))

    def _run(self, jobs: list[tuple[Path, Path, str, str]], upload: bool = False) -> list[dict]:
        """jobs: (local source, local output, source as named, output relative to DEST), through
        pipeline.colorize_files; upload: the local outputs go to DEST (a URI) once written."""
        from ..pipeline import colorize_files

        names = {local: (source, rel) for local, _, source, rel in jobs}
        pairs = [(local, out) for local, out, _, _ in jobs]

        def row(result) -> dict:
            source, rel = names[result.src]
            if result.error:
                return dict(source=source, status="refused", reason=self._named(result.error, jobs))
            if upload:
                try:
                    self.dest.write_bytes(rel, result.dest.read_bytes())
                except OSError as err:
                    return dict(source=source, status="refused",
                                reason=f"{self.dest.full(rel)}: cannot be written ({err})")
            return dict(source=source, output=self.dest.full(rel), status="done",
                        reason=self._named("; ".join(result.notes), jobs) or None,
                        milliseconds=round(result.seconds * 1000, 1))

        try:
            return [row(result) for result in colorize_files(self.model, pairs, saturation=self.saturation,
                                                             quality=self.quality, batch_size=self.net_batch)]
        except Exception:  # noqa: BLE001 - one odd file must not fail its batch: each alone, to name it
            if len(jobs) == 1:
                raise
        rows = []
        for job in jobs:
            if not upload and job[1].exists():
                rows.append(dict(source=job[2], output=str(job[1]), status="done", reason=ADOPTED))
                continue
            try:
                rows += self._run([job], upload)
            except Exception as err:  # noqa: BLE001
                rows.append(dict(source=job[2], status="refused",
                                 reason=f"{job[2]}: {err.__class__.__name__}: {str(err)[:160]}"))
        return rows

    def _staged(self, todo: list[tuple[str, str]], tmp: Path) -> list[dict]:
        """A URI's sources downloaded (or a URI's outputs written) through tmp, then _run."""
        rows, jobs = [], []
        for i, (source, rel) in enumerate(todo):
            folder = tmp / str(i)
            folder.mkdir()
            local = Path(source) if self.src.local else folder / Path(source).name
            if not self.src.local:
                try:
                    local.write_bytes(self.src.read_bytes(source[len(self.src.location) + 1:]))
                except OSError as err:
                    rows.append(dict(source=source, status="refused", reason=f"{source}: cannot be read ({err})"))
                    continue
            out = Path(self.dest.full(rel)) if self.dest.local else folder / "out" / Path(rel).name
            jobs.append((local, out, source, rel))
        return rows + self._run(jobs, upload=not self.dest.local)

    def _named(self, text: str, jobs) -> str:
        """A message with the staged temp paths put back to the names a person knows."""
        for local, out, source, rel in jobs:
            text = text.replace(str(local), source).replace(str(out), self.dest.full(rel))
        return text
