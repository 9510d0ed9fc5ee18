"""Color hints: the simulated user's hints, a colorizer widened to take them (unchanged with none),
a few training steps of the hints task, and the weights loading back as a colorizer."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from colorizer import hints
from colorizer.checkpoint import HINTS, find_weights, make_meta, read_meta, save_weights
from colorizer.infer import Colorizer
from colorizer.models import build_generator
from colorizer.training import TrainConfig, Trainer, train
from colorizer.training.runs import load_start
from colorizer.hints.task import Hints


def test_sampled_hints_hold_the_truths_mean_color():
    g = torch.Generator().manual_seed(0)
    ab = torch.zeros(2, 40, 60)
    ab[0, :, 30:] = 0.5   # right half: a = 0.5
    ab[1, 20:] = -0.25    # bottom half: b = -0.25
    found = hints.sample_hints(ab, 30, g)
    assert len(found) == 30
    for h in found:
        assert 1 <= h.size <= hints.MAX_PATCH and 0 <= h.y <= 40 - h.size and 0 <= h.x <= 60 - h.size
        patch = ab[:, h.y:h.y + h.size, h.x:h.x + h.size].mean((1, 2))
        assert (h.a, h.b) == pytest.approx(patch.tolist(), abs=1e-6)
    m = hints.hint_map([found, []], 40, 60)
    assert m.shape == (2, 3, 40, 60) and m[1].abs().sum() == 0  # the second photo: no hints, all zero
    mask = m[0, 2] > 0
    assert 0 < mask.sum() <= 30 * hints.MAX_PATCH ** 2
    assert set(m[0, 2].unique().tolist()) == {0.0, 1.0}
    # where color varies: with every hint placed by the color's changes, most touch the two edges
    edge = hints.sample_hints(ab, 40, torch.Generator().manual_seed(1), where_varies=1.0)
    near = [h for h in edge if abs(h.x + h.size / 2 - 30) <= 6 or abs(h.y + h.size / 2 - 20) <= 6]
    assert len(near) >= 30, [(h.y, h.x, h.size) for h in edge]


def test_training_counts_none_often_else_geometric():
    g = torch.Generator().manual_seed(0)
    counts = np.array([hints.training_count(g) for _ in range(4000)])
    assert 0.2 < (counts == 0).mean() < 0.3  # P_NONE
    some = counts[counts > 0]
    assert 6.5 < some.mean() < 9.5 and some.max() <= hints.MAX_TRAINING_HINTS  # 1 + Geometric(1/8): mean 8


@pytest.mark.parametrize("backbone", ["resnet18", "efficientnet_lite0"])
def test_widened_colorizer_is_unchanged_without_hints(backbone):
    torch.manual_seed(0)
    plain = build_generator(backbone, "none", 64).eval()
    widened = build_generator(backbone, "none", 64, n_in=4).eval()
    notes = []
    load_start(widened, plain.state_dict(), notes.append)
    assert "new input channels, at zero" in notes[0]
    L = torch.rand(2, 1, 64, 96) * 2 - 1
    with torch.no_grad():
        expected = plain(L)
        none = widened(torch.cat([L, torch.zeros(2, 3, 64, 96)], 1))
        some = widened(torch.cat([L, hints.simulate(torch.rand(2, 2, 64, 96) - 0.5,
                                                    torch.Generator().manual_seed(0), count=5)], 1))
    torch.testing.assert_close(none, expected, rtol=0, atol=0)  # bit for bit: the new weights are zeros
    torch.testing.assert_close(some, expected, rtol=0, atol=0)  # and they stay unused until trained


def _start(tmp_path):
    g = build_generator("resnet18", "none", 64)
    path = tmp_path / "start.pt"
    save_weights(path, g.state_dict(), make_meta(stage="pretrain", backbone="resnet18", size=64, head="ab",
                                                 images_seen=100))
    return path


def _cfg(tmp_path, photo_dir, **kw):
    base = dict(stage="pretrain", task="hints", data=str(photo_dir), val_fraction=0.25, init=_start(tmp_path),
                out=tmp_path / "weights" / "hints.pt", run_dir=tmp_path / "runs" / "hints", size=64, epochs=1,
                batch_size=4, lr=1e-3, workers=0, backbone_weights="none", samples=2)
    base.update(kw)
    return TrainConfig(**base)


def test_hints_task_learns_from_its_hints(tmp_path, photo_dir):
    t = Trainer(_cfg(tmp_path, photo_dir), progress=False, log=lambda s: None)
    assert isinstance(t.task, Hints)
    x, ab = t.task.split(next(iter(t.data.train)), t.device, train=True)
    assert x.shape[1] == 4 and ab.shape[1] == 2
    mask = x[:, 3] / hints.GAIN  # the map enters the network times GAIN
    assert set(mask.float().unique().tolist()) <= {0.0, 1.0}
    hinted = mask > 0
    if hinted.any():  # the hinted colors are the truth's (patch means: close to it there)
        assert (x[:, 1:3].float() / hints.GAIN - ab.float()).abs().permute(1, 0, 2, 3)[:, hinted].mean() < 0.1
    # validation draws the same hints for the same batch (a seed from the batch itself)
    batch = next(iter(t.data.val))
    torch.testing.assert_close(t.task.split(batch, t.device)[0], t.task.split(batch, t.device)[0])
    losses = [t.stage.step(x, ab)["train_l1"] for _ in range(25)]
    assert losses[-1] < 0.5 * losses[0], losses


def test_hints_run_writes_weights_that_colorize_without_hints(tmp_path, photo_dir):
    cfg = _cfg(tmp_path, photo_dir, max_steps=2)
    train(cfg, progress=False, log=lambda s: None)
    meta = read_meta(cfg.out)
    assert meta["task"] == HINTS and meta["hints"] is True and meta["in_channels"] == 4
    assert meta["hint_gain"] == hints.GAIN
    assert meta["init"]["images_seen"] == 100
    assert (cfg.run_dir / "samples" / "epoch_001.png").is_file()
    # automatic colorizing never picks hints weights from a folder, but runs them when asked
    assert find_weights(cfg.out.parent, "colorize") == []
    model = Colorizer.load(cfg.out, render_size=64, backend="torch")
    assert model.takes_hints
    out = model.colorize(Image.new("L", (90, 70), 120))
    assert out.size == (90, 70) and out.mode == "RGB"
    L = np.zeros((1, 1, 64, 96), np.float32)
    zero = model.predict_ab(L)
    np.testing.assert_array_equal(zero, model.predict_ab(L, np.zeros((1, 3, 64, 96), np.float32)))
    onnx = Colorizer.load(cfg.out, render_size=64, backend="onnx")  # the hint map is a graph input too
    np.testing.assert_allclose(onnx.predict_ab(L), zero, atol=0.05)


def test_hints_on_plain_weights_is_an_error_naming_them(tmp_path):
    model = Colorizer.load(_start(tmp_path), render_size=64, backend="torch")
    assert not model.takes_hints
    with pytest.raises(Exception, match=r"start\.pt: these weights take no color hints.*--task hints"):
        model.predict_ab(np.zeros((1, 1, 64, 64), np.float32), np.zeros((1, 3, 64, 64), np.float32))


# ---- hints a person gives -------------------------------------------------------------------

def test_user_hints_parse_and_refuse_clearly():
    h = hints.parse_hint("120,80.5,#C0392B")
    assert (h.x, h.y, h.rgb, h.hex) == (120, 80.5, (192, 57, 43), "#c0392b")
    got = hints.parse_hints_json('[{"x": 1, "y": 2, "color": "00ff00"}]')
    assert got == [hints.UserHint(1.0, 2.0, (0, 255, 0))]
    bad = [("120,80", r"X,Y,#rrggbb"), ("a,80,#ffffff", "numbers"), ("1,2,#ff00", "not a color")]
    for text, msg in bad:
        with pytest.raises(hints.HintError, match=msg):
            hints.parse_hint(text)
    with pytest.raises(hints.HintError, match="not JSON"):
        hints.parse_hints_json("[{x: 1}]", "h.json")
    with pytest.raises(hints.HintError, match=r"h.json: hint 2 needs x, y and color"):
        hints.parse_hints_json('[{"x": 1, "y": 2, "color": "#000000"}, {"x": 1}]', "h.json")
    with pytest.raises(hints.HintError, match=r"hint 1: 'red' is not a color"):
        hints.parse_hints_json('[{"x": 1, "y": 2, "color": "red"}]')
    with pytest.raises(hints.HintError, match=r"\(640, 10\) lies outside old.jpg \(640x480 px"):
        hints.check_hints([hints.UserHint(640, 10, (0, 0, 0))], 640, 480, "old.jpg")
    many = [hints.UserHint(1, 1, (0, 0, 0))] * (hints.MAX_USER_HINTS + 1)
    with pytest.raises(hints.HintError, match=f"{hints.MAX_USER_HINTS + 1} hints for the photo: at most"):
        hints.check_hints(many, 10, 10)


def test_user_hint_map_places_the_color_where_clicked():
    red = hints.UserHint(300, 50, (220, 30, 30))  # near the top right of a 400x200 photo
    m = hints.user_hint_map([red], (400, 200), (64, 128))
    assert m.shape == (1, 3, 64, 128)
    ys, xs = np.nonzero(m[0, 2])
    assert len(ys) == hints.USER_PATCH ** 2
    assert abs(xs.mean() - 300 * 128 / 400) <= 1 and abs(ys.mean() - 50 * 64 / 200) <= 1
    a, b = m[0, 0, ys[0], xs[0]], m[0, 1, ys[0], xs[0]]
    assert a > 0.5 and b > 0.3  # red: strongly positive a, positive b (CIELAB / 110)


def test_truth_hints_are_seeded_and_hold_the_photos_colors():
    photo = Image.new("RGB", (200, 100), (30, 90, 200))  # one blue
    one = hints.truth_hint_map(photo, (64, 128), 10, seed=3)
    assert np.array_equal(one, hints.truth_hint_map(photo, (64, 128), 10, seed=3))
    assert not np.array_equal(one[0, 2], hints.truth_hint_map(photo, (64, 128), 10, seed=4)[0, 2])
    mask = one[0, 2] > 0
    blue = hints.color_ab((30, 90, 200))
    assert np.allclose(one[0, 0][mask], blue[0], atol=0.01) and np.allclose(one[0, 1][mask], blue[1], atol=0.01)
    assert hints.truth_hint_map(photo, (64, 128), 0, seed=3).sum() == 0


def test_hints_curve_scores_each_count(tmp_path, photo_dir):
    from colorizer.hints.evaluate import hints_curve

    cfg = _cfg(tmp_path, photo_dir, max_steps=2)
    train(cfg, progress=False, log=lambda s: None)
    summary = hints_curve(photo_dir, [5, 0, 2], weights=cfg.out, out_dir=tmp_path / "curve", limit=4)
    assert [r["hints"] for r in summary["rows"]] == [0, 2, 5] and summary["images"] == 4
    assert all(np.isfinite(r["psnr"]) and 0 <= r["false_color"] <= 1 for r in summary["rows"])
    assert (tmp_path / "curve" / "curve.png").stat().st_size > 5000
    assert (tmp_path / "curve" / "curve.csv").read_text().startswith("hints,psnr,psnr_vs_gray")
    with pytest.raises(ValueError, match="take no color hints"):
        hints_curve(photo_dir, [0], weights=_start(tmp_path), out_dir=tmp_path / "c2")
