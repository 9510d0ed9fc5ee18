"""Color hints as a person gives them: `colorize --hint/--hints`, `evaluate --hints`, and their errors.

The weights here are a few training steps of the hints task (they take hints, they need not use them
well); that the shipped hints weights make the region follow is checked on real weights below."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageColor

from colorizer import hints
from colorizer.cli import main
from colorizer.checkpoint import find_weights, make_meta, save_weights
from colorizer.infer import Colorizer
from colorizer.models import build_generator
from colorizer.training import TrainConfig, train
from helpers import EXAMPLES_BW, EXAMPLES_COLOR

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict:
    """A weights folder holding a plain colorizer (ranked first for automatic use) and hints weights
    trained from it for two steps, and a gray photo."""
    root = tmp_path_factory.mktemp("hints_use")
    photos = root / "photos"
    photos.mkdir()
    for src in sorted(EXAMPLES_COLOR.glob("*.jpg"))[:8]:
        with Image.open(src) as im:
            im.convert("RGB").resize((96, 80)).save(photos / src.name)
    weights = root / "weights"
    g = build_generator("resnet18", "none", 64)
    plain = save_weights(weights / "plain.pt", g.state_dict(),
                         make_meta(stage="pretrain", backbone="resnet18", size=64, head="ab", images_seen=100))
    cfg = TrainConfig(stage="pretrain", task="hints", data=str(photos), val_fraction=0.25, init=plain,
                      out=weights / "hints.pt", run_dir=root / "runs", size=64, epochs=1, batch_size=4, lr=1e-3,
                      workers=0, backbone_weights="none", samples=1, max_steps=2)
    train(cfg, progress=False, log=lambda s: None)
    gray = root / "old.jpg"
    with Image.open(sorted(EXAMPLES_BW.glob("*.jpg"))[0]) as im:
        im.convert("L").resize((120, 90)).save(gray)
    return {"root": root, "weights": weights, "plain": Path(plain), "hints": cfg.out, "gray": gray, "photos": photos}


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return code, out, err


def test_colorize_with_hints_finds_the_hints_weights_and_writes_the_photo(folders, tmp_path, capsys):
    assert find_weights(folders["weights"])[0] == folders["plain"]  # automatic use keeps the plain colorizer
    spec = tmp_path / "h.json"
    spec.write_text(json.dumps([{"x": 10, "y": 20, "color": "#c0392b"}, {"x": 100.5, "y": 60, "color": "2e86c1"}]))
    dest = tmp_path / "out.png"
    code, out, err = _run(capsys, "colorize", folders["gray"], "-o", dest, "--weights-dir", folders["weights"],
                          "--hints", spec, "--hint", "50,50,#27ae60", "--backend", "torch")
    assert code == 0, err
    assert "with 3 color hint(s)" in out and "hints.pt" in out
    with Image.open(dest) as im:
        assert im.size == (120, 90) and im.mode == "RGB"
    # without hints the same folder colorizes with the plain weights
    code, out, err = _run(capsys, "colorize", folders["gray"], "-o", tmp_path / "auto.png", "--weights-dir",
                          folders["weights"], "--backend", "torch")
    assert code == 0 and "plain.pt" in out, err


def test_hints_weights_change_the_colors_only_where_a_hint_is_given(folders):
    model = Colorizer.load(folders["hints"], backend="torch", render_size=64)
    with Image.open(folders["gray"]) as im:
        gray = im.convert("RGB")
    auto = np.asarray(model.colorize(gray))
    np.testing.assert_array_equal(auto, np.asarray(model.colorize(gray, hints=[])))
    # the pipeline (many files, batched) gives what one photo gives, hints and all
    from colorizer.pipeline import colorize_files

    given = [hints.UserHint(60, 45, (220, 20, 20))]
    one = np.asarray(model.colorize(gray, hints=given)).astype(int)
    jobs = [(folders["gray"], folders["root"] / "a.png"), (folders["gray"], folders["root"] / "b.png")]
    results = list(colorize_files(model, jobs, hints={folders["gray"]: given}))
    assert all(r.error is None for r in results)
    with Image.open(folders["root"] / "a.png") as im:
        assert np.abs(np.asarray(im).astype(int) - one).max() <= 2


@pytest.mark.parametrize("flags, message", [
    (["--hint", "500,10,#ff0000"], r"hint at \(500, 10\) lies outside .*old.jpg \(120x90 px"),
    (["--hint", "5,10,red"], "'red' is not a color: give it as #rrggbb"),
    (["--hint", "5,10"], r"give it as X,Y,#rrggbb"),
    (["--hints", "missing.json"], r"--hints missing.json: cannot be read"),
])
def test_bad_hints_are_refused_before_the_model_loads(folders, capsys, flags, message):
    code, _, err = _run(capsys, "colorize", folders["gray"], "-o", "x.png", "--weights-dir", folders["weights"],
                        *flags)
    assert code == 2 and re.search(message, err), err
    assert not Path("x.png").exists()


def test_too_many_hints_and_hints_for_a_folder_are_refused(folders, tmp_path, capsys):
    spec = tmp_path / "many.json"
    spec.write_text(json.dumps([{"x": 1, "y": 1, "color": "#000000"}] * 201))
    code, _, err = _run(capsys, "colorize", folders["gray"], "--weights-dir", folders["weights"], "--hints", spec)
    assert code == 2 and "201 hints for" in err and "at most 200" in err
    code, _, err = _run(capsys, "colorize", folders["photos"], "--weights-dir", folders["weights"],
                        "--hint", "1,1,#000000")
    assert code == 2 and "hints belong to one photo" in err


def test_hints_on_weights_without_hint_input_name_them_and_say_what_to_train(folders, tmp_path, capsys):
    code, _, err = _run(capsys, "colorize", folders["gray"], "--weights", folders["plain"], "--hint", "1,1,#ff0000")
    assert code == 2 and "plain.pt: these weights take no color hints" in err and "--task hints" in err
    alone = tmp_path / "plain_only"
    alone.mkdir()
    shutil.copy(folders["plain"], alone / "plain.pt")
    code, _, err = _run(capsys, "colorize", folders["gray"], "--weights-dir", alone, "--hint", "1,1,#ff0000")
    assert code == 2 and "No color hints weights in" in err and "--task hints" in err


def test_evaluate_hints_writes_the_curve(folders, tmp_path, capsys):
    code, out, err = _run(capsys, "evaluate", "--data", folders["photos"], "--weights-dir", folders["weights"],
                          "--hints", 0, 3, "--limit", 3, "--out", tmp_path / "curve")
    assert code == 0, err
    rows = json.loads((tmp_path / "curve" / "summary.json").read_text())["rows"]
    assert [r["hints"] for r in rows] == [0, 3] and "hints.pt" in out
    code, _, err = _run(capsys, "evaluate", "--data", folders["photos"], "--weights", folders["plain"], "--hints", 1)
    assert code == 2 and "take no color hints" in err


# ---- the page's hints (colorizer/hints/page.py; the browser test clicks them for real) ----------

def test_page_clicks_become_hints_in_the_photos_pixels_and_the_palette_offers_the_models_colors():
    from colorizer.hints import page as app_hints

    click = app_hints.Click.from_component({"x": 50, "y": 25, "width": 200, "height": 100, "unix_time": 7})
    assert app_hints.Click.from_component(None) is None and click.at == 7
    given = app_hints.add_hint([], click, (800, 400), "#2e86c1")
    assert given == [hints.UserHint(200.0, 100.0, (46, 134, 193))]
    assert app_hints.recolor_last(given, "#c0392b")[0].rgb == (192, 57, 43)
    assert app_hints.as_json(given) == [{"x": 200.0, "y": 100.0, "color": "#2e86c1"}]
    edge = app_hints.Click(500, -3, 200, 100)  # outside the shown image: kept on the photo's edge
    assert app_hints.Click.on(edge, (800, 400)) == (799.0, 0.0)
    full = [hints.UserHint(1, 1, (0, 0, 0))] * hints.MAX_USER_HINTS
    assert len(app_hints.add_hint(full, click, (800, 400), "#000000")) == hints.MAX_USER_HINTS

    # a photo half green, half purple: near a point in the green half the model's colors are green
    photo = Image.new("RGB", (200, 100), (40, 160, 60))
    photo.paste((120, 40, 160), (100, 0, 200, 100))
    near = app_hints.predicted_colors(photo, (30, 50))
    assert near[0] == "#28a03c" and len(near) == len(set(near))
    colors = app_hints.palette(photo, (30, 50))
    assert colors[0] == "#28a03c" and set(app_hints.COMMON_COLORS) <= set(colors)
    strip = app_hints.palette_image(colors, chosen=colors[1])
    columns, rows = app_hints.palette_grid(len(colors))  # rows of squares that fit the page's narrow column
    assert columns == app_hints.PER_ROW and rows == -(-len(colors) // columns) > 1
    assert strip.size == (app_hints.SWATCH * columns, app_hints.SWATCH * rows)
    assert strip.getpixel((app_hints.SWATCH // 2, app_hints.SWATCH // 2)) == (40, 160, 60)
    seventh = (6 % columns + 0.5, 6 // columns + 0.5)  # its square's centre, in squares
    assert strip.getpixel(tuple(int(v * app_hints.SWATCH) for v in seventh)) == ImageColor.getrgb(colors[6])
    pick = app_hints.Click(2.5 * app_hints.SWATCH, 5, strip.width, strip.height)  # the third square
    assert app_hints.swatch_at(pick, colors) == colors[2]
    shown_half = app_hints.Click(seventh[0] * app_hints.SWATCH / 2, seventh[1] * app_hints.SWATCH / 2,
                                 strip.width / 2, strip.height / 2)  # the palette shown at half its size
    assert app_hints.swatch_at(shown_half, colors) == colors[6]
    assert len(colors) % columns  # the last row is short: a click past its last square picks nothing
    past_last = app_hints.Click(strip.width - 1, strip.height - 1, strip.width, strip.height)
    assert app_hints.swatch_at(past_last, colors) is None

    dotted = app_hints.with_dots(photo, [hints.UserHint(150, 50, (255, 0, 0))])
    assert dotted.getpixel((150, 50)) == (255, 0, 0) and dotted.getpixel((20, 20)) == (40, 160, 60)
    assert app_hints.scaled(given, (800, 400), (400, 200))[0].x == 100.0


def test_page_offers_hints_with_the_hints_weights_and_downloads_the_hinted_photo(folders, monkeypatch):
    from helpers import BW_PHOTO, run_app

    at = run_app(monkeypatch, folders["weights"])
    assert "plain.pt" in at.selectbox[0].value  # automatic colorizing keeps the plain colorizer
    at.file_uploader[0].set_value([("surfer.jpg", BW_PHOTO.read_bytes(), "image/jpeg")])
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    toggle = next(t for t in at.toggle if "Color hints" in t.label)
    toggle.set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("0 hint(s) · with hints.pt" in c.value for c in at.caption)
    undo = next(b for b in at.button if b.label == "Undo")
    assert undo.disabled  # nothing to undo yet
    assert at.color_picker[0].value == "#c0392b"
    at.color_picker[0].set_value("#2e86c1").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.color_picker[0].value == "#2e86c1"


# ---- the API's hints field -----------------------------------------------------------------------

def test_api_takes_hints_as_a_json_field_and_refuses_bad_ones(folders, tmp_path):
    from fastapi.testclient import TestClient

    from colorizer.serving.api import create_app
    from helpers import post

    gray = folders["gray"].read_bytes()
    app = create_app(open=True, weights_dir=folders["weights"], results_dir=tmp_path / "results")
    with TestClient(app) as client:
        ok = post(client, gray, hints=json.dumps([{"x": 10, "y": 20, "color": "#c0392b"}]))
        assert ok.status_code == 200, ok.text
        assert ok.headers["X-Hints"] == "1" and ok.headers["X-Width"] == "120"
        assert app.state.model.with_hints().meta["path"].endswith("hints.pt")
        plain = post(client, gray)  # no hints: the folder's automatic default
        assert plain.status_code == 200 and plain.headers["X-Hints"] == "0"
        assert app.state.model.get().meta["path"].endswith("plain.pt")
        for field, message in [("[{\"x\": 500, \"y\": 20, \"color\": \"#c0392b\"}]", "lies outside"),
                               ("[{\"x\": 5, \"y\": 2, \"color\": \"red\"}]", "not a color"),
                               ("{x", "not JSON"),
                               (json.dumps([{"x": 1, "y": 1, "color": "#000000"}] * 201), "at most 200")]:
            bad = post(client, gray, hints=field)
            assert bad.status_code == 422 and message in bad.json()["detail"], (field, bad.text)
    pinned = create_app(open=True, weights=folders["plain"], results_dir=tmp_path / "r2")
    with TestClient(pinned) as client:
        bad = post(client, gray, hints=json.dumps([{"x": 1, "y": 1, "color": "#ff0000"}]))
        assert bad.status_code == 422 and "plain.pt: these weights take no color hints" in bad.json()["detail"]
