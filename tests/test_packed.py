"""Packed weights (`python -m colorizer weights pack`): an averaged or routed file with its members'
networks inside (int8 convolution weights): one file that colorizes as the small file with its member
files does, with none of them around."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from colorizer.averaged import route_weights
from colorizer.card import read_card
from colorizer.checkpoint import make_meta, read_meta, save_weights
from colorizer.cli import main
from colorizer.infer import Colorizer
from colorizer.models import build_generator


def member(folder: Path, name: str, backbone: str, seed: int) -> Path:
    torch.manual_seed(seed)
    g = build_generator(backbone, "none", 64, n_in=1, n_out=2)
    return save_weights(folder / name, g.state_dict(), make_meta(stage="pretrain", backbone=backbone, size=64,
                                                                 images_seen=10 * (seed + 1), head="ab"))


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict:
    """Three members in one folder, their average and a routed file, each packed into another folder."""
    src, out = tmp_path_factory.mktemp("members"), tmp_path_factory.mktemp("packed")
    a, b, c = (member(src, f"{n}.pt", body, i) for i, (n, body) in
               enumerate((("a", "efficientnet_lite0"), ("b", "efficientnet_lite0"), ("c", "resnet18"))))
    assert main(["weights", "average", str(a), str(c), "--scale", "1.2", "--out", str(src / "avg.pt")]) == 0
    channels = 2 * 320  # the Lite0 body's last block, mean- and max-pooled
    probe = {"weight": torch.linspace(-1, 1, channels), "bias": torch.zeros(1),
             "mean": torch.zeros(channels), "std": torch.ones(channels)}
    route_weights([a, b, c], [{"weights": [1, 1, 0], "scale": 1.15}, {"weights": [1, 0, 1], "scale": 1.3}],
                  probe, 0, src / "routed.pt")
    rng = np.random.default_rng(0)
    L = rng.uniform(-1, 1, (4, 1, 64, 96)).astype(np.float32)
    want = {n: Colorizer.load(src / n, device="cpu", precision="fp32").predict_ab(L) for n in ("avg.pt", "routed.pt")}
    for n in ("avg.pt", "routed.pt"):
        assert main(["weights", "pack", str(src / n), "--out", str(out / n)]) == 0
    return {"src": src, "out": out, "L": L, "want": want, "members": sum((src / f"{n}.pt").stat().st_size for n in "abc")}


def test_a_packed_file_colorizes_as_its_members_did_with_none_of_them_around(made):
    out, L = made["out"], made["L"]
    assert not list(out.glob("[abc].pt"))  # the members are elsewhere: the packed file needs none of them
    for name in ("avg.pt", "routed.pt"):
        got = Colorizer.load(out / name, device="cpu", precision="fp32").predict_ab(L)
        # int8 weights move the colors by a little (trained weights: under one RGB level on average; these
        # random ones a little more), not the picture
        err, signal = np.abs(got - made["want"][name]).mean(), np.abs(made["want"][name]).mean()
        assert err < 0.15 * signal, (name, err, signal)
    assert (out / "routed.pt").stat().st_size < 0.6 * made["members"]  # int8 from float32: about a quarter
    card = read_card(out / "routed.pt")
    assert card.packed and card.routed and card.members == ("a.pt", "b.pt", "c.pt")
    assert "packed inside the file" in card.summary()
    meta = read_meta(out / "routed.pt")
    assert meta["router"]["body_member"] == 0 and len(meta["member_meta"]) == 3

    # the ONNX backend (what colorize uses on a CPU) takes it as it takes any weights
    onnx = Colorizer.load(out / "avg.pt", device="cpu", backend="onnx").predict_ab(L)
    np.testing.assert_allclose(onnx, Colorizer.load(out / "avg.pt", device="cpu", precision="fp32").predict_ab(L),
                               atol=2e-3)


def test_pack_refuses_what_it_cannot_pack_naming_the_file(made, tmp_path, capsys):
    assert main(["weights", "pack", str(made["src"] / "a.pt"), "--out", str(tmp_path / "x.pt")]) == 2
    assert "a.pt: not averaged weights" in capsys.readouterr().err
    assert main(["weights", "pack", str(made["out"] / "avg.pt"), "--out", str(tmp_path / "x.pt")]) == 2
    assert "already packed" in capsys.readouterr().err
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    shutil.copy(made["src"] / "avg.pt", lonely / "avg.pt")  # its members are not beside it
    assert main(["weights", "pack", str(lonely / "avg.pt"), "--out", str(tmp_path / "x.pt"),
                 "--weights-dir", str(lonely)]) == 2
    assert "a.pt" in capsys.readouterr().err and not (tmp_path / "x.pt").exists()


def test_int8_is_chosen_per_member(made, tmp_path):
    """--int8 names the members stored as int8 (the default packs only its large resnet18 so); the others
    keep float16, which is closer and larger."""
    src, L, want = made["src"], made["L"], made["want"]["avg.pt"]  # avg.pt: a.pt (Lite0) + c.pt (resnet18)
    errors, sizes = {}, {}
    for choice in (["none"], ["1"], ["all"]):
        out = tmp_path / f"avg_{choice[0]}.pt"
        assert main(["weights", "pack", str(src / "avg.pt"), "--out", str(out), "--int8", *choice]) == 0
        got = Colorizer.load(out, device="cpu", precision="fp32").predict_ab(L)
        errors[choice[0]], sizes[choice[0]] = np.abs(got - want).mean(), out.stat().st_size
    assert read_card(tmp_path / "avg_1.pt").dtype == "float16, int8 weights in c.pt"
    assert errors["none"] < errors["1"] <= errors["all"] + 1e-6
    assert sizes["all"] < sizes["1"] < sizes["none"]
    with pytest.raises(SystemExit):
        main(["weights", "pack", str(src / "avg.pt"), "--out", str(tmp_path / "x.pt"), "--int8", "first"])
