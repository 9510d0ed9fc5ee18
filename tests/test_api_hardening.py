"""The API under attack and faults (issue 45): every failure a status with a JSON body, never a 500.
Hostile photos, hostile hints, clients without a key, a full disk, the schema's statuses.
Stand-in models throughout: nothing here needs weights to be trained or loaded."""
from __future__ import annotations

import struct
import zlib

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from colorizer import images
from colorizer.images import PhotoError, read_photo
from colorizer.serving.api import create_app
from colorizer.serving.keys import KeyStore
from test_cli import tiny_weights  # noqa: F401 - the fixture
from test_serving_auth import small_jpeg


class EchoModel:
    """A stand-in colorizer: the photo back as RGB, at once."""

    render_size = 32
    color_strength = 1.0
    takes_hints = False
    meta = {"stage": "pretrain"}

    def colorize(self, image: Image.Image, render_size=None, saturation=1.0, hints=None) -> Image.Image:
        return image.convert("RGB")


class EchoSketch:
    """Stand-ins for POST /sketch's classifier and translator: the drawing back as it came, a ring for sure."""

    render_size = 32

    def translate(self, image):
        return image.convert("RGB")

    def predict_one(self, image):
        from colorizer.classify import CLASSES
        from colorizer.classify.predict import Prediction

        return Prediction(CLASSES[0], 1.0, {c: float(i == 0) for i, c in enumerate(CLASSES)})


@pytest.fixture
def served(tmp_path):
    """A keyed app with stand-in models: (client, alice's key)."""
    app = create_app(results_dir=tmp_path / "res", max_running=1, max_waiting=2, wait_timeout=2.0)
    model = EchoModel()
    app.state.model.get = lambda color_strength=None: model
    app.state.sketches.load = lambda: (EchoSketch(), EchoSketch())
    key = KeyStore(app.state.config.db_path).add("alice")
    with TestClient(app) as client:
        yield client, key


def auth(key: str | None) -> dict:
    return {"Authorization": f"Bearer {key}"} if key else {}


# ---- 1. hostile photos: compressed chunks that inflate past Pillow's limit --------------------

def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


INFLATES = zlib.compress(b"A" * 3_000_000, 9)  # 3 MB of text in 3 KB: past PngImagePlugin.MAX_TEXT_CHUNK (1 MB)
BOMB_CHUNKS = {
    "zTXt": _chunk(b"zTXt", b"Comment\x00\x00" + INFLATES),
    "iTXt": _chunk(b"iTXt", b"Comment\x00\x01\x00\x00\x00" + INFLATES),  # compressed flag 1, method 0
    "iCCP": _chunk(b"iCCP", b"icc\x00\x00" + INFLATES),
}


def png_with(chunk: bytes, before_pixels: bool, w: int = 16, h: int = 12) -> bytes:
    """A valid gray PNG with chunk before its image data (IDAT) or after it."""
    raw = b"".join(b"\x00" + bytes(range(w)) for _ in range(h))
    ihdr = _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
    idat = _chunk(b"IDAT", zlib.compress(raw))
    body = chunk + idat if before_pixels else idat + chunk
    return b"\x89PNG\r\n\x1a\n" + ihdr + body + _chunk(b"IEND", b"")


@pytest.mark.parametrize("kind", sorted(BOMB_CHUNKS))
@pytest.mark.parametrize("before_pixels", [True, False], ids=["before_IDAT", "after_IDAT"])
def test_a_chunk_that_inflates_too_far_is_a_photo_error_naming_the_file(kind, before_pixels):
    data = png_with(BOMB_CHUNKS[kind], before_pixels)
    with pytest.raises(PhotoError, match=r"^bomb\.png: .*inflates past Pillow's limit"):
        read_photo(data, name="bomb.png")
    assert read_photo(png_with(b"", before_pixels), name="fine.png").image.size == (16, 12)


def test_other_decoder_errors_at_open_are_photo_errors(monkeypatch):
    """Whatever a Pillow plugin raises while reading a header is the file's fault: a PhotoError."""
    for error in (ValueError("odd header"), SyntaxError("not a PNG"), EOFError(), struct.error("unpack"),
                  zlib.error("bad stream"), IndexError("tuple index"), TypeError("bad mode")):
        def opener(*args, error=error, **kwargs):
            raise error
        monkeypatch.setattr(images.Image, "open", opener)
        with pytest.raises(PhotoError, match=r"^x\.png: not a readable photo"):
            images.open_image(b"\x89PNG", name="x.png")


