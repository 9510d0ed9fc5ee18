"""Tests for colorizer.evaluate: metrics, the Frechet distance, FID fallbacks and the full run."""
from __future__ import annotations

import csv
import json
import math
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.models
from PIL import Image

from colorizer.checkpoint import make_meta, save_weights
from colorizer.evaluate import colorfulness, fid, frechet_distance, run_evaluation, score
from colorizer.infer import gray_baseline
from colorizer.models import build_generator

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "color"
PHOTOS = ["n01843383_toucan.jpg", "n02276258_admiral.jpg", "n07749582_lemon.jpg"]


def small_copy(name: str, short: int = 96) -> Image.Image:
    img = Image.open(EXAMPLES / name).convert("RGB")
    scale = short / min(img.size)
    return img.resize((round(img.width * scale), round(img.height * scale)), Image.LANCZOS)


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "w.pt"
    g = build_generator("resnet18", "none", 64)
    save_weights(path, g.state_dict(), make_meta(stage="pretrain", backbone="resnet18", size=64, images_seen=10))
    return path


@pytest.fixture()
def photo_dir(tmp_path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in PHOTOS:
        small_copy(name).save(folder / name, quality=95)
    (folder / "bad.jpg").write_bytes(b"not an image")
    small_copy(PHOTOS[0]).convert("L").save(folder / "zz_gray.png")
    return folder


def offline_inception(*args, **kwargs):
    raise urllib.error.URLError("no network in tests")


class StubInception(torch.nn.Module):
    """Stands in for Inception v3: a few conv features, with an `fc` head evaluate replaces."""

    def __init__(self, *args, **kwargs):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 6, 5, stride=4)
        self.fc = torch.nn.Linear(6, 1000)

    def forward(self, x):
        return self.fc(self.conv(x).mean(dim=(2, 3)))


# ---- metrics ------------------------------------------------------------------------------

def test_colorfulness_zero_for_gray_and_known_value_for_red():
    rng = np.random.default_rng(0)
    gray = np.repeat(rng.integers(0, 256, (32, 48, 1), dtype=np.uint8), 3, axis=2)
    assert colorfulness(gray) == 0.0
    red = np.zeros((16, 16, 3), np.uint8)
    red[..., 0] = 255
    # rg = 255, yb = 127.5 everywhere: no spread, mean term 0.3 * |(255, 127.5)|
    assert colorfulness(red) == pytest.approx(0.3 * math.hypot(255, 127.5))
    noisy = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)
    assert colorfulness(noisy) > 50
    truth = small_copy(PHOTOS[0])
    assert colorfulness(truth) > 10 * colorfulness(gray_baseline(truth))


def test_score_identical_is_perfect():
    truth = small_copy(PHOTOS[1])
    s = score(truth, truth.copy())
    assert s["psnr"] == math.inf or s["psnr"] > 100
    assert s["ssim"] == pytest.approx(1.0)


def test_score_gray_baseline_is_finite_and_imperfect():
    truth = small_copy(PHOTOS[1])
    s = score(gray_baseline(truth), truth)
    assert math.isfinite(s["psnr"]) and 10 < s["psnr"] < 50
    assert 0.3 < s["ssim"] < 0.999
    worse = score(Image.new("RGB", truth.size, (255, 0, 255)), truth)
    assert worse["psnr"] < s["psnr"] and worse["ssim"] < s["ssim"]


def test_score_rejects_size_mismatch():
    truth = small_copy(PHOTOS[1])
    with pytest.raises(ValueError):
        score(truth.resize((20, 20)), truth)


# ---- FID ----------------------------------------------------------------------------------

def test_frechet_distance_of_shifted_features():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 4))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(a, a + np.array([3.0, 0, 0, 0])) == pytest.approx(9.0, rel=1e-6)
    # 1-d: (mu1 - mu2)^2 + (sigma1 - sigma2)^2
    b = rng.normal(size=(20000, 1))
    assert frechet_distance(b, 2 * b + 1) == pytest.approx(1 + 1, rel=0.05)
    with pytest.raises(ValueError):
        frechet_distance(a[:1], a)


def test_fid_offline_is_none(monkeypatch, capsys):
    monkeypatch.setattr(torchvision.models, "inception_v3", offline_inception)
    images = [small_copy(n) for n in PHOTOS]
    assert fid(images, images) is None
    assert "FID skipped: Inception weights could not be had" in capsys.readouterr().out


