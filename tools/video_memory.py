"""Peak memory and speed of colorizing films of several lengths: memory must stay flat with length.

For each length, a 1080p film (by default) with a sound track is generated frame by frame (a camera over
a val/ photo: clips.camera_clip, never held whole), then `python -m colorizer colorize` runs on it in a
fresh process, as a user runs it. Printed per length: frames, wall time, frames/s, the process's peak
RSS (getrusage, read as it exits) and its RSS sampled at a quarter, half and three quarters of the run.

From the repository root:

    python -m tools.video_memory --seconds 20 60                 # docs/video.md's figures
    python -m tools.video_memory --seconds 600                   # the 10-minute 1080p film (hours on 2 cores)
    python -m tools.video_memory --seconds 10 --size 854x480     # speed at 480p
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT.parent / "shared" / "data" / "val" / "cbsd68" / "101085.png"


def child(argv: list[str]) -> int:
    """Run the colorize command in this process, then print its peak RSS (MB) as the last line."""
    sys.path.insert(0, str(ROOT))
    from colorizer.cli import main

    code = main(argv)
    print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    return code


def make_film(path: Path, seconds: float, size: tuple[int, int], fps: float, photo: Path) -> int:
    """A film of seconds over photo (and its mirror image: a cut), with a tone; returns its frame count."""
    sys.path.insert(0, str(ROOT))
    from PIL import Image

    from colorizer.video.clips import camera_clip, write_clip

    with Image.open(photo) as im:
        im = im.convert("RGB")
    frames = camera_clip([im, im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)], size, seconds, fps)
    write_clip(frames, path, fps=fps, audio=True, crf=20)
    return round(seconds * fps)


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def measure(film: Path, out: Path, extra: list[str]) -> dict:
    """Colorize film in a fresh process; its wall time, peak RSS and RSS samples over the run."""
    cmd = [sys.executable, "-m", "tools.video_memory", "--child", "colorize", str(film), "-o", str(out), *extra]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    samples: list[tuple[float, float]] = []

    def sample() -> None:
        while proc.poll() is None:
            value = rss_mb(proc.pid)
            if value is not None:
                samples.append((time.perf_counter() - started, value))
            time.sleep(1.0)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    stdout, _ = proc.communicate()
    watcher.join()
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"colorize failed ({proc.returncode}):\n{stdout}")
    peak = json.loads(stdout.strip().splitlines()[-1])["peak_rss_mb"]
    line = next((l for l in stdout.splitlines() if " -> " in l), "")
    at = {}
    for share in (0.25, 0.5, 0.75):
        near = [v for t, v in samples if t >= share * seconds]
        at[f"rss_at_{round(share * 100)}pct_mb"] = near[0] if near else None
    return {"seconds": seconds, "peak_rss_mb": peak, **at, "line": line}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        return child(argv[1:])
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, nargs="+", default=[20, 60], help="film lengths (default 20 60)")
    p.add_argument("--size", default="1920x1080", help="WIDTHxHEIGHT (default %(default)s)")
    p.add_argument("--fps", type=float, default=25)
    p.add_argument("--photo", type=Path, default=PHOTO, help="the photo the camera moves over")
    p.add_argument("--keep", type=Path, default=None, help="keep the films and results in this folder")
    p.add_argument("--out", type=Path, default=None, help="also write the results as JSON here")
    args, extra = p.parse_known_args(argv)  # the rest goes to colorize (--temporal 0, --backend torch, ...)
    size = tuple(int(v) for v in args.size.lower().split("x"))
    rows = []
    with tempfile.TemporaryDirectory(prefix="video-memory-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for seconds in args.seconds:
            film = folder / f"film_{size[1]}p_{seconds:g}s.mp4"
            t0 = time.perf_counter()
            frames = make_film(film, seconds, size, args.fps, args.photo)
            made = time.perf_counter() - t0
            got = measure(film, folder / f"{film.stem}_color.mp4", extra)
            row = {"size": args.size, "seconds_of_film": seconds, "frames": frames, "made_in_s": made,
                   "fps": frames / got["seconds"], **got}
            rows.append(row)
            print(f"{args.size}, {seconds:g} s ({frames} frames): {got['seconds']:.0f} s, {row['fps']:.2f} frames/s "
                  f"(whole command), peak RSS {got['peak_rss_mb']:.0f} MB; RSS at 1/4, 1/2, 3/4: "
                  + ", ".join(f"{got[k]:.0f}" if got[k] else "-" for k in
                              ("rss_at_25pct_mb", "rss_at_50pct_mb", "rss_at_75pct_mb")) + " MB", flush=True)
            print(f"  {got['line']}", flush=True)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
