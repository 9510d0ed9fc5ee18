"""Tests for colorizer.metrics, colorizer.sheets and colorizer.evaluate: metrics on arrays and
tensors, the Frechet distance, FID fallbacks, and whole runs with one and two weights files."""
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

from colorizer import metrics
from colorizer.checkpoint import make_meta, save_weights
from colorizer.cli import main as cli_main
from colorizer.evaluate import frechet_distance, inception_features, load_inception, run_evaluation, score
from colorizer.infer import gray_baseline
from colorizer.models import build_generator
from colorizer.sheets import make_grid, thumb

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "color"
PHOTOS = ["n01843383_toucan.jpg", "n02276258_admiral.jpg", "n07749582_lemon.jpg"]


def small_copy(name: str, short: int = 96) -> Image.Image:
    img = Image.open(EXAMPLES / name).convert("RGB")
    scale = short / min(img.size)
    return img.resize((round(img.width * scale), round(img.height * scale)), Image.LANCZOS)


def square(name: str, side: int = 64) -> Image.Image:
    img = small_copy(name, side)
    return img.crop((0, 0, side, side))


def make_weights(path: Path, seed: int, stage: str = "pretrain") -> Path:
    torch.manual_seed(seed)
    g = build_generator("resnet18", "none", 64)
    return save_weights(path, g.state_dict(), make_meta(stage=stage, backbone="resnet18", size=64, images_seen=10))


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    return make_weights(tmp_path_factory.mktemp("weights") / "w.pt", 0)


@pytest.fixture(scope="module")
def second_weights(tmp_path_factory) -> Path:
    return make_weights(tmp_path_factory.mktemp("weights2") / "other.pt", 1, stage="gan")


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
    assert metrics.colorfulness(gray) == 0.0
    red = np.zeros((16, 16, 3), np.uint8)
    red[..., 0] = 255
    # rg = 255, yb = 127.5 everywhere: no spread, mean term 0.3 * |(255, 127.5)|
    assert metrics.colorfulness(red) == pytest.approx(0.3 * math.hypot(255, 127.5))
    noisy = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)
    assert metrics.colorfulness(noisy) > 50
    truth = small_copy(PHOTOS[0])
    assert metrics.colorfulness(truth) > 10 * metrics.colorfulness(gray_baseline(truth))


def test_psnr_known_value():
    a = np.full((8, 8, 3), 100, np.uint8)
    b = a.copy()
    b[0, 0, 0] += 51  # mse = 51^2 / 192
    assert metrics.psnr(b, a) == pytest.approx(10 * math.log10(255**2 * 192 / 51**2))
    assert metrics.psnr(a, a.copy()) == math.inf


def test_score_identical_is_perfect():
    truth = small_copy(PHOTOS[1])
    s = score(truth, truth.copy())
    assert s["psnr"] == math.inf
    assert s["ssim"] == pytest.approx(1.0)
    assert s["false_color"] == 0.0 and s["colorfulness"] == pytest.approx(metrics.colorfulness(truth))


def test_score_gray_baseline_is_finite_and_imperfect():
    truth = small_copy(PHOTOS[1])
    s = score(gray_baseline(truth), truth)
    assert math.isfinite(s["psnr"]) and 10 < s["psnr"] < 50
    assert 0.3 < s["ssim"] < 0.999
    assert s["false_color"] == 0.0  # gray is never saturated
    worse = score(Image.new("RGB", truth.size, (255, 0, 255)), truth)
    assert worse["psnr"] < s["psnr"] and worse["ssim"] < s["ssim"]
    assert worse["false_color"] > 0.9


def test_score_rejects_size_mismatch():
    truth = small_copy(PHOTOS[1])
    with pytest.raises(ValueError):
        score(truth.resize((20, 20)), truth)
    with pytest.raises(ValueError):
        metrics.psnr(torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 9))