def test_fid_with_stub_network(monkeypatch):
    monkeypatch.setattr(torchvision.models, "inception_v3", StubInception)
    images = [small_copy(n) for n in PHOTOS]
    assert fid(images, images) == pytest.approx(0.0, abs=1e-6)
    assert fid(images, [gray_baseline(im) for im in images]) > 0.0


# ---- the whole run ------------------------------------------------------------------------

def test_run_evaluation_writes_outputs(photo_dir, weights, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(torchvision.models, "inception_v3", offline_inception)
    out = tmp_path / "eval"
    summary = run_evaluation(data=photo_dir, weights=weights, out_dir=out, render_size=64,
                             device="cpu", precision="fp32")
    printed = capsys.readouterr().out
    assert "bad.jpg" in printed and "zz_gray.png" in printed and "FID skipped" in printed
    assert "gray baseline" in printed

    with open(out / "per_image.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["file"] for r in rows] == PHOTOS
    for r in rows:
        truth = small_copy(r["file"])
        assert (int(r["width"]), int(r["height"])) == truth.size
        assert 0 < float(r["psnr"]) < 60 and -1 <= float(r["ssim"]) < 1
        assert 10 < float(r["psnr_gray"]) < 60 and 0.3 < float(r["ssim_gray"]) < 1
        assert float(r["colorfulness_gray"]) < 1.0 < float(r["colorfulness_true"])
        assert float(r["colorfulness_pred"]) > 0

    assert summary == json.loads((out / "summary.json").read_text())
    assert summary["images"] == 3 and len(summary["skipped"]) == 2
    assert summary["weights"] == str(weights) and summary["stage"] == "pretrain"
    assert summary["model"]["fid"] is None and summary["gray_baseline"]["fid"] is None
    mean = lambda key: np.mean([float(r[key]) for r in rows])  # noqa: E731
    assert summary["model"]["psnr"] == pytest.approx(mean("psnr"), abs=1e-3)
    assert summary["gray_baseline"]["ssim"] == pytest.approx(mean("ssim_gray"), abs=1e-3)
    assert summary["ground_truth"]["colorfulness"] == pytest.approx(mean("colorfulness_true"), abs=1e-3)
    assert summary["colorfulness_ratio"] == pytest.approx(
        mean("colorfulness_pred") / mean("colorfulness_true"), rel=1e-3)

    with Image.open(out / "grid.png") as grid:
        grid.load()
        assert grid.mode == "RGB" and grid.height > 3 * 192 and grid.width > 3 * 192


def test_run_evaluation_fid_with_stub_and_limit(photo_dir, weights, tmp_path, monkeypatch):
    monkeypatch.setattr(torchvision.models, "inception_v3", StubInception)
    summary = run_evaluation(data=photo_dir, weights=weights, out_dir=tmp_path / "eval", render_size=64,
                             device="cpu", precision="fp32", limit=3)  # bad.jpg sorts first: 2 photos left
    assert summary["images"] == 2 and summary["skipped"] == [str(photo_dir / "bad.jpg")]
    for key in ("model", "gray_baseline"):
        assert math.isfinite(summary[key]["fid"]) and summary[key]["fid"] >= 0


def test_run_evaluation_without_fid_never_loads_inception(photo_dir, weights, tmp_path, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("Inception must not be loaded with fid=False")

    monkeypatch.setattr(torchvision.models, "inception_v3", forbidden)
    summary = run_evaluation(data=photo_dir, weights=weights, out_dir=tmp_path / "eval", render_size=64,
                             device="cpu", precision="fp32", limit=2, fid=False)
    assert summary["images"] == 1 and summary["model"]["fid"] is None


def test_run_evaluation_bad_folders(tmp_path, weights):
    with pytest.raises(FileNotFoundError):
        run_evaluation(data=tmp_path / "missing", weights=weights, out_dir=tmp_path / "eval")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError):
        run_evaluation(data=tmp_path / "empty", weights=weights, out_dir=tmp_path / "eval")
    only_bad = tmp_path / "only_bad"
    only_bad.mkdir()
    (only_bad / "bad.jpg").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="no usable color photos"):
        run_evaluation(data=only_bad, weights=weights, out_dir=tmp_path / "eval", render_size=64,
                       device="cpu", fid=False)
