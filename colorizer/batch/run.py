"""The driver of `python -m colorizer batch SRC DEST`: plan, resume, run the actor pool, report.

1. Plan (plan.py): every file under SRC, its output in DEST by colorize's naming; nothing opened.
2. Resume: the manifest as recorded (manifest.py) says which sources are finished: done (or refused,
   unless --retry-refused); only the others are sent. Temp files a killed write left in DEST are removed.
3. The model is loaded once here first: the weights are checked before Ray starts, and the onnx
   export is made once (cached beside the weights) rather than by every actor at once.
4. Ray Data: the pending (source, output) pairs, one block per batch, through map_batches over an
   actor pool (worker.ColorizeBatch). Actors read and decode the photos themselves: only paths travel
   through Ray, and each actor holds a bounded number of photos (pipeline.colorize_files' `ahead`).
5. Progress (photos/s, ETA) as the batches' rows come back; the manifest consolidated at the end.
"""
from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import sys
import time
import warnings
from pathlib import Path

from . import manifest
from .plan import plan
from .store import Store

# Test hook: the driver kills itself (SIGKILL, as `kill -9` would) after this many batches came back.
STOP_AFTER_ENV = "COLORIZER_BATCH_TEST_STOP_AFTER"
_TEMP = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")  # files.atomic_path's `.NAME.XXXXXXXX.tmp`


class BatchError(ValueError):
    """The run could not go on (a batch failed as a whole: its manifest part could not be written, ...);
    the message is the one line to print (cli.run_command)."""


def _cause(err: BaseException) -> str:
    """The error a failed Ray task raised in our code, as one line: the last `SomeError: message` of the
    remote traceback Ray carries in its text (Ray Data wraps it in a UserCodeException)."""
    found = [line.strip() for line in str(err).splitlines()
             if re.match(r"^\s*[\w.]*(Error|Exception): ", line) and not line.strip().startswith("ray.")]
    return (found[-1] if found else str(err).strip().splitlines()[0] if str(err).strip()
            else err.__class__.__name__)[:300]


def remove_temp_files(dest: Store) -> int:
    """Temp files left in a local DEST by writes that were killed (never a finished output)."""
    if not dest.local or not Path(dest.root).is_dir():
        return 0
    removed = 0
    for folder, _, files in os.walk(dest.root):
        for name in files:
            if _TEMP.match(name):
                Path(folder, name).unlink(missing_ok=True)
                removed += 1
    return removed


def actor_engine(args: argparse.Namespace) -> tuple[str, str]:
    """(backend, device) the actors run: torch on a GPU with --gpus-per-worker, else --backend on the CPU
    (auto: onnxruntime when installed)."""
    from ..backend import resolve_backend

    if args.gpus_per_worker > 0:
        if args.backend == "onnx":
            from ..cli import PlanError

            raise PlanError("--backend onnx runs on the CPU: leave --gpus-per-worker at 0, or use --backend torch")
        return "torch", "cuda"
    return resolve_backend(args.backend, "cpu"), "cpu"


def _check_dest(dest: Store) -> None:
    if dest.local:
        from ..cli import check_destinations

        check_destinations([(Path(), Path(dest.root) / "probe.png")])


def run_batch(args: argparse.Namespace) -> int:
    src, dest = Store.open(args.src), Store.open(args.dest)
    _check_dest(dest)
    jobs, skipped = plan(src, dest, args.format)
    if not jobs:
        from ..cli import PlanError

        raise PlanError(f"no photos found in {src.location}")
    removed = remove_temp_files(dest)
    recorded = manifest.consolidate(dest) if dest.exists(manifest.PARTS) or dest.exists(manifest.MANIFEST) \
        else manifest.table([])
    status = dict(zip(recorded.column("source").to_pylist(), recorded.column("status").to_pylist()))
    finished = {"done"} if args.retry_refused else {"done", "refused"}
    pending = [(s, d) for s, d in jobs if status.get(s) not in finished]
    earlier = {k: sum(status.get(s) == k for s, _ in jobs) for k in ("done", "refused")}
    print(f"{len(jobs)} photo(s) in {src.location}: {earlier['done']} done earlier, {earlier['refused']} refused "
          f"earlier{' (tried again: --retry-refused)' if args.retry_refused and earlier['refused'] else ''}, "
          f"{len(pending)} to colorize into {dest.location}"
          + (f"; {len(skipped)} file(s) not opened" if skipped else "")
          + (f"; {removed} half-written temp file(s) removed" if removed else ""))
    skipped_rows = [dict(source=s, status="skipped", reason=why) for s, why in skipped]
    counts = {"done": 0, "refused": 0, "adopted": 0}
    code = 0
    try:
        if pending:
            counts, code = _colorize(args, src, dest, pending)
    finally:  # also when a batch failed: what was finished is recorded
        final = manifest.consolidate(dest, skipped_rows)
    totals = {k: sum(1 for v in final.column("status").to_pylist() if v == k) for k in manifest.STATUSES}
    adopted = f" ({counts['adopted']} found already written)" if counts["adopted"] else ""
    print(f"This run: {counts['done']} done{adopted}, {counts['refused']} refused. All runs: {totals['done']} done, "
          f"{totals['skipped']} skipped, {totals['refused']} refused, of {len(jobs) + len(skipped)} file(s); "
          f"manifest: {dest.full(manifest.MANIFEST)}")
    if code:
        print("interrupted: rerun the same command to continue where it stopped", file=sys.stderr)
        return code
    return 0 if totals["done"] else 2