def test_false_color_rate_on_ab_thresholds():
    ab_true = np.zeros((4, 4, 2))
    pred = np.zeros((4, 4, 2))
    pred[0, :] = (30.0, 0.0)    # saturated, 30 away: counted (4 of 16 pixels)
    pred[1, :] = (20.0, 0.0)    # saturated but only 20 away: not counted
    pred[2, :2] = (15.0, 0.0)   # both thresholds met exactly (truth below is at -10): counted
    ab_true[2, :2] = (-10.0, 0.0)
    pred[3, :] = (0.0, 10.0)    # desaturated, 30 from a saturated truth: not counted
    ab_true[3, :] = (0.0, -20.0)
    assert metrics.false_color_rate(pred, ab_true) == pytest.approx(6 / 16)
    assert metrics.false_color_rate(ab_true, ab_true) == 0.0


def test_neutral_kept_and_right_hue_show_a_cast():
    """A sepia cast over a gray wall and a blue coat keeps no neutral and gets no hue right; the truth
    itself keeps all of both; a gray prediction keeps the neutral and gets no hue."""
    truth = np.zeros((4, 4, 2))
    truth[:2] = (-5.0, -40.0)       # a blue coat (chroma 40); the lower half a gray wall
    sepia = np.zeros((4, 4, 2))
    sepia[:] = (8.0, 20.0)          # one warm cast everywhere (chroma 21.5)
    assert metrics.neutral_kept(sepia, truth) == 0.0 and metrics.right_hue(sepia, truth) == 0.0
    assert metrics.neutral_kept(truth, truth) == 1.0 and metrics.right_hue(truth, truth) == 1.0
    gray = np.zeros((4, 4, 2))
    assert metrics.neutral_kept(gray, truth) == 1.0 and metrics.right_hue(gray, truth) == 0.0
    half = truth.copy()
    half[0] = (10.0, -40.0)         # 14 degrees off: the right hue; a quarter of the wall tinted
    half[2] = (8.0, 20.0)
    assert metrics.right_hue(half, truth) == 1.0 and metrics.neutral_kept(half, truth) == 0.5
    assert np.isnan(metrics.neutral_kept(truth[:2], truth[:2]))  # no gray pixels: left out of means


def test_false_color_rate_on_photos_with_known_answers():
    truth = np.full((40, 40, 3), 128, np.uint8)      # gray scene
    truth[:20, :20] = (40, 90, 200)                  # with a blue quarter
    wrong = truth.copy()
    wrong[20:, 20:] = (230, 20, 20)                  # red where the truth is gray: 25% wrong
    assert metrics.false_color_rate(metrics.lab_ab(wrong), metrics.lab_ab(truth)) == pytest.approx(0.25)
    right = truth.copy()                             # the same blue quarter: nothing wrong
    assert metrics.false_color_rate(metrics.lab_ab(right), metrics.lab_ab(truth)) == 0.0
    washed = truth.copy()
    washed[:20, :20] = (110, 115, 120)               # the blue quarter gone gray: wrong, not saturated
    assert metrics.false_color_rate(metrics.lab_ab(washed), metrics.lab_ab(truth)) == 0.0
    assert score(Image.fromarray(wrong), Image.fromarray(truth))["false_color"] == pytest.approx(0.25)


