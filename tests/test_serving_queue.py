"""Back-pressure: at most N colorizing and M waiting; beyond, 503 with Retry-After at once; a wait
past the timeout is a 503 too, never a hang; /health reports the queue."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from colorizer.serving.api import create_app
from colorizer.serving.gate import Busy, Gate
from helpers import small_jpeg


class HeldModel:
    """A stand-in colorizer that holds each photo until released: the queue fills on cue."""

    render_size = 32
    color_strength = 1.0
    meta = {"stage": "pretrain"}

    def __init__(self):
        self.release = threading.Event()
        self.started = threading.Semaphore(0)

    def colorize(self, image: Image.Image, render_size=None, saturation=1.0, hints=None) -> Image.Image:
        self.started.release()
        assert self.release.wait(30)
        return image.convert("RGB")


def test_gate_counts_and_times_out():
    gate = Gate(max_running=1, max_waiting=1, wait_timeout=0.2)
    assert gate.enter() and gate.enter() and not gate.enter()  # 1 + 1 places, the third refused
    with gate.turn() as waited:
        assert waited < 0.2
        snap = gate.snapshot()
        assert (snap["running"], snap["waiting"]) == (1, 1)
        t0 = time.monotonic()
        with pytest.raises(Busy, match="no turn within 0.2 s") as err:
            with gate.turn():
                pass
        assert 0.15 < time.monotonic() - t0 < 2 and err.value.retry_after >= 1
    gate.leave()
    assert gate.enter()  # a place freed is a place again
    assert gate.snapshot()["running"] == 0


@pytest.fixture
def held(tmp_path):
    """An open-mode app with 1 colorizing and 1 waiting at most, a 1 s wait, and a HeldModel."""
    app = create_app(results_dir=tmp_path / "res", open=True, max_running=1, max_waiting=1, wait_timeout=1.0)
    model = HeldModel()
    app.state.model.get = lambda color_strength=None: model
    with TestClient(app) as client:
        yield client, model
    model.release.set()


def post(client):
    t0 = time.monotonic()
    r = client.post("/colorize", data={"user_id": "u"}, files={"image": ("p.jpg", small_jpeg(), "image/jpeg")})
    return r, time.monotonic() - t0


def test_beyond_the_queue_is_503_at_once(held):
    client, model = held
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(post, client)
        assert model.started.acquire(timeout=20)  # colorizing now
        second = pool.submit(post, client)  # waits its turn
        deadline = time.monotonic() + 10
        while client.get("/health").json()["queue"]["waiting"] < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        queue = client.get("/health").json()["queue"]
        assert queue["running"] == 1 and queue["waiting"] == 1 and queue["max_waiting"] == 1

        third, took = post(client)  # no place left: refused without waiting
        assert third.status_code == 503 and took < 0.8
        assert int(third.headers["retry-after"]) >= 1 and "busy" in third.json()["detail"]

        r2, took2 = second.result(timeout=20)  # its wait ran out while the first was held
        assert r2.status_code == 503 and "no turn within 1 s" in r2.json()["detail"] and took2 < 5
        assert int(r2.headers["retry-after"]) >= 1
        model.release.set()
        r1, _ = first.result(timeout=20)
        assert r1.status_code == 200 and r1.headers["x-result-kept"] == "true"
    queue = client.get("/health").json()["queue"]
    assert (queue["running"], queue["waiting"]) == (0, 0)
    again, _ = post(client)  # the queue is free again
    assert again.status_code == 200


def test_queue_settings_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("COLORIZER_MAX_RUNNING", "3")
    monkeypatch.setenv("COLORIZER_MAX_WAITING", "0")
    monkeypatch.setenv("COLORIZER_WAIT_TIMEOUT", "2.5")
    queue = create_app(results_dir=tmp_path).state.gate.snapshot()
    assert (queue["max_running"], queue["max_waiting"], queue["wait_timeout_s"]) == (3, 0, 2.5)
    monkeypatch.setenv("COLORIZER_MAX_RUNNING", "0")
    with pytest.raises(ValueError, match=r"max_running \(COLORIZER_MAX_RUNNING, --max-running\) = 0"):
        create_app(results_dir=tmp_path)