def _load_once(args: argparse.Namespace, backend: str) -> tuple[str, str]:
    """The weights checked (and, for onnx, exported into the cache) here; their absolute path and folder."""
    from ..cli import _model_line
    from ..infer import Colorizer
    from ..registry import weights_folder

    model = Colorizer.load(args.weights, device="cpu", precision="fp32", render_size=args.render_size,
                           weights_dir=args.weights_dir, backend=backend)
    print(f"Weights: {_model_line(model)}")
    return str(Path(model.meta["path"]).resolve()), str(weights_folder(args.weights_dir).resolve())


def _init_ray(args: argparse.Namespace) -> bool:
    """Join --address ($RAY_ADDRESS) or start a local Ray in this process; True when this run started it."""
    import ray

    if ray.is_initialized():
        return False
    if not args.verbose:  # Ray's C++ core logs at ERROR a line it means as a note (docs/batch.md); --verbose shows it
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    package_root = str(Path(__file__).resolve().parents[2])  # the actors import colorizer from this checkout
    path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
    options = dict(runtime_env={"env_vars": {"PYTHONPATH": path}}, log_to_driver=args.verbose,
                   logging_level="INFO" if args.verbose else "ERROR")
    address = args.address or os.environ.get("RAY_ADDRESS")
    if address:
        try:
            ray.init(address=address, **options)
        except (ConnectionError, RuntimeError) as err:  # no cluster there, or its token is not ours
            from ..cli import PlanError

            raise PlanError(f"cannot join the Ray cluster at {address}: {str(err).splitlines()[0][:200]} (is it "
                            f"running? with token authentication, set RAY_AUTH_MODE=token and the cluster's "
                            f"token: docs/batch.md)") from None
    else:
        ray.init(address="local", num_cpus=args.num_cpus, include_dashboard=False,  # never a stale cluster's
                 object_store_memory=args.object_store_mb * 2**20 if args.object_store_mb else None, **options)
    return True


def _colorize(args, src: Store, dest: Store, pending: list[tuple[str, str]]) -> tuple[dict, int]:
    import pyarrow as pa
    from tqdm.auto import tqdm

    backend, device = actor_engine(args)
    weights, weights_dir = _load_once(args, backend)
    started_ray = _init_ray(args)
    import ray
    from ray.data import ActorPoolStrategy, DataContext

    from .worker import ADOPTED, ColorizeBatch

    if not args.verbose:  # our progress bar and summary, not Ray Data's per-operator lines
        logging.getLogger("ray.data").setLevel(logging.CRITICAL)  # a failed batch: our one error: line
        warnings.filterwarnings("ignore", message="The minimum number of concurrent actors")
    context = DataContext.get_current()
    context.enable_progress_bars = args.verbose
    context.print_on_execution_start = args.verbose
    # batches of --batch-size, smaller when there are fewer photos than that for every worker
    bs = max(1, min(args.batch_size, -(-len(pending) // args.workers)))
    table = pa.table({"source": [s for s, _ in pending], "output": [d for _, d in pending]})
    ds = ray.data.from_arrow([table.slice(i, bs) for i in range(0, len(pending), bs)])
    ds = ds.map_batches(ColorizeBatch, batch_size=bs, batch_format="pyarrow",
                        compute=ActorPoolStrategy(size=args.workers),
                        num_cpus=args.cpus_per_worker, num_gpus=args.gpus_per_worker or None,
                        fn_constructor_kwargs=dict(src=src.location, dest=dest.location, weights=weights,
                                                   weights_dir=weights_dir, render_size=args.render_size,
                                                   backend=backend, device=device, precision=args.precision,
                                                   saturation=args.saturation, quality=args.quality,
                                                   net_batch=bs if args.gpus_per_worker else min(bs, 8),
                                                   # its share of the cores, not every core for each actor
                                                   threads=max(1, round(args.cpus_per_worker))))
    counts, batches, code = {"done": 0, "refused": 0, "adopted": 0}, 0, 0
    stop_after = int(os.environ.get(STOP_AFTER_ENV, "0") or 0)
    print(f"Colorizing {len(pending)} photo(s): {args.workers} worker(s) x {args.cpus_per_worker:g} CPU"
          + (f" and {args.gpus_per_worker:g} GPU" if args.gpus_per_worker else "") + f" ({backend}), "
          f"{bs} a batch", flush=True)
    start = time.perf_counter()
    try:
        with tqdm(total=len(pending), unit="photo", smoothing=0.05, mininterval=1.0, dynamic_ncols=True) as bar:
            for rows in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
                statuses = rows.column("status").to_pylist()
                reasons = rows.column("reason").to_pylist()
                for st, why in zip(statuses, reasons):
                    counts[st] = counts.get(st, 0) + 1
                    counts["adopted"] += st == "done" and why == ADOPTED
                bar.update(len(statuses))
                bar.set_postfix(refused=counts["refused"], refresh=False)
                batches += 1
                if stop_after and batches >= stop_after:
                    os.kill(os.getpid(), signal.SIGKILL)
    except KeyboardInterrupt:
        code = 130
    except ray.exceptions.RayError as err:  # a batch failed outright (not a photo: those are refused rows)
        cause = _cause(err)
        raise BatchError(f"a batch failed, the run stopped: {cause}; what was finished is recorded, rerun the "
                         f"same command to continue") from None
    finally:
        if started_ray:
            ray.shutdown()
    seconds = time.perf_counter() - start
    rate = (counts["done"] + counts["refused"]) / seconds if seconds else 0.0
    print(f"{counts['done'] + counts['refused']} photo(s) in {seconds:.1f} s: {rate:.2f} photos/s")
    return counts, code