def test_numpy_and_tensor_inputs_agree():
    truths = [np.asarray(square(n)) for n in PHOTOS[:2]]
    preds = [np.asarray(gray_baseline(square(n)).convert("RGB")) for n in PHOTOS[:2]]
    preds[1] = np.asarray(square(PHOTOS[2]))  # a wrongly colored one too
    as_tensor = lambda arrs, dtype: torch.from_numpy(np.stack(arrs)).permute(0, 3, 1, 2).to(dtype) / 255  # noqa: E731
    for dtype, tol in ((torch.float64, 1e-9), (torch.float32, 1e-4)):
        p, t = as_tensor(preds, dtype), as_tensor(truths, dtype)
        batched = {"psnr": metrics.psnr(p, t), "ssim": metrics.ssim(p, t), "colorfulness": metrics.colorfulness(p),
                   "false_color": metrics.false_color_rate(metrics.lab_ab(p), metrics.lab_ab(t))}
        for key, values in batched.items():
            assert isinstance(values, torch.Tensor) and values.shape == (2,)
            for i in range(2):
                one = score(Image.fromarray(preds[i]), Image.fromarray(truths[i]))[key]
                assert float(values[i]) == pytest.approx(one, rel=tol, abs=tol), (key, dtype, i)
    as_uint8 = torch.from_numpy(np.stack(truths)).permute(0, 3, 1, 2)  # uint8 batches are 0-255, like numpy
    assert metrics.colorfulness(as_uint8).tolist() == pytest.approx([metrics.colorfulness(t) for t in truths])
    ab = metrics.lab_ab(as_tensor(truths, torch.float32))
    assert ab.shape == (2, 2, 64, 64) and metrics.lab_ab(truths[0]).shape == (64, 64, 2)
    assert metrics.false_color_rate(ab, ab).tolist() == [0.0, 0.0]


# ---- the grid -----------------------------------------------------------------------------

def test_make_grid_columns_and_labels():
    rows = [[Image.new("RGB", (30, 20), c) for c in ("red", "green", "blue")] for _ in range(2)]
    sheet = make_grid(rows, ["a", "b", "a label wider than its images"], pad=4, header=10)
    wide = sheet.width - (30 + 30 + 3 * 4 + 4)
    assert wide > 30 and sheet.height == 10 + 2 * (20 + 4)
    assert sheet.getpixel((4 + 15, 10 + 10)) == (255, 0, 0)
    assert sheet.getpixel((4 + 30 + 4 + 15, 10 + 24 + 10)) == (0, 128, 0)
    with pytest.raises(ValueError):
        make_grid(rows, ["a", "b"])
    assert thumb(Image.new("L", (300, 100))).size == (576, 192)


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


def test_inception_offline_is_none(monkeypatch, capsys):
    monkeypatch.setattr(torchvision.models, "inception_v3", offline_inception)
    assert load_inception() is None
    assert "FID skipped: Inception weights could not be had" in capsys.readouterr().out


def test_inception_features_with_stub_network(monkeypatch):
    monkeypatch.setattr(torchvision.models, "inception_v3", StubInception)
    model = load_inception()
    images = [small_copy(n) for n in PHOTOS]
    real = inception_features(model, images)
    assert real.shape == (3, 6)
    assert frechet_distance(real, inception_features(model, images)) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(real, inception_features(model, [gray_baseline(im) for im in images])) > 0.0


# ---- whole runs ---------------------------------------------------------------------------

