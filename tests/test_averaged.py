"""Averaged weights (`python -m colorizer average`): one small file naming several weights, which
colorizes with the mean of their colors times a scale, is ranked first, and says which member is
missing or why a file cannot be one."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from colorizer.averaged import average_weights
from colorizer.checkpoint import WeightsError, find_weights, make_meta, read_meta, save_weights
from colorizer.cli import main
from colorizer.infer import Colorizer, export_onnx
from colorizer.models import build_generator
from colorizer.training.runs import TrainingError, start_weights
from helpers import random_color_image

SCALE = 1.3


def member(folder: Path, name: str, backbone: str, seed: int, images_seen: int, n_out: int = 2) -> Path:
    torch.manual_seed(seed)
    g = build_generator(backbone, "none", 64, n_in=1, n_out=n_out)
    meta = make_meta(stage="pretrain", backbone=backbone, size=64, images_seen=images_seen,
                     head="ab" if n_out == 2 else "classes")
    return save_weights(folder / name, g.state_dict(), meta, half=True)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """Two members of different families, and their average made by the command line."""
    folder = tmp_path_factory.mktemp("weights")
    a = member(folder, "a.pt", "resnet18", 0, 100)
    b = member(folder, "b.pt", "efficientnet_lite0", 1, 50)
    assert main(["average", str(a), str(b), "--scale", str(SCALE), "--out", str(folder / "avg.pt")]) == 0
    return folder


def L_batch() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.uniform(-1, 1, (2, 1, 64, 96)).astype(np.float32)


def test_averaged_weights_colorize_with_their_members_mean_times_the_scale(folder):
    avg = folder / "avg.pt"
    assert avg.stat().st_size < 20_000  # names its members, holds none of their tensors
    meta = read_meta(avg)
    assert meta["images_seen"] == 150 and [m["file"] for m in meta["members"]] == ["a.pt", "b.pt"]
    assert find_weights(folder)[0] == avg  # it counts its members' photos together: the default there

    L = L_batch()
    a, b = (Colorizer.load(folder / n, device="cpu", precision="fp32").predict_ab(L) for n in ("a.pt", "b.pt"))
    assert np.abs(a - b).mean() > 1e-3  # the members differ, so the mean is not either of them
    model = Colorizer.load(avg, device="cpu", precision="fp32")
    assert model.meta["stage"] == "average" and model.render_size == 64
    np.testing.assert_allclose(model.predict_ab(L), np.clip((a + b) / 2 * SCALE, -1, 1), atol=1e-5)
    out = model.colorize(random_color_image(96, 64, seed=1))
    assert out.size == (96, 64) and out.mode == "RGB"

    export_onnx(avg, folder / "avg.onnx")  # one ONNX model holding every member
    onnx = Colorizer.load(folder / "avg.onnx")
    np.testing.assert_allclose(onnx.predict_ab(L), model.predict_ab(L), atol=1e-4)


def test_averaged_weights_find_members_in_the_weights_folder_and_name_the_missing_one(folder, tmp_path):
    alone = tmp_path / "elsewhere" / "avg.pt"
    alone.parent.mkdir()
    alone.write_bytes((folder / "avg.pt").read_bytes())
    assert Colorizer.load(alone, device="cpu", weights_dir=folder).meta["stage"] == "average"
    renamed = tmp_path / "renamed"
    renamed.mkdir()
    (renamed / "first.pt").write_bytes((folder / "a.pt").read_bytes())  # found by its metadata
    with pytest.raises(WeightsError) as err:
        Colorizer.load(alone, device="cpu", weights_dir=renamed)
    assert "member b.pt (efficientnet_lite0 of" in str(err.value) and "50 photos seen) is not in" in str(err.value)
    assert "a.pt" not in str(err.value).split("member")[1]


def test_average_refuses_one_file_classes_heads_and_averaged_files(folder, tmp_path, capsys):
    cls = member(tmp_path, "cls.pt", "resnet18", 2, 10, n_out=313)
    cases = {(str(folder / "a.pt"),): "at least two weights files",
             (str(folder / "a.pt"), str(cls)): "cls.pt: a classes head",
             (str(folder / "a.pt"), str(folder / "avg.pt")): "avg.pt: already averaged weights",
             (str(folder / "a.pt"), str(tmp_path / "nope.pt")): "nope.pt: no such weights file"}
    for members, message in cases.items():
        assert main(["average", *members, "--out", str(tmp_path / "x.pt")]) == 2
        assert message in capsys.readouterr().err
    assert main(["average", str(folder / "a.pt"), str(folder / "b.pt"), "--scale", "3",
                 "--out", str(tmp_path / "x.pt")]) == 2
    assert "scale 3 is outside" in capsys.readouterr().err
    assert not (tmp_path / "x.pt").exists()


def test_training_does_not_start_from_averaged_weights(folder):
    with pytest.raises(TrainingError, match=r"averaged weights have no network of their own.*a\.pt, b\.pt"):
        start_weights(SimpleNamespace(init=folder / "avg.pt", stage="pretrain", data="photos"))


def test_onnx_cache_follows_the_members_and_names_a_missing_one(folder, tmp_path):
    import os
    import shutil

    for name in ("a.pt", "b.pt", "avg.pt"):
        shutil.copy2(folder / name, tmp_path / name)
    exports = lambda: sorted((tmp_path / ".onnx").glob("avg.*.onnx"))  # noqa: E731
    L = L_batch()
    first = Colorizer.load(tmp_path / "avg.pt", backend="onnx").predict_ab(L)
    Colorizer.load(tmp_path / "avg.pt", backend="onnx")
    assert len(exports()) == 1  # the second load found the export
    st = (tmp_path / "b.pt").stat()
    os.utime(tmp_path / "b.pt", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a member changed on disk
    again = Colorizer.load(tmp_path / "avg.pt", backend="onnx").predict_ab(L)
    assert len(exports()) == 2
    np.testing.assert_allclose(again, first, atol=1e-5)
    (tmp_path / "b.pt").unlink()
    with pytest.raises(WeightsError, match=r"member b\.pt \(efficientnet_lite0"):
        Colorizer.load(tmp_path / "avg.pt", backend="onnx", weights_dir=tmp_path)


def test_routed_weights_take_one_mix_per_photo_on_every_backend(folder, tmp_path):
    """Routed weights (tools/people_router.py): two mixes of the members, and a probe on a member's body that
    picks the second mix for a photo where its logit is above 0, the first elsewhere; onnx as torch."""
    from colorizer.averaged import route_weights

    a, b = folder / "a.pt", folder / "b.pt"
    c = member(folder, "c.pt", "efficientnet_lite0", 2, 70)
    mixes = [{"weights": [1, 1, 0], "scale": 1.15}, {"weights": [1, 0, 1], "scale": 1.2}]
    channels = 2 * 320  # Lite0's body (b), mean- and max-pooled

    def routed(bias: float, name: str, weight=None) -> Path:
        probe = {"weight": torch.zeros(channels) if weight is None else weight, "bias": torch.tensor([bias]),
                 "mean": torch.zeros(channels), "std": torch.ones(channels)}
        return route_weights([a, b, c], mixes, probe, 1, folder / name)

    L = L_batch()
    ab = {n: Colorizer.load(folder / n, device="cpu", precision="fp32").predict_ab(L) for n in ("a.pt", "b.pt", "c.pt")}
    first = np.clip((ab["a.pt"] + ab["b.pt"]) / 2 * 1.15, -1, 1)
    second = np.clip((ab["a.pt"] + ab["c.pt"]) / 2 * 1.2, -1, 1)
    for bias, want in ((-5.0, first), (5.0, second)):
        path = routed(bias, f"r{bias:+g}.pt")
        assert path.stat().st_size < 40_000 and read_meta(path)["images_seen"] == 220
        got = Colorizer.load(path, device="cpu", precision="fp32").predict_ab(L)
        np.testing.assert_allclose(got, want, atol=1e-5)
    # a probe that tells the two photos of one batch apart routes each on its own, on onnxruntime too
    from colorizer.infer import _averaged
    from colorizer.averaged import find_members

    path = routed(0.0, "split.pt", weight=torch.ones(channels))
    meta = read_meta(path)
    net = _averaged(find_members(path, meta, [folder]), meta, path)
    with torch.no_grad():
        logits = net.router.logit(torch.from_numpy(L))
    path = routed(-float(logits.mean()), "split.pt", weight=torch.ones(channels))  # the two either side of 0
    picks = (logits > logits.mean()).numpy()
    assert picks.any() and not picks.all()
    want = np.where(picks[:, None, None, None], second, first)
    np.testing.assert_allclose(Colorizer.load(path, device="cpu", precision="fp32").predict_ab(L), want, atol=1e-5)
    onnx = Colorizer.load(path, device="cpu", backend="onnx").predict_ab(L)
    np.testing.assert_allclose(onnx, want, atol=2e-3)
    with pytest.raises(WeightsError, match="two mixes"):
        route_weights([a, b, c], mixes[:1], {}, 1, tmp_path / "bad.pt")
