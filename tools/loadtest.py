"""Load test of the HTTP API: a bounded number of POST /colorize at a given concurrency, against a
server on this machine only (127.0.0.1 / localhost / ::1). Prints the status counts, p50 / p95 /
max latency and the server's memory before and after.

    python -m tools.loadtest --url http://127.0.0.1:8000 --requests 40 --concurrency 8 --key KEY

The key comes from --key or $COLORIZER_API_KEY (an open-mode server takes --user-id instead).
Memory: the whole process tree of --pid (uvicorn's master and its workers) when given, else the
answering worker's own numbers from GET /health. Needs only httpx and the standard library.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import httpx

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
DEFAULT_PHOTO = Path(__file__).resolve().parents[1] / "examples" / "bw" / "1890Surfer.jpg"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of values; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def tree_rss_mb(pid: int) -> float | None:
    """Resident memory of pid and all its descendants, in MB (Linux /proc); None when pid's own is
    unreadable. Threads and children come and go while it reads: one that is gone is skipped (a thread
    that ended mid-scan once made the whole reading None)."""
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            rss = [int(line.split()[1]) for line in Path(f"/proc/{p}/status").read_text().splitlines()
                   if line.startswith("VmRSS:")]
            tasks = list(Path(f"/proc/{p}/task").iterdir())
        except (OSError, ValueError):
            if p == pid:
                return None
            continue
        total += sum(rss)
        for task in tasks:
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except (OSError, ValueError):
                continue  # that thread ended while we read
    return round(total / 1024, 1)


def server_memory(client: httpx.Client, pid: int | None) -> dict:
    """{"rss_mb": ..., "peak_mb": ...}: of the process tree of pid, else as /health reports it."""
    if pid is not None:
        rss = tree_rss_mb(pid)
        return {"rss_mb": rss, "source": f"pid {pid} and its children"} if rss is not None else {}
    try:
        return {**client.get("/health", timeout=30).json().get("memory", {}), "source": "/health (one worker)"}
    except (httpx.HTTPError, ValueError):
        return {}


def run(url: str, photo: bytes, requests: int, concurrency: int, key: str | None = None,
        user_id: str | None = None, render_size: int | None = None, pid: int | None = None,
        timeout: float = 300.0) -> dict:
    """Send the requests; return {"requests", "concurrency", "seconds", "status": {code: n},
    "latency_s": {"p50", "p95", "max"}, "memory_before", "memory_after"}."""
    host = urlsplit(url).hostname
    if host not in LOCAL_HOSTS:
        raise ValueError(f"{url}: only a server on this machine (127.0.0.1, localhost, ::1) may be load-tested")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    form = {k: str(v) for k, v in (("user_id", user_id), ("render_size", render_size)) if v is not None}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    statuses: Counter = Counter()
    latencies: list[float] = []
    lock = threading.Lock()

    with httpx.Client(base_url=url, headers=headers, limits=limits, timeout=timeout) as client:
        before = server_memory(client, pid)

        def one(i: int) -> None:
            t0 = time.perf_counter()
            try:
                r = client.post("/colorize", data=form, files={"image": (f"load{i}.jpg", photo, "image/jpeg")})
                status = str(r.status_code)
            except httpx.HTTPError as err:
                status = f"error ({type(err).__name__})"
            took = time.perf_counter() - t0
            with lock:
                statuses[status] += 1
                latencies.append(took)

        t0 = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(one, range(requests)))
        seconds = time.perf_counter() - t0
        after = server_memory(client, pid)
    return {"url": url, "requests": requests, "concurrency": concurrency, "seconds": round(seconds, 3),
            "status": dict(sorted(statuses.items())),
            "latency_s": {k: round(percentile(latencies, q), 3) for k, q in (("p50", 50), ("p95", 95), ("max", 100))},
            "memory_before": before, "memory_after": after}


def report(summary: dict) -> str:
    lat, mem0, mem1 = summary["latency_s"], summary["memory_before"], summary["memory_after"]
    counts = ", ".join(f"{code} x {n}" for code, n in summary["status"].items())
    lines = [f"{summary['requests']} requests at concurrency {summary['concurrency']} in {summary['seconds']:.1f} s: "
             f"{counts}",
             f"latency: p50 {lat['p50']:.2f} s, p95 {lat['p95']:.2f} s, max {lat['max']:.2f} s"]
    if mem0.get("rss_mb") is not None and mem1.get("rss_mb") is not None:
        peak = f" (peak {mem1['peak_mb']:.0f} MB)" if mem1.get("peak_mb") else ""
        lines.append(f"server memory: {mem0['rss_mb']:.0f} MB before, {mem1['rss_mb']:.0f} MB after{peak}; "
                     f"{mem1.get('source', '')}")
    else:
        lines.append("server memory: not available (give --pid, or a server whose /health reports it)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default="http://127.0.0.1:8000", help="the server (this machine only)")
    p.add_argument("--requests", type=int, default=40, help="how many requests in all (default %(default)s)")
    p.add_argument("--concurrency", type=int, default=8, help="how many at once (default %(default)s)")
    p.add_argument("--photo", type=Path, default=DEFAULT_PHOTO, help="the photo sent (default: %(default)s)")
    p.add_argument("--key", default=os.environ.get("COLORIZER_API_KEY"), help="API key (default $COLORIZER_API_KEY)")
    p.add_argument("--user-id", help="the form's user_id (an open-mode server needs it)")
    p.add_argument("--render-size", type=int, help="sent as the form's render_size")
    p.add_argument("--pid", type=int, help="the server's process id: its memory and its workers' are measured")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per request (default %(default)s)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = p.parse_args(argv)
    if args.requests < 1 or args.concurrency < 1:
        p.error("--requests and --concurrency must be at least 1")
    try:
        photo = args.photo.read_bytes()
        summary = run(args.url, photo, args.requests, args.concurrency, args.key, args.user_id, args.render_size,
                      args.pid, args.timeout)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2) if args.json else report(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
