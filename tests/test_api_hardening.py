"""The API under attack and faults (issue 45): every failure a status with a JSON body, never a 500.
Hostile photos, hostile hints, clients without a key, a full disk, the schema's statuses.
Stand-in models throughout: nothing here needs weights to be trained or loaded."""
from __future__ import annotations

import struct
import zlib

import pytest
from fastapi.testclient import TestClient

from colorizer import images
from colorizer.images import PhotoError, read_photo
from colorizer.serving.api import create_app
from helpers import BOMB_CHUNKS, EchoModel, auth, png_with, small_jpeg


# ---- 1. hostile photos: compressed chunks that inflate past Pillow's limit --------------------

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
def test_the_api_answers_400_json_for_a_chunk_bomb(echo_server, kind, route):
    client, key = echo_server
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
def test_hostile_hints_are_422_with_a_clear_message(echo_server, case):
    client, key = echo_server
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
    from helpers import random_color_image

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
