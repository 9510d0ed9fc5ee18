"""The HTTP API (FastAPI TestClient): status codes and bodies."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from colorizer.api import ResultStore, create_app
from colorizer.limits import DEFAULT_COLOR_STRENGTH
from test_app import BW_PHOTO, COLOR_PHOTO, huge_png, tiny_weights


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("weights")
    tiny_weights(folder, "generator_pretrained.pt", "pretrain", 10)
    return folder


@pytest.fixture(scope="module")
def client(weights_dir):
    with TestClient(create_app(weights_dir=weights_dir)) as c:
        yield c


def post(client, data: bytes | None, user_id: str | None = "alice", name: str = "photo.jpg", **fields):
    form = {k: str(v) for k, v in fields.items()}
    if user_id is not None:
        form["user_id"] = user_id
    files = {"image": (name, data, "image/jpeg")} if data is not None else None
    return client.post("/colorize", data=form, files=files)


def test_health_before_and_after_loading(client, weights_dir):
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["ready"] is True
    assert body["weights"] == str(weights_dir / "generator_pretrained.pt")


def test_colorize_good_photo_and_results(client):
    r = post(client, BW_PHOTO.read_bytes(), "alice", "surfer.jpg", render_size=64)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    out = Image.open(io.BytesIO(r.content))
    assert out.format == "PNG" and out.mode == "RGB" and out.size == (618, 409)
    assert r.headers["x-width"] == "618" and r.headers["x-was-color"] == "false"
    rid = r.headers["x-result-id"]

    r2 = post(client, COLOR_PHOTO.read_bytes(), "alice", "lemon.jpg", render_size=64, saturation=1.5)
    assert r2.status_code == 200 and r2.headers["x-was-color"] == "true"

    listed = client.get("/results/alice").json()
    assert [x["filename"] for x in listed] == ["surfer_color.png", "lemon_color.png"]
    first = listed[0]
    assert first["id"] == rid and (first["width"], first["height"]) == (618, 409) and first["seconds"] > 0
    again = client.get(f"/results/alice/{rid}")
    assert again.status_code == 200 and again.content == r.content
    assert client.get("/results/bob").json() == []
    missing = client.get("/results/bob/" + rid)
    assert missing.status_code == 404 and "no result" in missing.json()["detail"]
    assert client.get("/health").json()["model_loaded"] is True


def test_seed_field_name_userID_accepted(client):
    r = client.post("/colorize", data={"userID": "carol", "render_size": "64"},
                    files={"image": ("s.jpg", BW_PHOTO.read_bytes(), "image/jpeg")})
    assert r.status_code == 200
    assert len(client.get("/results/carol").json()) == 1


def test_corrupt_image_is_400(client):
    r = post(client, b"this is not an image", name="broken.jpg")
    assert r.status_code == 400
    assert r.json()["detail"] == "broken.jpg: not a readable photo (UnidentifiedImageError)"
    r = post(client, BW_PHOTO.read_bytes()[:3000], name="cut.jpg")
    assert r.status_code == 400 and r.json()["detail"].startswith("cut.jpg: the photo data is damaged")
    r = post(client, b"", name="empty.jpg")
    assert r.status_code == 400 and "empty" in r.json()["detail"]


def test_too_large_is_413(client):
    r = post(client, huge_png(), name="huge.png")
    assert r.status_code == 413
    assert r.json()["detail"] == "huge.png: 8000x7000 is 56.0 megapixels, above the 50 MP limit"


def test_missing_fields_are_422(client):
    r = post(client, None)
    assert r.status_code == 422
    assert any(e["loc"][-1] == "image" for e in r.json()["detail"])
    r = post(client, BW_PHOTO.read_bytes(), user_id=None)
    assert r.status_code == 422 and r.json()["detail"] == "missing form field user_id"
    r = post(client, BW_PHOTO.read_bytes(), user_id="a/b")
    assert r.status_code == 422 and "user_id" in r.json()["detail"]
    r = post(client, BW_PHOTO.read_bytes(), render_size=5)
    assert r.status_code == 422


def test_no_weights_health_and_503(tmp_path):
    empty = tmp_path / "none"
    empty.mkdir()
    with TestClient(create_app(weights_dir=empty)) as c:
        h = c.get("/health")
        assert h.status_code == 200
        assert h.json()["status"] == "no_weights" and h.json()["ready"] is False
        assert "python pretrain.py" in h.json()["message"]
        r = post(c, BW_PHOTO.read_bytes())
        assert r.status_code == 503 and "No colorizer weights found" in r.json()["detail"]


def test_weights_from_env(monkeypatch, weights_dir, tmp_path):
    monkeypatch.setenv("COLORIZER_WEIGHTS", str(weights_dir / "generator_pretrained.pt"))
    monkeypatch.setenv("COLORIZER_WEIGHTS_DIR", str(tmp_path))  # empty: the file wins
    with TestClient(create_app()) as c:
        assert c.get("/health").json()["weights"] == str(weights_dir / "generator_pretrained.pt")
    monkeypatch.setenv("COLORIZER_WEIGHTS", str(tmp_path / "gone.pt"))
    with TestClient(create_app()) as c:
        body = c.get("/health").json()
        assert body["ready"] is False and "gone.pt" in body["message"]


def test_result_store_caps():
    store = ResultStore(max_per_user=2, max_total=3, max_bytes=100)
    a = [store.add("a", f"{i}.png", 1, 1, 0.1, b"x" * 10) for i in range(3)]
    assert [x["id"] for x in store.list("a")] == [a[1].id, a[2].id]
    store.add("b", "b.png", 1, 1, 0.1, b"x" * 10)
    store.add("c", "c.png", 1, 1, 0.1, b"x" * 10)
    assert len(store.list("a")) == 1  # total cap: the oldest went first
    store.add("d", "d.png", 1, 1, 0.1, b"x" * 95)  # byte cap
    assert [len(store.list(u)) for u in "abcd"] == [0, 0, 0, 1]
    big = store.add("e", "e.png", 1, 1, 0.1, b"x" * 101)  # too big to keep, still returned
    assert big.id and store.list("e") == [] and len(store.list("d")) == 1


def test_damaged_weights_503(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a torch file")
    with TestClient(create_app(weights=bad)) as c:
        r = post(c, BW_PHOTO.read_bytes())
        assert r.status_code == 503 and "bad.pt" in r.json()["detail"]
        h = c.get("/health").json()
        assert h["status"] == "weights_error" and h["ready"] is False and "bad.pt" in h["message"]


def test_color_strength_field(tmp_path):
    from test_infer import tiny_pair

    stage1, stage2 = tiny_pair(tmp_path / "pair")
    photo = BW_PHOTO.read_bytes()
    with TestClient(create_app(weights=stage1)) as c:
        as_stage1 = post(c, photo, render_size=64)
        refused = post(c, photo, render_size=64, color_strength=0.5)
        assert refused.status_code == 422
        assert "color strength 0.5 needs stage-2 weights" in refused.json()["detail"]
    with TestClient(create_app(weights=stage2)) as c:
        assert "color_strength" in c.get("/openapi.json").text
        plain = post(c, photo, render_size=64)  # the default strength
        zero = post(c, photo, render_size=64, color_strength=0)
        half = post(c, photo, render_size=64, color_strength=0.5)
        one = post(c, photo, render_size=64, color_strength=1)
        default = post(c, photo, render_size=64, color_strength=DEFAULT_COLOR_STRENGTH)
        assert {r.status_code for r in (as_stage1, plain, zero, half, one, default)} == {200}
        assert zero.content == as_stage1.content and default.content == plain.content
        assert len({zero.content, half.content, one.content}) == 3
        assert c.get("/health").json()["color_strength"] == DEFAULT_COLOR_STRENGTH
        assert post(c, photo, color_strength=1.5).status_code == 422
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / stage2.name).write_bytes(stage2.read_bytes())
    with TestClient(create_app(weights=alone / stage2.name, weights_dir=tmp_path / "empty")) as c:
        r = post(c, photo, render_size=64, color_strength=0.5)
        assert r.status_code == 422 and "stage1.pt" in r.json()["detail"] and "not found in" in r.json()["detail"]
        assert post(c, photo, render_size=64).status_code == 200  # the default needs no partner