@pytest.mark.parametrize("kind", sorted(BOMB_CHUNKS))
@pytest.mark.parametrize("route", ["/colorize", "/sketch"])
def test_the_api_answers_400_json_for_a_chunk_bomb(served, kind, route):
    client, key = served
    r = client.post(route, files={"image": ("bomb.png", png_with(BOMB_CHUNKS[kind], True), "image/png")},
                    headers=auth(key))
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.json()["detail"].startswith("bomb.png: not a readable photo (a compressed metadata chunk")
    if route == "/colorize":  # the server goes on as before
        ok = client.post(route, files={"image": ("fine.jpg", small_jpeg(), "image/jpeg")}, headers=auth(key))
        assert ok.status_code == 200, ok.text


# ---- 2. hostile hints: bounded before they are parsed ------------------------------------------

HOSTILE_HINTS = {
    "400 digits": ('[{"x": ' + "9" * 400 + ', "y": 2, "color": "#c0392b"}]', "400 digits: at most 15"),
    "50,000 deep": ("[" * 50_000 + "]" * 50_000, "nested more than 8 deep"),
    "20,000 deep objects": ('{"a": ' * 20_000 + "1" + "}" * 20_000, "nested more than 8 deep"),
    "a megabyte": ("[" + " " * 2**20 + "]", "characters of hints: at most"),
    "1e999": ('[{"x": 1e999, "y": 2, "color": "#c0392b"}]', "'1e999' is not a pixel"),
    "NaN": ('[{"x": NaN, "y": 2, "color": "#c0392b"}]', "NaN is not a number JSON allows"),
    "brackets in a string": ('[{"x": "' + "[" * 50 + '", "y": 2, "color": "#c0392b"}]', "x and y are numbers"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_HINTS))
def test_hostile_hints_are_a_hint_error(case):
    from colorizer.hints import HintError, parse_hints_json

    text, message = HOSTILE_HINTS[case]
    with pytest.raises(HintError, match=f"^hints.json: .*{message}"):
        parse_hints_json(text, "hints.json")


@pytest.mark.parametrize("case", sorted(set(HOSTILE_HINTS) - {"a megabyte"}))  # that one: the form's part limit
def test_hostile_hints_are_422_with_a_clear_message(served, case):
    client, key = served
    text, message = HOSTILE_HINTS[case]
    r = client.post("/colorize", data={"hints": text}, files={"image": ("p.jpg", small_jpeg(), "image/jpeg")},
                    headers=auth(key))
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith("hints: ") and message in r.json()["detail"]


# ---- 4. hints against weights without hint input: refused from what was loaded, no reload ------

def test_hints_on_weights_without_hint_input_are_refused_without_loading_them_again(tmp_path, monkeypatch):
    from colorizer.serving import model as model_module

    weights = tmp_path / "plain.pt"
    weights.write_bytes(b"stand-in")  # never read: app_logic.load is counted instead
    loads = []

    def load(path, color_strength=None, **kwargs):
        loads.append(path)
        return EchoModel()
    monkeypatch.setattr(model_module.app_logic, "load", load)
    app = create_app(results_dir=tmp_path / "res", open=True, weights=weights)
    hints = '[{"x": 1, "y": 1, "color": "#c0392b"}]'
    with TestClient(app) as client:
        for _ in range(4):
            r = client.post("/colorize", data={"user_id": "u", "hints": hints},
                            files={"image": ("p.jpg", small_jpeg(), "image/jpeg")})
            assert r.status_code == 422 and "plain.pt: these weights take no color hints" in r.json()["detail"]
        assert client.post("/colorize", data={"user_id": "u"},
                           files={"image": ("p.jpg", small_jpeg(), "image/jpeg")}).status_code == 200
        assert client.post("/colorize", data={"user_id": "u", "hints": hints},
                           files={"image": ("p.jpg", small_jpeg(), "image/jpeg")}).status_code == 422
    assert loads == [weights]  # loaded once: for colorizing, and to learn it takes no hints


def test_the_command_line_skips_a_chunk_bomb_with_one_line_and_goes_on(tmp_path, tiny_weights, capsys):  # noqa: F811
    from colorizer.cli import main
    from conftest import random_color_image

    folder = tmp_path / "in"
    folder.mkdir()
    random_color_image(32, 24).save(folder / "still.jpg")
    (folder / "bomb.png").write_bytes(png_with(BOMB_CHUNKS["iCCP"], True))
    out = tmp_path / "out"
    assert main(["colorize", str(folder), "-o", str(out), "--weights", str(tiny_weights), "--backend", "torch",
                 "--precision", "fp32", "--render-size", "64"]) == 0
    captured = capsys.readouterr()
    assert f"{folder / 'bomb.png'}: not a readable photo (a compressed metadata chunk inflates" in captured.err
    assert f"Wrote 1 colorized photo(s) to {out}; 1 skipped" in captured.out
