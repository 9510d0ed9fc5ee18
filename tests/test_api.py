"""The HTTP API (FastAPI TestClient): status codes and bodies for photos, fields and weights.
Keys, results on disk and back-pressure have their own files: test_serving_*.py."""
from __future__ import annotations

import io
import tomllib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from colorizer.limits import DEFAULT_COLOR_STRENGTH, MAX_UPLOAD_BYTES
from colorizer.serving.api import create_app
from colorizer.serving.keys import KeyStore
from helpers import BW_PHOTO, COLOR_PHOTO, ROOT, auth, huge_png, make_weights, post, tiny_pair


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("weights")
    make_weights(folder, "generator_pretrained.pt", "pretrain", 10)
    return folder


@pytest.fixture(scope="module")
def served(weights_dir, tmp_path_factory):
    """A server with API keys (the default mode): (client, {user: key})."""
    app = create_app(weights_dir=weights_dir, results_dir=tmp_path_factory.mktemp("results"))
    keys = {u: KeyStore(app.state.config.db_path).add(u) for u in ("alice", "carol")}
    with TestClient(app) as c:
        yield c, keys


@pytest.fixture(scope="module")
def client(served):
    return served[0]


@pytest.fixture(scope="module")
def alice(served):
    return served[1]["alice"]


def open_app(tmp_path, **kwargs):
    """Open mode (no keys, the form's user_id decides): for tests about photos and weights."""
    return create_app(open=True, results_dir=tmp_path / "results", **kwargs)


def test_health_before_and_after_loading(client, weights_dir):
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["ready"] is True and body["auth"] == "api_key"
    assert body["weights"] == str(weights_dir / "generator_pretrained.pt")
    assert body["queue"]["running"] == 0 and body["queue"]["max_running"] == 1
    assert body["memory"]["peak_mb"] > 0


def test_colorize_good_photo_and_results(served):
    client, keys = served
    r = post(client, BW_PHOTO.read_bytes(), None, "surfer.jpg", key=keys["alice"], render_size=64)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    out = Image.open(io.BytesIO(r.content))
    assert out.format == "PNG" and out.mode == "RGB" and out.size == (618, 409)
    assert r.headers["x-width"] == "618" and r.headers["x-was-color"] == "false"
    assert r.headers["x-result-kept"] == "true" and float(r.headers["x-queue-seconds"]) >= 0
    rid = r.headers["x-result-id"]

    r2 = post(client, COLOR_PHOTO.read_bytes(), "alice", "lemon.jpg", key=keys["alice"], render_size=64,
              saturation=1.5)  # user_id given and the key's own: accepted
    assert r2.status_code == 200 and r2.headers["x-was-color"] == "true"

    listed = client.get("/results/alice", headers=auth(keys["alice"])).json()
    assert [x["filename"] for x in listed] == ["surfer_color.png", "lemon_color.png"]
    first = listed[0]
    assert first["id"] == rid and (first["width"], first["height"]) == (618, 409) and first["seconds"] > 0
    assert first["bytes"] == len(r.content)
    again = client.get(f"/results/alice/{rid}", headers=auth(keys["alice"]))
    assert again.status_code == 200 and again.content == r.content
    assert client.get("/results/carol", headers=auth(keys["carol"])).json() == []
    missing = client.get("/results/carol/" + rid, headers=auth(keys["carol"]))
    assert missing.status_code == 404 and "no result" in missing.json()["detail"]
    assert client.get("/health").json()["model_loaded"] is True


def test_seed_field_name_userID_accepted(tmp_path, weights_dir):
    with TestClient(open_app(tmp_path, weights_dir=weights_dir)) as c:
        r = c.post("/colorize", data={"userID": "carol", "render_size": "64"},
                   files={"image": ("s.jpg", BW_PHOTO.read_bytes(), "image/jpeg")})
        assert r.status_code == 200
        assert len(c.get("/results/carol").json()) == 1


