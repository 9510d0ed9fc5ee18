"""A short soak (issue 45): mixed, bounded traffic against a real uvicorn while keyless and slow keyed clients
trickle bodies; every answer a declared status, the keyed requests served in seconds, the server's memory and
open files flat at the end. 8 s here; COLORIZER_SOAK_SECONDS=120 for the run docs/api.md reports."""
from __future__ import annotations

import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from colorizer.serving.api import create_app
from colorizer.serving.routes import memory_mb
from colorizer.serving.keys import KeyStore
from helpers import BOMB_CHUNKS, EchoModel, LiveServer, auth, png_with, small_jpeg, trickler

SECONDS = float(os.environ.get("COLORIZER_SOAK_SECONDS", "8"))


def open_files() -> int | None:
    fds = Path("/proc/self/fd")
    return len(list(fds.iterdir())) if fds.is_dir() else None


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads RSS and open files from /proc")
def test_a_soak_of_mixed_traffic_under_slow_clients_stays_flat(tmp_path):
    app = create_app(results_dir=tmp_path / "res", max_running=1, max_waiting=4, wait_timeout=5.0,
                     upload_timeout=2.0, per_user_count=20)
    model = EchoModel()
    app.state.model.get = lambda color_strength=None: model
    key = KeyStore(app.state.config.db_path).add("alice")
    photo, bomb = small_jpeg(), png_with(BOMB_CHUNKS["zTXt"], True)
    stop, statuses, latencies = threading.Event(), [], []
    with LiveServer(app) as live, ThreadPoolExecutor(28) as pool, httpx.Client(base_url=live.url, timeout=15) as http:
        def slow(with_key: bool):
            while not stop.is_set():  # a keyless one is sent away at once; a keyed one gets 408 and comes back
                trickler(live.port, stop, key if with_key else None)
                stop.wait(0.2)

        def warm_up():
            for _ in range(20):
                http.post("/colorize", files={"image": ("p.jpg", photo, "image/jpeg")}, headers=auth(key))
        warm_up()
        before = memory_mb()["rss_mb"], open_files()
        slows = [pool.submit(slow, i < 5) for i in range(25)]  # 5 keyed, 20 keyless
        rng = random.Random(0)
        t_end = time.monotonic() + SECONDS
        while time.monotonic() < t_end:
            kind = rng.choice(["photo", "photo", "photo", "bomb", "list", "health", "nokey"])
            t0 = time.monotonic()
            if kind == "photo":
                r = http.post("/colorize", files={"image": ("p.jpg", photo, "image/jpeg")}, headers=auth(key))
            elif kind == "bomb":
                r = http.post("/colorize", files={"image": ("b.png", bomb, "image/png")}, headers=auth(key))
            elif kind == "list":
                r = http.get("/results/alice", headers=auth(key))
            elif kind == "health":
                r = http.get("/health")
            else:
                r = http.post("/colorize", files={"image": ("p.jpg", photo, "image/jpeg")})
            latencies.append(time.monotonic() - t0)
            statuses.append(r.status_code)
        stop.set()
        for f in slows:
            f.result(timeout=15)
        time.sleep(0.5)
        after = memory_mb()["rss_mb"], open_files()
    counts = {s: statuses.count(s) for s in sorted(set(statuses))}
    print(f"soak {SECONDS:g} s: {len(statuses)} requests {counts}, worst {max(latencies):.3f} s, "
          f"p50 {sorted(latencies)[len(latencies) // 2]:.3f} s, RSS {before[0]} -> {after[0]} MB, "
          f"open files {before[1]} -> {after[1]}")
    assert set(counts) <= {200, 400, 401} and counts.get(200, 0) > 0, counts
    assert max(latencies) < 3.0
    assert after[0] - before[0] < 40, (before, after)
    assert after[1] <= before[1] + 3, (before, after)
