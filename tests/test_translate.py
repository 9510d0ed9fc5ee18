"""Paired translation at use time (issue 13): the translate verb on files and folders, the weights'
kind deciding the verb, the page and the API serving paired weights, and the page/API's onnxruntime
colorizer agreeing with torch."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

from colorizer import app_logic
from colorizer.checkpoint import WeightsError, find_weights
from colorizer.cli import main
from colorizer.infer import Colorizer, resolve_weights
from colorizer.models import build_paired_generator
from colorizer.serving.api import create_app
from colorizer.serving.model import ModelHolder
from colorizer.paired.translate import Translator, render_shape
from helpers import BW_PHOTO, EXAMPLES_BW, make_weights, random_color_image, run_app, tiny_paired
from helpers import PAIRED_FILTERS as FILTERS, PAIRED_SIZE as SIZE

@pytest.fixture(scope="module")
def both(tmp_path_factory) -> Path:
    """A weights folder with a colorizer and (more trained) paired weights, as weights/ ships them."""
    folder = tmp_path_factory.mktemp("weights")
    make_weights(folder, "colorizer_gan.pt", "gan", 20)
    tiny_paired(folder)
    return folder


def sketch_dir(root: Path) -> Path:
    """Three images of odd sizes in a nested folder, and a file that is not an image."""
    (root / "sub").mkdir(parents=True)
    random_color_image(50, 37, 1).save(root / "a.png")
    random_color_image(130, 64, 2).save(root / "sub" / "b.jpg")
    Image.open(sorted(EXAMPLES_BW.glob("*.jpg"))[0]).convert("L").resize((90, 120)).save(root / "c.jpg")
    (root / "notes.txt").write_text("not an image")
    return root


# ---- the model --------------------------------------------------------------------------------

def test_translator_rebuilds_the_trained_generator_and_keeps_the_size(both):
    t = Translator.load(both / "sketch2photo.pt", device="cpu", precision="fp32")
    assert t.render_size == SIZE and t.meta["filters"] == FILTERS and t.meta["depth"] == 5
    # at the trained size it is the generator itself, on [-1, 1] input
    img = random_color_image(SIZE, SIZE, 4)
    x = torch.from_numpy(np.array(img)).permute(2, 0, 1)[None].float() / 127.5 - 1
    with torch.no_grad():
        expected = t.generator(x).clamp(-1, 1).add(1).mul(127.5)
    got = torch.from_numpy(np.array(t.translate(img))).permute(2, 0, 1)[None].float()
    assert (got - expected).abs().max() <= 1.0  # rounding to 8 bits
    for size in [(50, 37), (7, 300), (640, 480), (33, 32)]:
        out = t.translate(random_color_image(*size))
        assert out.size == size and out.mode == "RGB"
    assert render_shape(480, 640, 32, 32) == ((32, 43), (32, 64))  # short side at the size, padded
    assert render_shape(10, 1000, 128, 128) == ((5, 512), (128, 512))  # long side capped at 4x


def test_the_weights_kind_decides_the_verb(both, tmp_path):
    with pytest.raises(WeightsError, match=r"colorizer weights, not paired .*python -m colorizer colorize"):
        Translator.load(both / "colorizer_gan.pt")
    with pytest.raises(WeightsError, match=r"paired translation \(pix2pix\) weights.*python -m colorizer translate"):
        Colorizer.load(both / "sketch2photo.pt")
    # paired weights rank after colorizers, however trained: the default colorizer stays a colorizer
    assert [p.name for p in find_weights(both)] == ["colorizer_gan.pt", "sketch2photo.pt"]
    assert resolve_weights(None, both).name == "colorizer_gan.pt"
    assert [p.name for p in find_weights(both, task="paired")] == ["sketch2photo.pt"]


# ---- the command line -------------------------------------------------------------------------

def test_translate_a_file_and_a_folder(both, tmp_path, capsys):
    src = sketch_dir(tmp_path / "in")
    assert main(["translate", str(src / "a.png"), "-o", str(tmp_path / "one.png"), "--weights-dir", str(both)]) == 0
    assert Image.open(tmp_path / "one.png").size == (50, 37)
    assert "sketch2photo.pt (unet generator, AtoB" in capsys.readouterr().out

    out = tmp_path / "out"
    assert main(["translate", str(src), "-o", str(out), "--weights", str(both / "sketch2photo.pt")]) == 0
    captured = capsys.readouterr()
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert written == ["a_translated.png", "c_translated.png", "sub/b_translated.png"]
    for name, size in [("a_translated.png", (50, 37)), ("sub/b_translated.png", (130, 64)),
                       ("c_translated.png", (90, 120))]:
        with Image.open(out / name) as im:
            assert im.size == size and im.mode == "RGB"
    assert "Wrote 3 translated image(s)" in captured.out and "notes.txt" in captured.err


def test_wrong_kind_of_weights_is_one_line(both, tmp_path, capsys):
    src = sketch_dir(tmp_path / "in")
    assert main(["translate", str(src / "a.png"), "-o", str(tmp_path / "x.png"),
                 "--weights", str(both / "colorizer_gan.pt")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"error: {both / 'colorizer_gan.pt'}: colorizer weights, not paired translation weights: "
                   f"run them with `python -m colorizer colorize`")
    assert main(["colorize", str(src / "a.png"), "-o", str(tmp_path / "y.png"),
                 "--weights", str(both / "sketch2photo.pt")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "run them with `python -m colorizer translate`" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["translate", str(src / "a.png"), "--weights-dir", str(empty)]) == 2
    assert "No paired translation weights found" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "y.png").exists()


# ---- the page's and the API's shared logic ------------------------------------------------------

def test_app_logic_lists_both_kinds_and_translates(both):
    listed = app_logic.list_weights(both)
    assert [w.path.name for w in listed] == ["colorizer_gan.pt", "sketch2photo.pt"]
    assert listed[0].label.startswith("stage 2 · GAN — resnet18, 64 px")
    assert listed[1].label.startswith(f"paired · pix2pix GAN — unet {FILTERS} filters, AtoB, {SIZE} px, 1.0M")
    assert [w.path.name for w in app_logic.weights_choices(both)] == ["colorizer_gan.pt", "sketch2photo.pt"]
    model = app_logic.load(both / "sketch2photo.pt", device="cpu")
    result = app_logic.process_photo(model, BW_PHOTO.read_bytes(), "sketch.jpg", render_size=64, saturation=2)
    assert result.paired and result.output.size == result.gray.size == (618, 409)
    assert result.filename == "sketch_translated.png"


def test_page_serves_paired_weights(monkeypatch, both):
    at = run_app(monkeypatch, both)
    assert at.selectbox[0].value == str(both / "colorizer_gan.pt")  # the colorizer stays the default
    assert [s.label for s in at.slider] == ["Saturation boost", "Films: steady colors"]
    at.selectbox[0].set_value(str(both / "sketch2photo.pt")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.slider and not at.select_slider  # no colorizer settings for paired weights
    assert any("Paired translation (AtoB)" in c.value for c in at.caption)
    at.radio[0].set_value("Side by side")  # the plain images (the default is the before/after slider)
    at.file_uploader[0].set_value([("sketch.jpg", BW_PHOTO.read_bytes(), "image/jpeg")]).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [i.captions[0] for i in at.image] == ["Input", "Output"]
    (_, result), = at.session_state["results"].items()
    assert result.paired and result.output.size == (618, 409)


def test_api_post_serves_paired_weights(both, tmp_path):
    app = create_app(open=True, results_dir=tmp_path / "results", weights=both / "sketch2photo.pt", device="cpu")
    with TestClient(app) as c:
        r = c.post("/colorize", data={"user_id": "alice"},
                   files={"image": ("sketch.jpg", BW_PHOTO.read_bytes(), "image/jpeg")})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "image/png" and r.headers["x-task"] == "paired"
        assert Image.open(io.BytesIO(r.content)).size == (618, 409)
        assert 'filename="sketch_translated.png"' in r.headers["content-disposition"]
        health = c.get("/health").json()
        assert health["task"] == "paired" and health["backend"] == "torch" and "color_strength" not in health
        listed = c.get("/results/alice").json()
        assert [x["filename"] for x in listed] == ["sketch_translated.png"]


def test_page_and_api_colorizer_runs_torch_and_matches_fp32(both):
    """app_logic.load (the page's and the API's loader) takes torch, bf16 on this CPU (they load once:
    faster per photo than onnxruntime); its colors are fp32's within bf16's rounding."""
    holder = ModelHolder(both / "colorizer_gan.pt", device="cpu")
    served = holder.get()
    assert served.backend == "torch"
    torch_model = Colorizer.load(both / "colorizer_gan.pt", device="cpu", precision="fp32", backend="torch")
    L_full, L_small = torch_model.prepare(Image.open(BW_PHOTO), render_size=64)
    ab = torch_model.predict_ab(L_small)
    diff = float(np.abs(served.predict_ab(L_small) - ab).max())
    assert diff < 5e-2 and np.abs(ab).max() > 0.05, (diff, np.abs(ab).max())  # colors, and the same ones
    assert served.colorize(Image.open(BW_PHOTO)).size == (618, 409)


def test_colorize_in_a_folder_of_paired_weights_alone_says_none_are_colorizers(tmp_path, capsys):
    """With no --weights, colorize looks for colorizer weights only: paired ones are not picked up
    (and then refused); the one line says there are no colorizer weights and what to run."""
    folder = tmp_path / "weights"
    folder.mkdir()
    tiny_paired(folder)
    photo = tmp_path / "old.jpg"
    random_color_image(40, 32).save(photo)
    assert main(["colorize", str(photo), "-o", str(tmp_path / "out"), "--weights-dir", str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: No colorizer weights found in {folder}/. Train them with `python pretrain.py` " \
                  f"(stage 1) and `python train_gan.py` (stage 2), or pass --weights PATH.", err


SHIPPED_PAIRED = Path(__file__).resolve().parents[1] / "weights" / "sketch2photo.pt"


@pytest.mark.skipif(not SHIPPED_PAIRED.is_file(), reason="no shipped paired weights in this checkout")
def test_shipped_sketch2photo_follows_the_lines(tmp_path):
    """The shipped sketch -> photo weights turn a sketch made as their training pairs were into a
    color image of its size, not one flat color, and one that depends on the lines drawn: two
    different sketches give different images (an untrained or collapsed model draws the same
    layout whatever it is given)."""
    from colorizer.paired.sketches import make_pair

    model = Translator.load(SHIPPED_PAIRED, device="cpu", precision="fp32")
    outs = []
    for photo in sorted(EXAMPLES_BW.parent.glob("color/*"))[:2]:
        drawn = make_pair(Image.open(photo), 80, "dog").crop((0, 0, 80, 80))  # as the training pairs
        out = model.translate(drawn)
        assert out.size == drawn.size and out.mode == "RGB"
        arr = np.asarray(out, dtype=np.float64)
        assert np.abs(arr - arr.mean((0, 1))).mean() > 5  # not one flat color
        assert np.ptp(arr.mean(2) - arr.min(2)) > 10  # some color, not only gray
        outs.append(arr)
    assert np.abs(outs[0] - outs[1]).mean() > 10