def test_corrupt_image_is_400(client, alice):
    r = post(client, b"this is not an image", name="broken.jpg", key=alice)
    assert r.status_code == 400
    assert r.json()["detail"] == "broken.jpg: not a readable photo (UnidentifiedImageError)"
    r = post(client, BW_PHOTO.read_bytes()[:3000], name="cut.jpg", key=alice)
    assert r.status_code == 400 and r.json()["detail"].startswith("cut.jpg: the photo data is damaged")
    r = post(client, b"", name="empty.jpg", key=alice)
    assert r.status_code == 400 and "empty" in r.json()["detail"]


def test_too_large_is_413(client, alice):
    r = post(client, huge_png(), name="huge.png", key=alice)
    assert r.status_code == 413
    assert r.json()["detail"] == "huge.png: 8000x7000 is 56.0 megapixels, above the 50 MP limit"


def test_missing_fields_are_422(client, alice, tmp_path, weights_dir):
    r = post(client, None, key=alice)
    assert r.status_code == 422
    assert any(e["loc"][-1] == "image" for e in r.json()["detail"])
    r = post(client, BW_PHOTO.read_bytes(), render_size=5, key=alice)
    assert r.status_code == 422
    with TestClient(open_app(tmp_path, weights_dir=weights_dir)) as c:  # open mode: user_id is the user
        r = post(c, BW_PHOTO.read_bytes(), user_id=None)
        assert r.status_code == 422 and r.json()["detail"] == "missing form field user_id"
        r = post(c, BW_PHOTO.read_bytes(), user_id="a/b")
        assert r.status_code == 422 and "user_id" in r.json()["detail"]


def test_no_weights_health_and_503(tmp_path):
    empty = tmp_path / "none"
    empty.mkdir()
    with TestClient(open_app(tmp_path, weights_dir=empty)) as c:
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


def test_damaged_weights_503(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a torch file")
    with TestClient(open_app(tmp_path, weights=bad)) as c:
        r = post(c, BW_PHOTO.read_bytes())
        assert r.status_code == 503 and "bad.pt" in r.json()["detail"]
        h = c.get("/health").json()
        assert h["status"] == "weights_error" and h["ready"] is False and "bad.pt" in h["message"]


def test_color_strength_is_a_property_of_the_weights_file(tmp_path):
    """The API takes no color strength: stage-2 weights serve at their default one (with the start found
    beside them), and another strength is a file of its own (`weights blend`), served like any weights."""
    from colorizer.infer import blend_weights

    stage1, stage2 = tiny_pair(tmp_path / "pair")
    photo = BW_PHOTO.read_bytes()
    with TestClient(open_app(tmp_path, weights=stage1)) as c:
        as_stage1 = post(c, photo, render_size=64)
    with TestClient(open_app(tmp_path, weights=stage2)) as c:
        assert "color_strength" not in c.get("/openapi.json").text
        plain = post(c, photo, render_size=64)  # the default strength
        assert c.get("/health").json()["color_strength"] == DEFAULT_COLOR_STRENGTH
    zero = blend_weights(stage2, 0.0, tmp_path / "s0.pt")
    with TestClient(open_app(tmp_path, weights=zero)) as c:
        as_zero = post(c, photo, render_size=64)
        assert c.get("/health").json()["color_strength"] == 0.0
    assert {r.status_code for r in (as_stage1, plain, as_zero)} == {200}
    assert as_zero.content == as_stage1.content and plain.content != as_stage1.content
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / stage2.name).write_bytes(stage2.read_bytes())
    with TestClient(open_app(tmp_path, weights=alone / stage2.name, weights_dir=tmp_path / "empty")) as c:
        assert post(c, photo, render_size=64).status_code == 200  # the default needs no partner


def test_page_upload_cap_matches_the_api():
    """.streamlit/config.toml: the page refuses uploads above the same size the API does (its
    pixel cap, 50 MP, is checked by the same code, images.open_photo, for both)."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] * 2**20 == MAX_UPLOAD_BYTES
