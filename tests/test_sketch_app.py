"""The sketch app (issue 32, part 3): POST /sketch and the page's Sketch tab, with the shipped jewelry
classifier and tiny paired weights: a drawn ring is a ring and comes back colored and kept, a street is
not jewelry, bad input gets the API's usual errors, missing weights a 503 naming what to train."""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from colorizer.classify import CLASSES
from colorizer.serving.api import create_app
from colorizer.serving.keys import KeyStore
from colorizer.registry import set_default
from colorizer.paired.sketch_app import PAIRED_NAME, SketchModels
from helpers import ROOT, drawn_ring, huge_png, run_app, served, tiny_paired

SHIPPED = ROOT / "weights" / "jewelry_classifier.pt"
STREETS = ROOT.parent / "shared" / "data" / "val" / "intel_scenes"
STREET = next(iter(sorted(STREETS.glob("street_*"))), ROOT / "examples" / "color" / "n06794110_street_sign.jpg")
needs_classifier = pytest.mark.skipif(not SHIPPED.is_file(), reason="no shipped classifier weights in this checkout")


def png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


RING = png(drawn_ring(192))


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A weights folder as the sketch app needs it: the shipped classifier and (tiny) paired weights."""
    out = tmp_path_factory.mktemp("sketch_weights")
    if SHIPPED.is_file():
        shutil.copy(SHIPPED, out / SHIPPED.name)
    tiny_paired(out)
    return out


@pytest.fixture(scope="module")
def client(folder, tmp_path_factory):
    """Open mode (the form's user_id decides), loaded once for the module."""
    app = create_app(open=True, weights_dir=folder, results_dir=tmp_path_factory.mktemp("results"), device="cpu")
    with TestClient(app) as c:
        yield c


def sketch(client, data: bytes | None, name: str = "ring.png", user_id: str | None = "alice", key: str | None = None):
    form = {"user_id": user_id} if user_id is not None else {}
    files = {"image": (name, data, "image/png")} if data is not None else None
    headers = {"Authorization": f"Bearer {key}"} if key else None
    return client.post("/sketch", data=form, files=files, headers=headers)


@needs_classifier
def test_a_drawn_ring_is_a_ring_and_comes_back_colored_and_kept(client):
    r = sketch(client, RING)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["is_jewelry"] is True and body["type"] == "ring", body["probabilities"]
    assert list(body["probabilities"]) == list(CLASSES) and abs(sum(body["probabilities"].values()) - 1) < 1e-3
    assert body["probability"] == body["probabilities"]["ring"] == max(body["probabilities"].values())
    assert body["result_kept"] is True and body["filename"] == "ring_translated.png"
    assert (body["width"], body["height"]) == (192, 192) and body["seconds"] > 0

    got = client.get(body["result_url"])  # /results/alice/ID: the colored drawing, at the drawing's size
    assert body["result_url"] == f"/results/alice/{body['result_id']}"
    assert got.status_code == 200 and got.headers["content-type"] == "image/png" and len(got.content) == body["bytes"]
    out = Image.open(io.BytesIO(got.content))
    assert out.format == "PNG" and out.mode == "RGB" and out.size == (192, 192)
    listed = client.get("/results/alice").json()
    assert [x["id"] for x in listed if x["filename"] == "ring_translated.png"] == [body["result_id"]]
    assert client.get(f"/results/bob/{body['result_id']}").status_code == 404  # kept for alice only


@needs_classifier
def test_a_street_photo_is_not_jewelry(client):
    r = sketch(client, STREET.read_bytes(), STREET.name, user_id="carol")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["is_jewelry"] is False and body["type"] == "not jewelry", (STREET.name, body["probabilities"])
    with Image.open(STREET) as im:
        assert (body["width"], body["height"]) == im.size
    assert client.get(body["result_url"]).status_code == 200


def test_bad_input_gets_the_same_errors_as_colorize(client):
    r = sketch(client, b"this is not an image", "broken.png")
    assert r.status_code == 400 and r.json()["detail"] == "broken.png: not a readable photo (UnidentifiedImageError)"
    r = sketch(client, b"", "empty.png")
    assert r.status_code == 400 and "empty" in r.json()["detail"]
    r = sketch(client, huge_png(), "huge.png")
    assert r.status_code == 413
    assert r.json()["detail"] == "huge.png: 8000x7000 is 56.0 megapixels, above the 50 MP limit"
    r = sketch(client, None)
    assert r.status_code == 422 and any(e["loc"][-1] == "image" for e in r.json()["detail"])
    r = sketch(client, RING, user_id=None)  # open mode: the form says whose it is
    assert r.status_code == 422 and r.json()["detail"] == "missing form field user_id"
    assert sketch(client, RING, user_id="a/b").status_code == 422


@needs_classifier
def test_keys_decide_the_user_as_for_colorize(folder, tmp_path):
    app = create_app(weights_dir=folder, results_dir=tmp_path / "results", device="cpu")
    alice = KeyStore(app.state.config.db_path).add("alice")
    with TestClient(app) as c:
        r = sketch(c, RING, user_id=None)
        assert r.status_code == 401 and "api-key add" in r.json()["detail"]
        assert sketch(c, RING, user_id=None, key="wrong").status_code == 401
        r = sketch(c, RING, user_id="bob", key=alice)
        assert r.status_code == 403 and "not this API key's user" in r.json()["detail"]
        r = sketch(c, RING, user_id=None, key=alice)
        assert r.status_code == 200 and r.json()["result_url"] == f"/results/alice/{r.json()['result_id']}"
        assert c.get(r.json()["result_url"], headers={"Authorization": f"Bearer {alice}"}).status_code == 200


def test_missing_weights_are_503_naming_what_to_train(folder, tmp_path):
    no_classifier = tmp_path / "no_classifier"
    no_classifier.mkdir()
    tiny_paired(no_classifier)
    with TestClient(create_app(open=True, weights_dir=no_classifier, results_dir=tmp_path / "r1")) as c:
        r = sketch(c, RING)
        detail = r.json()["detail"]
        assert r.status_code == 503 and str(no_classifier / "jewelry_classifier.pt") in detail, detail
        assert "python -m colorizer train-classifier" in detail
    no_paired = tmp_path / "no_paired"
    no_paired.mkdir()
    (no_paired / "jewelry_classifier.pt").write_bytes(b"")  # never read: both are looked for before either loads
    app = create_app(open=True, weights_dir=no_paired, results_dir=tmp_path / "r2")
    with TestClient(app) as c:
        r = sketch(c, RING)
        detail = r.json()["detail"]
        assert r.status_code == 503 and "No paired translation weights found" in detail, detail
        assert "train_gan.py --task paired" in detail and "--weights PATH" not in detail
        tiny_paired(no_paired)  # now the classifier is read: not weights at all
        r = sketch(c, RING)
        assert r.status_code == 503 and str(no_paired / "jewelry_classifier.pt") in r.json()["detail"], r.json()


@needs_classifier
def test_the_classifier_can_be_named_by_hand(tmp_path):
    elsewhere = tmp_path / "models"
    elsewhere.mkdir()
    tiny_paired(elsewhere)
    app = create_app(open=True, weights_dir=elsewhere, classifier=SHIPPED, results_dir=tmp_path / "results")
    with TestClient(app) as c:
        assert sketch(c, RING).json()["type"] == "ring"


def test_the_jewelry_paired_weights_come_before_more_trained_ones(tmp_path):
    tiny_paired(tmp_path, images_seen=10**7)  # sketch2photo.pt, the best paired weights by rank
    assert SketchModels(weights_dir=tmp_path).paired_path() == tmp_path / "sketch2photo.pt"
    tiny_paired(tmp_path, name=PAIRED_NAME, images_seen=10)
    set_default(tmp_path / PAIRED_NAME)  # the manifest names it, as the shipped weights/defaults.json does
    assert SketchModels(weights_dir=tmp_path).paired_path() == tmp_path / PAIRED_NAME
    chosen = tmp_path / "sketch2photo.pt"  # a file named by hand still wins
    assert SketchModels(weights_dir=tmp_path, paired=chosen).paired_path() == chosen


def test_sketch_waits_at_the_gate_like_colorize(folder, tmp_path):
    app = create_app(open=True, weights_dir=folder, results_dir=tmp_path / "results", max_running=1, max_waiting=0)
    with TestClient(app) as c:
        assert app.state.gate.enter()  # the one place taken: the next sketch is refused before its upload is read
        try:
            r = sketch(c, RING)
        finally:
            app.state.gate.leave()
        assert r.status_code == 503 and "busy" in r.json()["detail"] and int(r.headers["retry-after"]) >= 1


# ---- the page's Sketch tab --------------------------------------------------------------------------

@needs_classifier
def test_page_sketch_tab_shows_the_type_the_probabilities_and_the_colored_sketch(monkeypatch, folder, media):
    at = run_app(monkeypatch, folder)
    assert [t.label for t in at.tabs] == ["Photos", "Sketch"]
    photos, sketches = at.tabs
    assert len(photos.file_uploader) == 1 and at.file_uploader[0].label.startswith("Photos")  # the photo page first
    sketches.file_uploader[0].set_value(("ring.png", RING, "image/png")).run()
    assert not at.exception, [e.value for e in at.exception]
    sketches = at.tabs[1]
    assert sketches.metric[0].value == "ring"
    assert any(c.value.startswith("jewelry · ring (") and " · 192×192 px · " in c.value for c in sketches.caption)
    table = sketches.dataframe[0].value
    assert list(table["class"]) == list(CLASSES) and abs(table["probability"].sum() - 1) < 1e-3
    assert [i.captions[0] for i in sketches.image] == ["Sketch", "Colored"]
    button, = sketches.download_button
    out = Image.open(io.BytesIO(served(media, button.proto.url)))
    assert button.label == "Download PNG" and out.size == (192, 192) and out.mode == "RGB"
    assert not at.tabs[0].image  # nothing on the photo page


def test_page_sketch_tab_says_what_is_missing(monkeypatch, tmp_path):
    only_paired = tmp_path / "weights"
    only_paired.mkdir()
    tiny_paired(only_paired)
    at = run_app(monkeypatch, only_paired)
    text = " ".join(w.value for w in at.tabs[1].warning)
    assert str(only_paired / "jewelry_classifier.pt") in text and "train-classifier" in text
    assert not at.tabs[1].file_uploader and len(at.file_uploader) == 1  # the photo page still works
