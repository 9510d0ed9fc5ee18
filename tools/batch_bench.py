"""Photos per second of `python -m colorizer batch` with 1 and 2 workers against the plain `colorize` command,
on the same N photos, in one run on one machine (issue 44; docs/batch.md, Measured).

    python tools/batch_bench.py                 # 500 photos from ../shared/data/val/people (then val/, train/)
    python tools/batch_bench.py -n 20           # a quick check that it works

Each command runs as a user runs it (a fresh process: imports, model load, for batch a local Ray started in
the process), into a fresh output folder, on a folder of links to the same N photos. Printed for each: the
wall time and photos/s from start to exit, and for batch its own in-run rate (as it prints it: from its first
batch submitted, once Ray is up; the actors' start and model load are in it); then each one's ratio to
colorize. Runs alternate over --reps so a busy moment falls on all.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
DEFAULT_FROM = [DATA / "val" / "people", DATA / "val", DATA / "train"]


def gather(roots: list[Path], n: int) -> list[Path]:
    """The first n photos (sorted, each once) from roots in order."""
    sys.path.insert(0, str(ROOT))
    from colorizer.images import list_photos

    found, seen = [], set()
    for root in roots:
        if not root.is_dir():
            continue
        for p in list_photos(root):
            if p.resolve() not in seen:
                seen.add(p.resolve())
                found.append(p)
                if len(found) == n:
                    return found
    raise SystemExit(f"only {len(found)} photos found in {', '.join(map(str, roots))}; asked for {n}")


def run(cmd: list[str], label: str) -> tuple[float, str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    env.pop("RAY_ADDRESS", None)  # a local Ray in the process, as a user's first run
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"{label} failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return wall, out.stdout


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=500, help="photos (default %(default)s)")
    ap.add_argument("--from", dest="roots", nargs="+", type=Path, default=DEFAULT_FROM,
                    help="folders the photos are taken from, in order (default: ../shared/data/val/people, "
                         "then val/, then train/)")
    ap.add_argument("--weights", default=None, help="weights file (default: the default weights, as a user gets)")
    ap.add_argument("--batch-size", type=int, default=16, help="batch's --batch-size (default %(default)s)")
    ap.add_argument("--reps", type=int, default=1, help="runs of each command (default %(default)s)")
    ap.add_argument("--keep", action="store_true", help="keep the temp folder (outputs, manifests)")
    a = ap.parse_args(argv)

    photos = gather(a.roots, a.n)
    cores = os.cpu_count() or 1
    tmp = Path(tempfile.mkdtemp(prefix="batch_bench_"))
    src = tmp / "photos"
    src.mkdir()
    for i, p in enumerate(photos):  # links: the same bytes for every command, nothing copied
        (src / f"{i:05d}_{p.name}").symlink_to(p.resolve())
    weights = ["--weights", a.weights] if a.weights else []
    py = [sys.executable, "-m", "colorizer"]
    commands = {
        "colorize": lambda out: py + ["colorize", str(src), "-o", str(out)] + weights,
        "batch, 1 worker": lambda out: py + ["batch", str(src), str(out), "--workers", "1", "--cpus-per-worker",
                                             str(cores), "--batch-size", str(a.batch_size)] + weights,
        "batch, 2 workers": lambda out: py + ["batch", str(src), str(out), "--workers", "2", "--cpus-per-worker",
                                              f"{cores / 2:g}", "--batch-size", str(a.batch_size)] + weights,
    }
    print(f"{a.n} photos from {', '.join(str(r) for r in a.roots if r.is_dir())}; {cores} CPU cores; "
          f"{a.reps} run(s) of each, alternating")
    # a first, untimed colorize of one photo: the weights' onnx export (once per weights file) is not timed
    run(py + ["colorize", str(next(src.iterdir())), "-o", str(tmp / "warm.png")] + weights, "warm-up")
    walls = {name: [] for name in commands}
    inrun = {name: [] for name in commands}
    for rep in range(a.reps):
        for k, (name, make) in enumerate(commands.items()):
            out = tmp / f"out_{rep}_{k}"
            wall, stdout = run(make(out), name)
            written = len(list(out.rglob("*_color*.png")))
            walls[name].append(wall)
            found = re.search(r"photo\(s\) in ([\d.]+) s: ([\d.]+) photos/s", stdout)
            if found:
                inrun[name].append(float(found[2]))
            print(f"  {name}: {wall:.1f} s, {written} written", flush=True)
            shutil.rmtree(out)
    base = a.n / min(walls["colorize"])
    print(f"\n{'command':<18}{'wall s':>9}{'photos/s':>10}{'x colorize':>12}{'in-run photos/s':>17}")
    for name in commands:
        wall = min(walls[name])
        rate = a.n / wall
        own = f"{max(inrun[name]):.2f}" if inrun[name] else "-"
        print(f"{name:<18}{wall:>9.1f}{rate:>10.2f}{rate / base:>12.2f}{own:>17}")
    print("(best of the runs; photos/s from start to exit, as a user waits; in-run: batch's own rate, from its "
          "first batch submitted, Ray up, the actors' start and model load included)")
    if a.keep:
        print(f"kept: {tmp}")
    else:
        shutil.rmtree(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