def test_run_evaluation_writes_outputs(photo_dir, weights, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(torchvision.models, "inception_v3", offline_inception)
    out = tmp_path / "eval"
    summary = run_evaluation(data=photo_dir, weights=weights, out_dir=out, render_size=64,
                             device="cpu", precision="fp32")
    printed = capsys.readouterr().out
    assert "bad.jpg" in printed and "zz_gray.png" in printed and "FID skipped" in printed
    assert "gray baseline" in printed and "false color" in printed and "w.pt" in printed

    with open(out / "per_image.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["file"] for r in rows] == PHOTOS and {r["weights"] for r in rows} == {str(weights)}
    for r in rows:
        truth = small_copy(r["file"])
        assert (int(r["width"]), int(r["height"])) == truth.size
        assert 0 < float(r["psnr"]) < 60 and -1 <= float(r["ssim"]) < 1
        assert 10 < float(r["psnr_gray"]) < 60 and 0.3 < float(r["ssim_gray"]) < 1
        assert float(r["colorfulness_gray"]) < 1.0 < float(r["colorfulness_true"])
        assert float(r["colorfulness_pred"]) > 0
        assert 0 <= float(r["false_color"]) <= 1 and float(r["false_color_gray"]) == 0

    assert summary == json.loads((out / "summary.json").read_text())
    assert summary["images"] == 3 and len(summary["skipped"]) == 2
    assert summary["weights"] == str(weights) and summary["stage"] == "pretrain"
    assert summary["model"]["fid"] is None and summary["gray_baseline"]["fid"] is None
    assert [m["weights"] for m in summary["models"]] == [str(weights)]
    mean = lambda key: np.mean([float(r[key]) for r in rows])  # noqa: E731
    assert summary["model"]["psnr"] == pytest.approx(mean("psnr"), abs=1e-3)
    assert summary["model"]["psnr_vs_gray"] == pytest.approx(mean("psnr") - mean("psnr_gray"), abs=1e-3)
    assert summary["model"]["false_color"] == pytest.approx(mean("false_color"), abs=1e-3)
    assert summary["gray_baseline"]["ssim"] == pytest.approx(mean("ssim_gray"), abs=1e-3)
    assert summary["gray_baseline"]["false_color"] == 0
    assert summary["ground_truth"]["colorfulness"] == pytest.approx(mean("colorfulness_true"), abs=1e-3)
    assert summary["colorfulness_ratio"] == pytest.approx(
        mean("colorfulness_pred") / mean("colorfulness_true"), rel=1e-3)

    with Image.open(out / "grid.png") as grid:
        grid.load()
        assert grid.mode == "RGB" and grid.height > 3 * 192 and grid.width > 3 * 192


def test_two_weights_one_grid_one_table(tmp_path, weights, second_weights, capsys):
    data = tmp_path / "squares"
    data.mkdir()
    for name in PHOTOS[:2]:
        square(name).save(data / (Path(name).stem + ".png"))
    out = tmp_path / "eval"
    rc = cli_main(["evaluate", "--data", str(data), "--weights", str(weights), str(second_weights),
                   "--out", str(out), "--render-size", "64", "--device", "cpu", "--precision", "fp32", "--no-fid"])
    assert rc == 0
    printed = capsys.readouterr().out
    table = printed[printed.index("gray baseline"):]
    assert table.index("gray baseline") < table.index("w.pt") < table.index("other.pt") < table.index("ground truth")

    summary = json.loads((out / "summary.json").read_text())
    assert summary["images"] == 2 and "model" not in summary
    assert [(m["name"], m["stage"]) for m in summary["models"]] == [("w.pt", "pretrain"), ("other.pt", "gan")]
    a, b = summary["models"]
    assert a["psnr"] != b["psnr"]  # two different models, scored on the same photos
    for m in summary["models"]:
        assert m["psnr_vs_gray"] == pytest.approx(m["psnr"] - summary["gray_baseline"]["psnr"])
        assert 0 <= m["false_color"] <= 1 and m["colorfulness_ratio"] > 0

    with open(out / "per_image.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(Path(r["file"]).stem, Path(r["weights"]).name) for r in rows] == [
        (Path(p).stem, w) for p in PHOTOS[:2] for w in ("w.pt", "other.pt")]

    with Image.open(out / "grid.png") as grid:  # truth | gray | w.pt | other.pt, 192 px squares
        grid = grid.convert("RGB")
        assert grid.size == (4 * 192 + 5 * 6, 18 + 2 * (192 + 6))
        col = lambda i: np.asarray(grid.crop((6 + i * 198, 18, 6 + i * 198 + 192, 18 + 192)))  # noqa: E731
        assert metrics.colorfulness(col(0)) > 10 and metrics.colorfulness(col(1)) < 1
        assert np.abs(col(0).astype(int) - np.asarray(thumb(square(PHOTOS[0])))).max() <= 1


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


def test_several_color_strengths_in_one_run(tmp_path, capsys, monkeypatch):
    from colorizer.infer import WEIGHTS_DIR_ENV, WEIGHTS_ENV
    from helpers import tiny_pair

    stage1, stage2 = tiny_pair(tmp_path / "pair", decoy=False)
    data = tmp_path / "squares"
    data.mkdir()
    for name in PHOTOS[:2]:
        square(name).save(data / (Path(name).stem + ".png"))
    common = ["--data", str(data), "--render-size", "64", "--device", "cpu", "--precision", "fp32", "--no-fid"]
    monkeypatch.setenv(WEIGHTS_DIR_ENV, str(stage2.parent))  # evaluate honours it, as colorize does
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    assert cli_main(["evaluate", *common, "--color-strength", "0", "0.5", "1", "--out", str(tmp_path / "a")]) == 0
    assert "stage2.pt s=0.5" in capsys.readouterr().out
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert [(m["name"], m["color_strength"]) for m in summary["models"]] == [
        ("stage2.pt s=0", 0.0), ("stage2.pt s=0.5", 0.5), ("stage2.pt s=1", 1.0)]
    assert summary["models"][0]["base_weights"] == str(stage1)
    with open(tmp_path / "a" / "per_image.csv", newline="") as fh:
        assert [float(r["color_strength"]) for r in csv.DictReader(fh)] == [0, 0.5, 1] * 2

    assert cli_main(["evaluate", *common, "--weights", str(stage1), "--out", str(tmp_path / "b")]) == 0
    alone = json.loads((tmp_path / "b" / "summary.json").read_text())["models"][0]
    for key in ("psnr", "ssim", "colorfulness", "false_color"):  # strength 0 is stage 1
        assert summary["models"][0][key] == alone[key]


def test_several_saturations_in_one_run_match_colorize_and_run_the_network_once(photo_dir, weights, tmp_path,
                                                                                capsys, monkeypatch):
    from colorizer.infer import Colorizer

    calls = []
    predict = Colorizer.predict_ab
    monkeypatch.setattr(Colorizer, "predict_ab", lambda self, L: calls.append(1) or predict(self, L))
    common = ["--data", str(photo_dir), "--weights", str(weights), "--render-size", "64", "--device", "cpu",
              "--precision", "fp32", "--no-fid"]
    assert cli_main(["evaluate", *common, "--saturation", "1", "2", "--out", str(tmp_path / "a")]) == 0
    assert "x2" in capsys.readouterr().out
    n = len(PHOTOS)  # the unreadable and the gray file are skipped
    assert len(calls) == n  # one network call per photo for both rows
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    one, two = summary["models"]
    assert (one["name"], one["saturation"], two["name"], two["saturation"]) == (
        f"{weights.name} x1", 1.0, f"{weights.name} x2", 2.0)
    assert two["colorfulness"] > 1.5 * one["colorfulness"] and one["psnr"] != two["psnr"]
    with open(tmp_path / "a" / "per_image.csv", newline="") as fh:
        assert [float(r["saturation"]) for r in csv.DictReader(fh)] == [1, 2] * n

    assert cli_main(["evaluate", *common, "--out", str(tmp_path / "b")]) == 0  # x1 is what evaluate always gave
    alone = json.loads((tmp_path / "b" / "summary.json").read_text())["models"][0]
    assert alone["name"] == weights.name and alone["saturation"] == 1.0
    for key in ("psnr", "ssim", "colorfulness", "false_color"):
        assert one[key] == alone[key]
    model = Colorizer.load(weights, device="cpu", precision="fp32", render_size=64)
    photo = photo_dir / PHOTOS[0]
    with Image.open(photo) as im:  # x2 is what colorize --saturation 2 gives
        truth = im.convert("RGB")
    expected = score(model.colorize(truth, saturation=2.0), truth)["psnr"]
    with open(tmp_path / "a" / "per_image.csv", newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["file"] == photo.name and float(r["saturation"]) == 2)
    assert float(row["psnr"]) == pytest.approx(expected, abs=1e-3)
    assert cli_main(["evaluate", *common, "--saturation", "0", "--out", str(tmp_path / "c")]) == 2
    assert "saturation" in capsys.readouterr().err
