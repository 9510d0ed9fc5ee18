"""Inference options on tiny random weights: color strength (stage 2 blended with the stage-1 weights
it started from, found by metadata) and weights whose generator predicts ab bins (a classes head)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from colorizer.limits import DEFAULT_COLOR_STRENGTH

from colorizer import app_logic as logic
from colorizer import color_classes, infer
from colorizer.checkpoint import make_meta, read_meta, save_weights
from colorizer.infer import ColorStrengthError, Colorizer, find_partner
from colorizer.metrics import colorfulness
from helpers import BW_PHOTO, ROOT, random_color_image, tiny_generator, tiny_pair

SHIPPED = ROOT / "weights"


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> tuple[Path, Path]:
    return tiny_pair(tmp_path_factory.mktemp("pair"))


def photo():
    return random_color_image(96, 64, seed=3)


def png(model: Colorizer) -> bytes:
    return logic.png_bytes(model.colorize(photo()))


def load(path, **kw) -> Colorizer:
    return Colorizer.load(path, device="cpu", precision="fp32", **kw)


# ---- color strength -----------------------------------------------------------------------

def test_partner_found_by_metadata(pair, tmp_path):
    p1, p2 = pair
    meta2 = infer.read_meta(p2)
    assert find_partner(p2, meta2) == p1  # not the decoy, which sorts first
    assert find_partner(p1, infer.read_meta(p1)) is None  # stage 1 has no partner
    # stage 2 alone in its folder: the partner is looked for in the weights folder too
    alone = tmp_path / "alone"
    alone.mkdir()
    moved = alone / p2.name
    moved.write_bytes(p2.read_bytes())
    assert find_partner(moved, meta2, weights_dir=tmp_path / "nowhere") is None
    assert find_partner(moved, meta2, weights_dir=p1.parent) == p1


@pytest.mark.skipif(not (SHIPPED / "colorizer_gan.pt").is_file(), reason="shipped weights absent")
def test_shipped_pair_is_found():
    gan = SHIPPED / "colorizer_gan.pt"
    assert find_partner(gan, infer.read_meta(gan)) == SHIPPED / "generator_pretrained.pt"


def test_strength_one_is_stage_two_untouched_and_zero_is_stage_one(pair):
    p1, p2 = pair
    plain = load(p2, color_strength=1.0)
    assert "base_weights" not in plain.meta and plain.color_strength == 1.0  # no blending at all
    default = load(p2)
    assert default.color_strength == DEFAULT_COLOR_STRENGTH and default.meta["base_weights"] == str(p1)
    zero = load(p2, color_strength=0.0)
    assert zero.meta["base_weights"] == str(p1) and zero.color_strength == 0.0
    assert png(zero) == png(load(p1))
    assert png(zero) != png(plain)


def test_half_strength_is_the_mean_of_the_two(pair):
    p1, p2 = pair
    s1, _ = infer.load_weights(p1)
    s2, _ = infer.load_weights(p2)
    half = load(p2, color_strength=0.5).generator.state_dict()
    assert half.keys() == s2.keys()
    ints = 0
    for k, v in half.items():
        if v.is_floating_point():
            assert torch.allclose(v, (s1[k] + s2[k]) / 2, rtol=1e-6, atol=0), k
        else:  # num_batches_tracked: stage 2's
            assert torch.equal(v, s2[k]) and not torch.equal(v, s1[k]), k
            ints += 1
    assert ints > 0
    assert any("running_mean" in k for k in half)  # BatchNorm statistics are blended too


def test_explicit_base_weights_override_the_search(pair, tmp_path):
    p1, p2 = pair
    other = save_weights(tmp_path / "other.pt", tiny_generator(5).state_dict(),
                         make_meta(stage="pretrain", backbone="resnet18", size=64, images_seen=1))
    zero = load(p2, color_strength=0.0, base_weights=other)
    assert zero.meta["base_weights"] == str(other) and png(zero) == png(load(other))


def test_no_partner_is_an_error_naming_the_missing_file(pair, tmp_path, monkeypatch):
    p1, p2 = pair
    with pytest.raises(ColorStrengthError, match="stage-1 weights") as err:
        load(p1, color_strength=0.5)
    assert not err.value.partner_missing
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / p2.name).write_bytes(p2.read_bytes())
    monkeypatch.setenv(infer.WEIGHTS_DIR_ENV, str(tmp_path / "empty"))
    with pytest.raises(ColorStrengthError, match=r"stage1\.pt of 2025-01-01 10:00 UTC, 10 photos seen\), not found in"):
        load(alone / p2.name, color_strength=0.5)
    assert png(load(alone / p2.name)) == png(load(p2, color_strength=1.0))  # the default needs no partner


def test_default_strength_applies_where_it_can(pair, monkeypatch):
    p1, p2 = pair
    monkeypatch.setattr(infer, "DEFAULT_COLOR_STRENGTH", 0.0)
    assert load(p2).color_strength == 0.0 and png(load(p2)) == png(load(p1))
    assert load(p1).color_strength == 1.0  # stage 1: used as it is, no error


def test_blending_different_heads_or_shapes_is_an_error(pair, tmp_path):
    _, p2 = pair
    centers = color_classes.bin_centers()
    classes = save_weights(tmp_path / "classes.pt", tiny_generator(0, len(centers)).state_dict(),
                           make_meta(stage="pretrain", backbone="resnet18", size=64, images_seen=1, head="classes",
                                     bin=10.0, temperature=0.38))
    with pytest.raises(ColorStrengthError, match="cannot be blended"):
        load(p2, color_strength=0.5, base_weights=classes)
    with pytest.raises(ColorStrengthError, match="outside 0..1"):
        load(p2, color_strength=1.5)


# ---- the command line ---------------------------------------------------------------------

def test_cli_color_strength_is_written_into_a_file(pair, tmp_path, capsys, monkeypatch):
    """`weights blend` makes a color strength a property of a file; colorize takes files, not the knob."""
    from colorizer.cli import main

    p1, p2 = pair
    src = tmp_path / "in.png"
    photo().save(src)
    blended = tmp_path / "blended.pt"
    assert main(["weights", "blend", str(p2), "--strength", "0.3", "--out", str(blended)]) == 0
    assert read_meta(blended)["color_strength"] == 0.3 and read_meta(blended)["base_weights"] == p1.name
    assert main(["colorize", str(src), "-o", str(tmp_path / "a.png"), "--weights", str(blended)]) == 0
    assert "color strength 0.3 with" in capsys.readouterr().out
    same = load(p2, color_strength=0.3)  # the file colorizes as the knob did (stored in float16 as p2 is)
    got, want = (np.asarray(m.colorize(photo()), dtype=int) for m in (load(blended), same))
    assert np.abs(got - want).max() <= 2
    assert main(["weights", "blend", str(blended), "--strength", "0.5", "--out", str(tmp_path / "c.pt")]) == 2
    assert "already blended" in capsys.readouterr().err
    assert main(["weights", "blend", str(p1), "--strength", "0.3", "--out", str(tmp_path / "b.pt")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and "stage-1 weights" in err
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / p2.name).write_bytes(p2.read_bytes())
    monkeypatch.setenv(infer.WEIGHTS_DIR_ENV, str(tmp_path / "empty"))
    assert main(["weights", "blend", str(alone / p2.name), "--strength", "0", "--out", str(tmp_path / "d.pt")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "stage1.pt" in err and not (tmp_path / "d.pt").exists()
    assert main(["weights", "blend", str(alone / p2.name), "--strength", "0", "--base", str(p1),
                 "--out", str(tmp_path / "d.pt")]) == 0
    for argv in (["weights", "blend", str(p2), "--strength", "2", "--out", str(tmp_path / "e.pt")],
                 ["colorize", str(src), "--color-strength", "0.3"]):  # no longer a colorize flag
        with pytest.raises(SystemExit) as bad:
            main(argv)
        assert bad.value.code == 2


# ---- a classes head -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def classes_weights(tmp_path_factory) -> Path:
    centers = color_classes.bin_centers(10.0)
    g = tiny_generator(0, len(centers))
    with torch.no_grad():  # a random init gives near-uniform logits: make them peaked, as trained ones are
        last = [m for m in g.modules() if isinstance(m, torch.nn.Conv2d)][-1]
        last.weight.mul_(20)
    meta = make_meta(stage="pretrain", backbone="resnet18", size=64, images_seen=10, head="classes", bin=10.0,
                     temperature=0.38)
    return save_weights(tmp_path_factory.mktemp("classes") / "classes.pt", g.state_dict(), meta)


def test_classes_head_colorizes_at_any_size(classes_weights):
    from PIL import Image

    model = load(classes_weights)
    assert model.head == "classes" and model.temperature == 0.38
    assert len(model.centers) == len(color_classes.bin_centers())
    with Image.open(BW_PHOTO) as im:
        out = model.colorize(im)
        assert out.size == im.size and out.mode == "RGB"


def test_lower_temperature_is_more_colorful(classes_weights):
    img = photo()
    vivid = colorfulness(np.asarray(load(classes_weights, temperature=0.2).colorize(img)))
    mean = colorfulness(np.asarray(load(classes_weights, temperature=1.0).colorize(img)))
    assert vivid > mean + 1, (vivid, mean)


def test_temperature_is_for_classes_heads_only(pair, tmp_path, capsys):
    from colorizer.cli import main

    p1, _ = pair
    assert load(p1, temperature=0.2).temperature is None
    assert main(["weights", "set", str(p1), "--temperature", "0.2", "--out", str(tmp_path / "t.pt")]) == 2
    assert "a temperature is for weights with a classes head" in capsys.readouterr().err
    assert not (tmp_path / "t.pt").exists()


def test_cli_temperature_for_classes_is_written_into_the_file(classes_weights, tmp_path, capsys):
    from colorizer.cli import main

    src = tmp_path / "in.png"
    photo().save(src)
    warm = tmp_path / "t05.pt"
    assert main(["weights", "set", str(classes_weights), "--temperature", "0.5", "--out", str(warm)]) == 0
    assert read_meta(warm)["temperature"] == 0.5 and read_meta(classes_weights)["temperature"] == 0.38
    assert main(["colorize", str(src), "-o", str(tmp_path / "a.png"), "--weights", str(warm)]) == 0
    assert "classes head, temperature 0.5" in capsys.readouterr().out


def test_classes_weights_are_labeled():
    meta = {"stage": "pretrain", "backbone": "resnet18", "size": 128, "head": "classes"}
    assert logic.describe_weights("c.pt", meta).startswith("stage 1 · classes — resnet18")
    assert logic.describe_weights("g.pt", dict(meta, stage="gan")).startswith("stage 2 · GAN · classes — ")
    assert logic.describe_weights("a.pt", dict(meta, head="ab")).startswith("stage 1 · L1 only — ")
